// npm run bench: whole-process wall time of the bundled CLI against a bare `node -e 0` measured in
// the same run, alternating the two, on the recipe and on generated full meshes of 50 to 1,000
// hosts; median of several runs, and peak memory (via GNU time, where installed); then each
// figure of issue 16 against its goal.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const CLI = new URL("../dist/gre-gen.cjs", import.meta.url).pathname;
const RECIPE = new URL("../examples/recipe/topology.yml", import.meta.url).pathname;
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
// Output goes to memory where the machine has it (/dev/shm), so the figures are gre-gen's own and
// not the disk's; BENCH_DIR=<folder> measures on another file system.
const base = process.env.BENCH_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const work = mkdtempSync(join(base, "gre-gen-bench-"));

function mesh(hosts) {
  const lines = Array.from({ length: hosts }, (_, i) => `  host-${String(i).padStart(3, "0")}:\n    underlay_ip: 172.${16 + (i >> 8)}.${i & 255}.10\n`);
  return `version: 1\noverlay:\n  subnet: 10.0.0.0/14\n  host_prefix: 24\nhosts:\n${lines.join("")}`;
}

/** Runs a command once; returns its wall time (ms) and peak resident memory (MiB, if measurable). */
function measure(args, cwd) {
  const command = TIME ? [TIME, "-f", "%M", process.execPath, ...args] : [process.execPath, ...args];
  const start = process.hrtime.bigint();
  const result = spawnSync(command[0], command.slice(1), { cwd, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 && result.status !== 1) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  const kib = TIME ? Number(result.stderr.trim().split("\n").pop()) : NaN;
  return { ms, mib: kib / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function bench(name, hosts, command, text, runs) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "topology.yml"), text);
  spawnSync(process.execPath, [CLI, "build"], { cwd: dir }); // the lock, and an up-to-date out/ for check
  const own = [];
  const bare = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    if (command === "build") rmSync(join(dir, "out"), { recursive: true, force: true });
    bare.push(measure(["-e", "0"], dir).ms);
    const run = measure([CLI, command], dir);
    own.push(run.ms);
    peak = Math.max(peak, run.mib);
  }
  const row = { name, hosts, tunnelEnds: hosts * (hosts - 1), command, ms: median(own), node: median(bare), mib: peak };
  row.ratio = row.ms / row.node;
  return row;
}

const runs = Number(process.argv[2] ?? 11);
const large = Math.max(3, Math.ceil(runs / 2));
const recipe = readFileSync(RECIPE, "utf8");
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
const loadBefore = load();
const rows = [
  bench("recipe", 2, "build", recipe, runs),
  bench("recipe", 2, "check", recipe, runs),
  ...[50, 100, 200].map((n) => bench(`mesh-${n}`, n, "build", mesh(n), runs)),
  bench("mesh-200", 200, "check", mesh(200), runs),
  bench("mesh-400", 400, "build", mesh(400), large),
  bench("mesh-1000", 1000, "build", mesh(1000), large),
  bench("mesh-1000", 1000, "check", mesh(1000), large),
];
rmSync(work, { recursive: true, force: true });

console.log(`output in ${base}; node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}; load average before ${loadBefore}, after ${load()}`);
console.log(`${runs} runs per case (400 and 1,000 hosts: ${large}), medians; ratio = gre-gen / node -e 0 in the same run; peak = the largest of the runs\n`);
console.log("| case | command | hosts | tunnel ends | gre-gen ms | node -e 0 ms | ratio | peak MiB |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows)
  console.log(`| ${r.name} | ${r.command} | ${r.hosts} | ${r.tunnelEnds} | ${r.ms.toFixed(0)} | ${r.node.toFixed(0)} | ${r.ratio.toFixed(2)}x | ${Number.isNaN(r.mib) ? "n/a" : r.mib.toFixed(0)} |`);
const row = (name, command) => rows.find((r) => r.name === name && r.command === command);
const [t200, t400, t1000] = [row("mesh-200", "build"), row("mesh-400", "build"), row("mesh-1000", "build")];
console.log(`\n400 hosts / 200 hosts (output 4x): ${(t400.ms / t200.ms).toFixed(2)}x the time`);
console.log(`1,000 hosts / 200 hosts (output 25x): ${(t1000.ms / t200.ms).toFixed(2)}x the time\n`);

// Issue 16's goals, each against this run's own figures.
const goals = [
  ["recipe build", row("recipe", "build").ratio, 1.3, "x"],
  ["recipe check", row("recipe", "check").ratio, 1.3, "x"],
  ["200-host build", t200.ratio, 5, "x"],
  ["1,000-host build", t1000.ratio, 40, "x"],
  ["1,000-host check", row("mesh-1000", "check").ratio, 40, "x"],
  ["1,000-host build, peak memory", t1000.mib, 256, " MiB"],
  ["1,000-host check, peak memory", row("mesh-1000", "check").mib, 256, " MiB"],
  ["1,000 hosts / 200 hosts, time", t1000.ms / t200.ms, 28, "x"],
];
for (const [what, value, goal, unit] of goals) {
  const verdict = Number.isNaN(value) ? "unmeasured" : value <= goal ? "within" : "OVER";
  console.log(`${verdict.padEnd(10)} ${what}: ${Number.isNaN(value) ? "n/a" : value.toFixed(2)}${unit} (goal: at most ${goal}${unit})`);
}
