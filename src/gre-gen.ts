#!/usr/bin/env node
/** The executable: runs the CLI and exits with its code. */
import { main } from "./cli.js";

main(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`gre-gen: internal error, please report it: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  },
);
