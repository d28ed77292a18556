/**
 * Reading the inputs (the topology and its lock) from disk, with the size cap enforced while
 * reading: a FIFO or /dev/zero ends in a clear error, never in gigabytes of memory.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { fileError, systemReason, UserError } from "./diagnostics.js";
import { MAX_TOPOLOGY_BYTES } from "./source.js";

export type InputKind = "topology" | "lock";

/**
 * The file's bytes, at most MAX_TOPOLOGY_BYTES + 1 of them (the parser reports the excess), or
 * undefined when it does not exist and `optional` is set. A lock is never read through a
 * symbolic link: a planted link would make gre-gen echo another file's first line.
 */
export function readInput(path: string, kind: InputKind, optional = false): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (kind === "lock" ? constants.O_NOFOLLOW : 0) | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && optional) return undefined;
    const hint = code === "ENOENT" && kind === "topology" ? " (gre-gen init writes a starter)" : code === "ELOOP" ? "; gre-gen never reads or replaces a lock file through a link" : "";
    throw new UserError([fileError(path, `cannot read the ${kind} file: ${systemReason(error)}${hint}`)]);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new UserError([fileError(path, `cannot read the ${kind} file: it is a folder`)]);
    if (kind === "lock" && !stat.isFile()) throw new UserError([fileError(path, "the lock file is not a regular file; gre-gen reads and replaces only a plain file there")]);
    return readCapped(fd, path, kind);
  } finally {
    closeSync(fd);
  }
}


/** How long a pipe may keep gre-gen waiting for its first bytes. */
const MAX_WAIT_MS = 10_000;

function readCapped(fd: number, path: string, kind: InputKind): Uint8Array {
  const limit = MAX_TOPOLOGY_BYTES + 1;
  const buffer = Buffer.alloc(limit);
  let length = 0;
  let waited = 0;
  while (length < limit) {
    let read: number;
    try {
      read = readSync(fd, buffer, length, limit - length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A FIFO opened without blocking has no writer yet: wait for one, briefly and boundedly.
      if (code === "EAGAIN" && waited < MAX_WAIT_MS) {
        sleep(10);
        waited += 10;
        continue;
      }
      if (code === "EAGAIN") throw new UserError([fileError(path, `cannot read the ${kind} file: nothing arrived in ${MAX_WAIT_MS / 1000} s`)]);
      throw new UserError([fileError(path, `cannot read the ${kind} file: ${systemReason(error)}`)]);
    }
    if (read === 0) break;
    length += read;
  }
  return buffer.subarray(0, length);
}

/** A synchronous pause: the CLI is synchronous from start to end. */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
