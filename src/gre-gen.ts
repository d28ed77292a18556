/** The executable: runs the CLI and exits with its code. */
import { writeSync } from "node:fs";
import { main } from "./cli.js";

/**
 * Writes straight to the file descriptor: process.stdout would load Node's stream machinery,
 * a few milliseconds of every start. A non-blocking pipe may refuse for a moment (EAGAIN).
 */
function writeAll(fd: number, text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(fd, buffer));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EPIPE") return; // the reader has gone (`gre-gen diff | head`): nothing left to say
      if (code !== "EAGAIN") throw error;
    }
  }
}

main(process.argv.slice(2), { stdout: (t) => writeAll(1, t), stderr: (t) => writeAll(2, t) }).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    writeAll(2, `gre-gen: internal error, please report it: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 70;
  },
);
