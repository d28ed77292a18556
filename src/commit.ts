/**
 * The commit protocol of a build: the output folder and the lock beside the topology change
 * together or not at all, whatever stops the build (an error, a full disk, `kill -9`).
 *
 * 1. Under the output folder's advisory lock (`.gre-gen-busy`, src/folder-lock.ts), every new file
 *    is written, as it is produced, into a private staging folder (`.gre-gen-staging`, mode 0700) on
 *    the same file system, and the new lock into an exclusive, unpredictably named file beside the
 *    old one.
 * 2. The journal (`.gre-gen-staging/journal`) is renamed into place: from that instant the build
 *    is decided. Before it, the old state is intact and the staging folder is discarded.
 * 3. The staged files are renamed over their targets, the removed hosts' files deleted, the lock
 *    renamed; then the journal and the staging folder go.
 *
 * A build or check that finds a journal knows the previous build was cut short after its
 * decision: `build` completes it (every step is idempotent), `check` reports it.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileError, UserError } from "./diagnostics.js";
import { asFileError, removeEmptyFolders, unpredictableName, writeExclusive } from "./files.js";
import { BUSY_NAME, deadClaims, lockHolder } from "./folder-lock.js";
import { MANIFEST_NAME } from "./render.js";

export const STAGING_NAME = ".gre-gen-staging";
const JOURNAL = "journal";
/** Written before the lock's temporary file is created, so a discarded build can remove it. */
const LOCK_TEMP_RECORD = "lock-temp";

