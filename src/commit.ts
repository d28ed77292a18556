/**
 * The commit protocol of a build: the output folder and the lock beside the topology change
 * together or not at all, whatever stops the build (an error, a full disk, `kill -9`).
 *
 * 1. Under the output folder's advisory lock (`.gre-gen-busy`), every new file is written into a
 *    private staging folder (`.gre-gen-staging`, mode 0700) on the same file system, and the new
 *    lock into an exclusive, unpredictably named file beside the old one.
 * 2. The journal (`.gre-gen-staging/journal`) is renamed into place: from that instant the build
 *    is decided. Before it, the old state is intact and the staging folder is discarded.
 * 3. The staged files are renamed over their targets, the removed hosts' files deleted, the lock
 *    renamed; then the journal and the staging folder go.
 *
 * A build or check that finds a journal knows the previous build was cut short after its
 * decision: `build` completes it (every step is idempotent), `check` reports it.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  constants,
  fchmodSync,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileError, systemReason, UserError } from "./diagnostics.js";
import { sleep } from "./input.js";
import { MANIFEST_NAME } from "./render.js";

export const STAGING_NAME = ".gre-gen-staging";
export const BUSY_NAME = ".gre-gen-busy";
const JOURNAL = "journal";
/** Written before the lock's temporary file is created, so a discarded build can remove it. */
const LOCK_TEMP_RECORD = "lock-temp";

/** How long a build waits for another one writing the same folder before it gives up. */
export const BUSY_WAIT_MS = Number(process.env.GRE_GEN_BUSY_WAIT_MS ?? 30_000);

export interface FileWrite {
  /** Relative to the output folder, with forward slashes. */
  path: string;
  content: string;
  mode: number;
}

export interface Transaction {
  writes: FileWrite[];
  /** Files of the previous build to remove, relative to the output folder. */
  removals: string[];
  /** The lock file beside the topology, when it changes. */
  lock?: { path: string; content: string };
}

interface Journal {
  writes: string[];
  removals: string[];
  lock?: { temp: string; path: string };
}

/** Runs `action` holding the output folder's advisory lock; a second build waits, boundedly. */
export function withFolderLock<T>(outDir: string, action: () => T): T {
  const busy = join(outDir, BUSY_NAME);
  const owner = `${process.pid} ${processStart(process.pid) ?? ""}\n`;
  for (let waited = 0; ; waited += 100) {
    // Written whole under a private name, then linked into place: the lock never exists empty.
    const claim = `${busy}.${randomBytes(8).toString("hex")}`;
    try {
      writeExclusive(claim, owner, 0o644);
      linkSync(claim, busy);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw asFileError(error, busy, "cannot lock the output folder");
    } finally {
      rmSync(claim, { force: true });
    }
    const holder = readHolder(busy);
    if (holder && !holder.alive) {
      // Its builder is gone (killed): the lock is stale. What it left is recovered below.
      unlinkSync(busy);
      continue;
    }
    if (waited >= BUSY_WAIT_MS)
      throw new UserError([fileError(outDir, `another gre-gen${holder ? ` (process ${holder.pid})` : ""} is writing this output folder; waited ${BUSY_WAIT_MS / 1000} s. Try again when it is done, or delete ${busy} if no gre-gen is running`)]);
    sleep(100);
  }
  try {
    return action();
  } finally {
    unlinkSync(busy);
  }
}

/** Linux's start time of a process, so a recycled pid is not taken for the lock's holder. */
function processStart(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
  } catch {
    return undefined;
  }
}

function readHolder(busy: string): { pid: number; alive: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(busy, "utf8");
  } catch {
    return undefined;
  }
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false };
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    alive = (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (alive && start && processStart(pid) !== undefined && processStart(pid) !== start) alive = false;
  return { pid, alive };
}

/**
 * What a build cut short left in the output folder: "decided" when its journal is there (the
 * next build completes it), "undecided" when only its staging folder or the lock of a process
 * that is gone is (the files are the previous build's; the next build clears it). Nothing while a
 * live build holds the folder.
 */
