/** Writing files safely, and file-system refusals as positioned errors: what the commit, the folder lock and `init` share. */
import { closeSync, constants, existsSync, fchmodSync, fstatSync, mkdirSync, openSync, readSync, rmdirSync, writeSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileError, systemReason, UserError } from "./diagnostics.js";

/**
 * The folders and modes where a new file was seen to get exactly its mode: another file made there
 * with that mode needs no check. Per folder, as a folder's default ACL stands in for the umask.
 */
const modesKept = new Set<string>();

/** Creates a file that must not exist, never through a link, with exactly this content and mode. */
export function writeExclusive(path: string, content: string | Uint8Array, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const bytes = typeof content === "string" ? Buffer.from(content) : content;
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    // The umask or the folder's default ACL may have taken bits the file needs (the setup
    // script's execute bits). gre-gen never changes its umask, so what it left whole in a folder
    // once it leaves whole there again.
    const kept = `${mode} ${dirname(path)}`;
    if (!modesKept.has(kept)) {
      if ((fstatSync(fd).mode & 0o777) === mode) modesKept.add(kept);
      else fchmodSync(fd, mode);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * 16 hex digits no one can predict, for a temporary file's name. Read from the kernel's random
 * source: loading node:crypto costs a small topology's run more start-up than its whole build.
 */
export function unpredictableName(): string {
  const fd = openSync("/dev/urandom", "r");
  try {
    const bytes = Buffer.alloc(8);
    for (let read = 0; read < bytes.length; ) read += readSync(fd, bytes, read, bytes.length - read, null);
    return bytes.toString("hex");
  } finally {
    closeSync(fd);
  }
}

/** Creates a file that must not exist yet (`init`); an existing one, even a link, is never replaced. */
export function writeNewFile(path: string, content: string): void {
  try {
    writeExclusive(path, content, 0o644);
  } catch (error) {
    throw asFileError(error, path, "cannot create");
  }
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir never returns where a file system
 * refuses a creation with ENOENT although the parent exists (/proc). Returns the folders it made,
 * outermost first.
 */
export function makeFolders(path: string): string[] {
  const missing: string[] = [];
  for (let current = resolve(path); !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const folder of missing) mkdirSync(folder);
  return missing;
}

/**
 * Removes the folders a failed command made, the last made first (so a folder goes before its
 * parent), where they are still empty: what holds something is not ours to remove, and one that
 * does keeps no other folder from going.
 */
export function removeEmptyFolders(made: string[]): void {
  for (const folder of [...made].reverse()) {
    try {
      rmdirSync(folder);
    } catch {
      // Not empty, or gone.
    }
  }
}

/** A file-system refusal as a positioned error: the user's to fix, never a stack trace. */
export function asFileError(error: unknown, path: string, what: string): UserError {
  if (error instanceof UserError) return error;
  return new UserError([fileError((error as NodeJS.ErrnoException).path ?? path, `${what}: ${systemReason(error)}`)]);
}
