// Loaded with `node --require`: on exit, writes the process's peak resident memory (KiB, Linux's
// VmHWM) to the file GRE_GEN_PEAK_FILE names, so a test can bound a whole CLI run's memory.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
process.on("exit", () => {
  const peak = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  writeFileSync(process.env.GRE_GEN_PEAK_FILE, peak ? peak[1] : "");
});