export interface FileWrite {
  /** Relative to the output folder, with forward slashes. */
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** Stages one new file of a build. */
export type StageWrite = (file: FileWrite) => void;

/** What a build changes besides the files it staged. */
export interface Completion {
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

/**
 * What a build cut short left in the output folder: "decided" when its journal is there (the
 * next build completes it), "undecided" when only its staging folder or the lock of a process
 * that is gone is (the files are the previous build's; the next build clears it). Nothing while a
 * live build holds the folder.
 */
export function cutShortBuild(outDir: string): "decided" | "undecided" | undefined {
  if (lstatSync(join(outDir, STAGING_NAME, JOURNAL), { throwIfNoEntry: false })?.isFile()) return "decided";
  const holder = lockHolder(outDir);
  if (holder?.alive) return undefined;
  return holder || lstatSync(join(outDir, STAGING_NAME), { throwIfNoEntry: false }) || deadClaims(outDir).length > 0 ? "undecided" : undefined;
}

/**
 * Completes a decided build left by a crash, or discards an undecided one. `lockPath` is the lock
 * this topology's builds write: the only file outside the output folder a journal may name. Call
 * with the folder lock held.
 */
export function recover(outDir: string, lockPath: string): void {
  const staging = join(outDir, STAGING_NAME);
  const stat = lstatSync(staging, { throwIfNoEntry: false });
  if (!stat) return;
  if (!stat.isDirectory() || (typeof process.getuid === "function" && stat.uid !== process.getuid()))
    throw new UserError([fileError(staging, "is not a staging folder gre-gen made; move it away and build again")]);
  const journal = readJournal(staging, lockPath);
  if (journal) applyJournal(outDir, journal);
  else discard(staging, lockPath);
}

/**
 * Applies a build all-or-nothing (see the module comment): `produce` stages each new file through
 * `write` as it makes it, so a fleet's output is never held at once, and returns what else
 * changes. Nothing is created when nothing changes. The output folder must exist; call with its
 * lock held and after `recover`.
 */
export function commit(outDir: string, produce: (write: StageWrite) => Completion): void {
  const staging = join(outDir, STAGING_NAME);
  const writes: string[] = [];
  const checked = new Set<string>();
  // Folders the new files need are made before the decision (a full disk then leaves the old
  // state), and removed again if the build is not decided.
  const made = new Set<string>();
  let created = false;
  let lockPath: string | undefined;
  const open = () => {
    if (created) return;
    try {
      mkdirSync(staging, { mode: 0o700 });
    } catch (error) {
      throw asFileError(error, staging, "cannot create the staging folder");
    }
    created = true;
  };
  let journal: Journal;
  try {
    const completion = produce((file) => {
      // Everything that could refuse a rename is checked before the build is decided.
      const existing = guardPath(outDir, file.path, checked, made);
      open();
      try {
        makeMissingFolders(outDir, file.path, existing, checked, made);
        writeExclusive(join(staging, String(writes.length)), file.content, file.mode);
      } catch (error) {
        throw asFileError(error, staging, "cannot stage the build");
      }
      writes.push(file.path);
    });
    lockPath = completion.lock?.path;
    if (writes.length === 0 && completion.removals.length === 0 && !completion.lock) return;
    open();
    journal = { writes, removals: completion.removals, lock: stageLock(staging, completion.lock) };
    try {
      writeExclusive(join(staging, `${JOURNAL}.new`), JSON.stringify(journal), 0o600);
      renameSync(join(staging, `${JOURNAL}.new`), join(staging, JOURNAL));
    } catch (error) {
      throw asFileError(error, staging, "cannot stage the build");
    }
  } catch (error) {
    if (created) discard(staging, lockPath);
    removeEmptyFolders([...made]);
    throw error;
  }
  applyJournal(outDir, journal, made);
}

/** Makes the folders of `path` past the first `existing` ones, adding each to `checked` and `made` (outermost first). */
function makeMissingFolders(outDir: string, path: string, existing: number, checked: Set<string>, made: Set<string>): void {
  const steps = pathSteps(outDir, path);
  for (const folder of steps.slice(existing, -1)) {
    mkdirSync(folder);
    checked.add(folder);
    made.add(folder);
  }
}

/** The output folder's path joined with each leading part of `path` (an owned path: plain names joined by `/`), the file's own last. */
function pathSteps(outDir: string, path: string): string[] {
  const parts = path.split("/");
  let current = join(outDir, parts[0]!);
  const steps = [current];
  for (const part of parts.slice(1)) steps.push((current = `${current}/${part}`));
  return steps;
}

/** The new lock, written beside the old one under a temporary name the journal records. */
function stageLock(staging: string, lock: Completion["lock"]): Journal["lock"] {
  if (!lock) return undefined;
  const temp = lockTempName(lock.path, unpredictableName());
  try {
    writeExclusive(join(staging, LOCK_TEMP_RECORD), temp, 0o600);
  } catch (error) {
    throw asFileError(error, staging, "cannot stage the build");
  }
  try {
    writeExclusive(temp, lock.content, 0o644);
  } catch (error) {
    // Named by the lock's own path: the temporary name means nothing to the user.
    throw asFileError({ ...(error as object), path: lock.path }, lock.path, "cannot write the lock file");
  }
  return { temp, path: resolve(lock.path) };
}

/**
 * Idempotent: every step checks whether it is already done, so a crash inside it is recovered too.
 * `made` when this process staged the files a moment ago (each is known to be there): the folders
 * it made for them.
 */
function applyJournal(outDir: string, journal: Journal, made?: Set<string>): void {
  const staging = join(outDir, STAGING_NAME);
  try {
    // Every folder that was there before the build is checked again as the files are renamed into
    // it: one swapped for a link since the staging is refused, not followed. The folders this
    // build made (while staging, or here when completing a crashed build) are its own.
    const ours = made ?? new Set<string>();
    const checked = new Set(ours);
    journal.writes.forEach((path, index) => {
      const staged = join(staging, String(index));
      if (!made && !lstatSync(staged, { throwIfNoEntry: false })) return;
      makeMissingFolders(outDir, path, guardPath(outDir, path, checked, ours), checked, ours);
      renameSync(staged, join(outDir, path));
    });
    for (const path of journal.removals) removeFile(outDir, path);
    if (journal.lock && lstatSync(journal.lock.temp, { throwIfNoEntry: false })?.isFile()) renameSync(journal.lock.temp, journal.lock.path);
    unlinkSync(join(staging, JOURNAL));
  } catch (error) {
    const decided = "the build was decided but could not be completed; fix the cause and run gre-gen build again to complete it";
    if (error instanceof UserError) throw new UserError(error.diagnostics.map((d) => ({ ...d, message: `${d.message}; ${decided}` })));
    throw asFileError(error, outDir, decided);
  }
  discard(staging, journal.lock?.path);
}

function readJournal(staging: string, lockPath: string): Journal | undefined {
  let text: string;
  try {
    text = readFileSync(join(staging, JOURNAL), "utf8");
  } catch {
    return undefined;
  }
  const refuse = () => new UserError([fileError(join(staging, JOURNAL), "is not a journal gre-gen wrote for this topology; move the staging folder away and build again")]);
  let journal: Journal;
  try {
    journal = JSON.parse(text) as Journal;
  } catch {
    throw refuse();
  }
  const owned = (path: unknown) => path === MANIFEST_NAME || (typeof path === "string" && OWNED_PATH.test(path) && !path.split("/").includes(".."));
  if (typeof journal !== "object" || journal === null || !Array.isArray(journal.writes) || !Array.isArray(journal.removals) || ![...journal.writes, ...journal.removals].every(owned))
    throw refuse();
  // The one file outside the output folder a journal may name: this topology's lock, replaced by
  // a temporary file beside it. Anything else (a file committed under the staging folder could
  // name any path) is refused.
  const { lock } = journal;
  if (lock !== undefined && (typeof lock !== "object" || lock === null || lock.path !== resolve(lockPath) || !isLockTemp(lock.temp, lockPath))) throw refuse();
  return journal;
}

/** The temporary name a new lock is written under: beside the lock, absolute, so a journal names one file wherever it is read from. */
function lockTempName(lockPath: string, unique: string): string {
  return join(dirname(resolve(lockPath)), `.${basename(lockPath)}.${unique}`);
}

function isLockTemp(temp: unknown, lockPath: string): temp is string {
  return typeof temp === "string" && temp === lockTempName(lockPath, temp.slice(-16)) && /^[0-9a-f]{16}$/.test(temp.slice(-16));
}

/**
 * Removes an undecided build's staging folder: only the entries gre-gen puts there, and the new
 * lock's temporary file when it is the one beside `lockPath` the record names.
 */
function discard(staging: string, lockPath: string | undefined): void {
  const record = join(staging, LOCK_TEMP_RECORD);
  if (lockPath !== undefined && lstatSync(record, { throwIfNoEntry: false })?.isFile()) {
    const temp = readFileSync(record, "utf8");
    if (isLockTemp(temp, lockPath) && lstatSync(temp, { throwIfNoEntry: false })?.isFile()) unlinkSync(temp);
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

/**
 * Refuses a path whose folders (or the file itself) are symlinks or of the wrong kind; returns how
 * many of its folders exist. `checked` holds the folders already found sound: a fleet's files
 * share most of theirs. In a folder this build `made`, nothing is there yet to look at.
 */
function guardPath(outDir: string, path: string, checked: Set<string>, made = new Set<string>()): number {
  const steps = pathSteps(outDir, path);
  for (const [index, current] of steps.entries()) {
    const parent = index === 0 ? outDir : steps[index - 1]!;
    const wanted = index === steps.length - 1 ? "file" : "directory";
    if (wanted === "directory" && checked.has(current)) continue;
    if (made.has(parent)) return index;
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (!stat) return index;
    if (stat.isSymbolicLink()) throw new UserError([fileError(current, "refusing to write through a symbolic link in the output folder")]);
    if (wanted === "directory" ? !stat.isDirectory() : !stat.isFile())
      throw new UserError([fileError(current, `expected a ${wanted} here; move it away and build again`)]);
    if (wanted === "directory") checked.add(current);
  }
  return steps.length - 1;
}

/** True when no folder on the way to `path` is a symbolic link: a removal never leaves the output folder. */
export function withoutLinks(outDir: string, path: string): boolean {
  return !pathSteps(outDir, path).some((step) => lstatSync(step, { throwIfNoEntry: false })?.isSymbolicLink());
}

/** Removes a file the previous build wrote, then the folders it leaves empty (up to the host folder). */
function removeFile(outDir: string, path: string): void {
  // A folder swapped for a link would leave the file behind unlisted: refused, never skipped.
  if (!withoutLinks(outDir, path)) throw new UserError([fileError(join(outDir, path), "refusing to remove through a symbolic link in the output folder")]);
  if (!lstatSync(join(outDir, path), { throwIfNoEntry: false })?.isFile()) return;
  unlinkSync(join(outDir, path));
  for (let dir = dirname(path); dir !== "."; dir = dirname(dir)) {
    const full = join(outDir, dir);
    if (lstatSync(full, { throwIfNoEntry: false })?.isDirectory() && readdirSync(full).length === 0) rmdirSync(full);
    else break;
  }
}