export function cutShortBuild(outDir: string): "decided" | "undecided" | undefined {
  if (lstatSync(join(outDir, STAGING_NAME, JOURNAL), { throwIfNoEntry: false })?.isFile()) return "decided";
  const busy = join(outDir, BUSY_NAME);
  const holder = lstatSync(busy, { throwIfNoEntry: false }) ? readHolder(busy) : undefined;
  if (holder?.alive) return undefined;
  return holder || lstatSync(join(outDir, STAGING_NAME), { throwIfNoEntry: false }) ? "undecided" : undefined;
}

/** Completes a decided build left by a crash, or discards an undecided one. Call with the folder lock held. */
export function recover(outDir: string): void {
  const staging = join(outDir, STAGING_NAME);
  const stat = lstatSync(staging, { throwIfNoEntry: false });
  if (!stat) return;
  if (!stat.isDirectory() || (typeof process.getuid === "function" && stat.uid !== process.getuid()))
    throw new UserError([fileError(staging, "is not a staging folder gre-gen made; move it away and build again")]);
  const journal = readJournal(staging);
  if (journal) applyJournal(outDir, journal);
  else discard(staging);
}

/**
 * Applies a transaction all-or-nothing (see the module comment). The output folder must exist;
 * call with its lock held and after `recover`.
 */
export function commit(outDir: string, transaction: Transaction): void {
  // Everything that could refuse a rename is checked before the build is decided.
  for (const file of transaction.writes) guardPath(outDir, file.path);
  const staging = join(outDir, STAGING_NAME);
  try {
    mkdirSync(staging, { mode: 0o700 });
  } catch (error) {
    throw asFileError(error, staging, "cannot create the staging folder");
  }
  let journal: Journal;
  try {
    journal = stage(staging, transaction);
    writeExclusive(join(staging, `${JOURNAL}.new`), JSON.stringify(journal), 0o600);
    renameSync(join(staging, `${JOURNAL}.new`), join(staging, JOURNAL));
  } catch (error) {
    discard(staging);
    throw error instanceof UserError ? error : asFileError(error, staging, "cannot stage the build");
  }
  applyJournal(outDir, journal);
}

function stage(staging: string, transaction: Transaction): Journal {
  transaction.writes.forEach((file, index) => writeExclusive(join(staging, String(index)), file.content, file.mode));
  let lock: Journal["lock"];
  if (transaction.lock) {
    const temp = join(dirname(transaction.lock.path), `.${basename(transaction.lock.path)}.${randomBytes(8).toString("hex")}`);
    writeExclusive(join(staging, LOCK_TEMP_RECORD), temp, 0o600);
    try {
      writeExclusive(temp, transaction.lock.content, 0o644);
    } catch (error) {
      // Named by the lock's own path: the temporary name means nothing to the user.
      throw asFileError({ ...(error as object), path: transaction.lock.path }, transaction.lock.path, "cannot write the lock file");
    }
    lock = { temp, path: transaction.lock.path };
  }
  return { writes: transaction.writes.map((file) => file.path), removals: transaction.removals, lock };
}

