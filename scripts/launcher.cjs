#!/usr/bin/env node
// gre-gen's executable: runs the bundled CLI with the V8 code cache made when it was bundled, so
// start-up skips most compiling. A cache from another Node.js is rejected by V8 and only costs time.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { Script } = require("node:vm");

const bundle = join(__dirname, "gre-gen-bundle.cjs");
const cache = join(__dirname, "gre-gen.code-cache");
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {
  // No cache yet: compile as usual.
}
// esbuild writes ASCII only, so latin1 reads it exactly and fastest. The bundle is a module
// wrapper's function already (scripts/bundle.js): compiled as read, with no copy to wrap it.
const script = new Script(readFileSync(bundle, "latin1"), { filename: bundle, cachedData });
if (process.env.GRE_GEN_WRITE_CODE_CACHE === "1") process.on("exit", () => writeFileSync(cache, script.createCachedData()));
const bundled = { exports: {} };
script.runInThisContext()(bundled.exports, require, bundled, bundle, __dirname);
