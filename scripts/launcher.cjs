#!/usr/bin/env node
// gre-gen's executable: runs the bundled CLI with the V8 code cache made when it was bundled, so
// start-up skips most compiling. A cache from another Node.js is rejected by V8 and only costs time;
// V8 checks a cache against its script's length only, so whoever edits the bundle in place must
// delete the cache beside it (`npm run build` remakes both).
"use strict";
const { readFileSync, realpathSync, writeFileSync } = require("node:fs");
const { dirname, join } = require("node:path");
const { Script } = require("node:vm");

// Beside this file; with --preserve-symlinks-main, __dirname is the link's folder: then beside its target.
let bundle = join(__dirname, "gre-gen-bundle.cjs");
let source;
try {
  // esbuild writes ASCII only, so latin1 reads it exactly and fastest.
  source = readFileSync(bundle, "latin1");
} catch {
  bundle = join(dirname(realpathSync(__filename)), "gre-gen-bundle.cjs");
  source = readFileSync(bundle, "latin1");
}
const dir = dirname(bundle);
const cache = join(dir, "gre-gen.code-cache");
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {
  // No cache yet: compile as usual.
}
// The bundle is a module wrapper's function already (scripts/bundle.js): compiled as read, with no copy to wrap it.
const script = new Script(source, { filename: bundle, cachedData });
if (process.env.GRE_GEN_WRITE_CODE_CACHE === "1") process.on("exit", () => writeFileSync(cache, script.createCachedData()));
const bundled = { exports: {} };
script.runInThisContext()(bundled.exports, require, bundled, bundle, dir);