/** Creates a file that must not exist, never through a link, with exactly this content and mode. */
function writeExclusive(path: string, content: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const bytes = Buffer.from(content);
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    // The umask may have taken bits the file needs (the setup script's execute bits).
    if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

/** Idempotent: every step checks whether it is already done, so a crash inside it is recovered too. */
function applyJournal(outDir: string, journal: Journal): void {
  const staging = join(outDir, STAGING_NAME);
  try {
    const folders = new Set<string>();
    journal.writes.forEach((path, index) => {
      const staged = join(staging, String(index));
      if (!lstatSync(staged, { throwIfNoEntry: false })) return;
      guardPath(outDir, path);
      const folder = dirname(path);
      // Each folder once: a recursive mkdir per file costs more than all the writes together.
      if (!folders.has(folder)) makeFolders(join(outDir, folder));
      folders.add(folder);
      renameSync(staged, join(outDir, path));
    });
    for (const path of journal.removals) removeFile(outDir, path);
    if (journal.lock && lstatSync(journal.lock.temp, { throwIfNoEntry: false })?.isFile()) renameSync(journal.lock.temp, journal.lock.path);
    unlinkSync(join(staging, JOURNAL));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw asFileError(error, outDir, "the build was decided but could not be completed; fix the cause and run gre-gen build again to complete it");
  }
  discard(staging);
}

function readJournal(staging: string): Journal | undefined {
  let text: string;
  try {
    text = readFileSync(join(staging, JOURNAL), "utf8");
  } catch {
    return undefined;
  }
  const journal = JSON.parse(text) as Journal;
  const owned = (path: unknown) => path === MANIFEST_NAME || (typeof path === "string" && OWNED_PATH.test(path) && !path.split("/").includes(".."));
  if (!Array.isArray(journal.writes) || !Array.isArray(journal.removals) || ![...journal.writes, ...journal.removals].every(owned))
    throw new UserError([fileError(join(staging, JOURNAL), "is not a journal gre-gen wrote; move the staging folder away and build again")]);
  return journal;
}

/** Removes an undecided build's staging folder: only the entries gre-gen puts there. */
function discard(staging: string): void {
  const record = join(staging, LOCK_TEMP_RECORD);
  if (lstatSync(record, { throwIfNoEntry: false })?.isFile()) {
    const temp = readFileSync(record, "utf8");
    if (/\/\.[^/]*\.[0-9a-f]{16}$/.test(temp) && lstatSync(temp, { throwIfNoEntry: false })?.isFile()) unlinkSync(temp);
  }
  for (const name of readdirSync(staging)) {
    if (!/^(?:\d+|journal(?:\.new)?|lock-temp)$/.test(name))
      throw new UserError([fileError(join(staging, name), "is not something gre-gen staged; move it out of the staging folder and build again")]);
    unlinkSync(join(staging, name));
  }
  rmdirSync(staging);
}

/** Only paths gre-gen itself produces: a host folder, then plain names; never `..` or absolute. */
export const OWNED_PATH = /^[A-Za-z0-9][A-Za-z0-9.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/;

/** Refuses a path whose folders (or the file itself) are symlinks or of the wrong kind. */
export function guardPath(outDir: string, path: string): void {
  let current = outDir;
  const parts = path.split("/");
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isSymbolicLink()) throw new UserError([fileError(current, "refusing to write through a symbolic link in the output folder")]);
    const wanted = index === parts.length - 1 ? "file" : "directory";
    if (wanted === "directory" ? !stat.isDirectory() : !stat.isFile())
      throw new UserError([fileError(current, `expected a ${wanted} here; move it away and build again`)]);
  }
}

/** True when no folder on the way to `path` is a symbolic link: a removal never leaves the output folder. */
export function withoutLinks(outDir: string, path: string): boolean {
  let current = outDir;
  for (const part of path.split("/")) {
    current = join(current, part);
    if (lstatSync(current, { throwIfNoEntry: false })?.isSymbolicLink()) return false;
  }
  return true;
}

/** Removes a file the previous build wrote, then the folders it leaves empty (up to the host folder). */
function removeFile(outDir: string, path: string): void {
  if (!withoutLinks(outDir, path) || !lstatSync(join(outDir, path), { throwIfNoEntry: false })?.isFile()) return;
  unlinkSync(join(outDir, path));
  for (let dir = dirname(path); dir !== "."; dir = dirname(dir)) {
    const full = join(outDir, dir);
    if (lstatSync(full, { throwIfNoEntry: false })?.isDirectory() && readdirSync(full).length === 0) rmdirSync(full);
    else break;
  }
}

/**
 * `mkdir -p`, one level at a time: Node's recursive mkdir never returns where a file system
 * refuses a creation with ENOENT although the parent exists (/proc).
 */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  for (let current = resolve(path); !existsSync(current); current = dirname(current)) {
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const folder of missing) mkdirSync(folder);
}

/** Creates a file that must not exist yet (`init`); an existing one, even a link, is never replaced. */
export function writeNewFile(path: string, content: string): void {
  try {
    writeExclusive(path, content, 0o644);
  } catch (error) {
    throw asFileError(error, path, "cannot create");
  }
}


/** A file-system refusal as a positioned error: the user's to fix, never a stack trace. */
export function asFileError(error: unknown, path: string, what: string): UserError {
  if (error instanceof UserError) return error;
  return new UserError([fileError((error as NodeJS.ErrnoException).path ?? path, `${what}: ${systemReason(error)}`)]);
}
