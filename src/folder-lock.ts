/**
 * The output folder's advisory lock (`.gre-gen-busy`): one build at a time writes a folder. It
 * holds its builder's process id and start time, so a lock whose builder is gone (killed, or its
 * pid recycled) is taken over rather than waited for.
 */
import { linkSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { fileError, UserError } from "./diagnostics.js";
import { asFileError, unpredictableName, writeExclusive } from "./files.js";
import { sleep } from "./input.js";

export const BUSY_NAME = ".gre-gen-busy";

/** How long a build waits for another one writing the same folder before it gives up. */
export const BUSY_WAIT_MS = Number(process.env.GRE_GEN_BUSY_WAIT_MS ?? 30_000);

/** Runs `action` holding the output folder's advisory lock; a second build waits, boundedly. */
export function withFolderLock<T>(outDir: string, action: () => T): T {
  const busy = join(outDir, BUSY_NAME);
  const owner = `${process.pid} ${processStart(process.pid) ?? ""}\n`;
  for (let waited = 0; ; waited += 100) {
    // Written whole under a private name, then linked into place: the lock never exists empty.
    // The name carries the pid, so a claim its builder was killed holding can be told and cleared.
    const claim = `${busy}.${process.pid}.${unpredictableName()}`;
    try {
      writeExclusive(claim, owner, 0o644);
      linkSync(claim, busy);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw asFileError(error, busy, "cannot lock the output folder");
    } finally {
      rmSync(claim, { force: true });
    }
    const holder = lockHolder(outDir);
    if (holder && !holder.alive) {
      // Its builder is gone (killed): the lock is stale. What it left is recovered under the lock.
      takeOver(busy, holder.text);
      continue;
    }
    if (waited >= BUSY_WAIT_MS)
      throw new UserError([fileError(outDir, `another gre-gen${holder ? ` (process ${holder.pid})` : ""} is writing this output folder; waited ${BUSY_WAIT_MS / 1000} s. Try again when it is done, or delete ${busy} if no gre-gen is running`)]);
    sleep(100);
  }
  clearDeadClaims(outDir);
  try {
    return action();
  } finally {
    unlinkSync(busy);
  }
}

/** Claims whose builders were killed between writing and removing them (a build clears them). */
export function deadClaims(outDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const pid = Number(/^\.gre-gen-busy\.(\d+)\.[0-9a-f]+$/.exec(name)?.[1]);
    return pid > 0 && !isRunning(pid);
  });
}

function clearDeadClaims(outDir: string): void {
  for (const name of deadClaims(outDir)) rmSync(join(outDir, name), { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes a stale lock, only if it is still the one found stale (its `text`: a live builder's
 * differs by its pid and start time): another build may have taken it over meanwhile, and its
 * live lock must stay. The lock is moved aside first, which only one build can do; a live lock
 * moved by mistake is put back.
 */
function takeOver(busy: string, text: string): void {
  // Named like a claim, so one a killed build leaves is cleared as one.
  const aside = `${busy}.${process.pid}.${unpredictableName()}`;
  try {
    renameSync(busy, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // another build took it over first
    throw asFileError(error, busy, "cannot take over the stale lock");
  }
  let moved: string | undefined;
  try {
    moved = readFileSync(aside, "utf8");
  } catch {
    // Gone: nothing to put back.
  }
  if (moved !== undefined && moved !== text) {
    try {
      linkSync(aside, busy);
    } catch {
      // A third build holds the folder now; the one whose lock this is will find it gone and stop.
    }
  }
  rmSync(aside, { force: true });
}

/** Who holds the folder's lock, and whether that process still runs; undefined when nobody does. */
export function lockHolder(outDir: string): { pid: number; alive: boolean; text: string } | undefined {
  let text: string;
  try {
    text = readFileSync(join(outDir, BUSY_NAME), "utf8");
  } catch {
    return undefined;
  }
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return { pid: 0, alive: false, text };
  let alive = isRunning(pid);
  if (alive && start && processStart(pid) !== undefined && processStart(pid) !== start) alive = false;
  return { pid, alive, text };
}

/** Linux's start time of a process, so a recycled pid is not taken for the lock's holder. */
function processStart(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[19];
  } catch {
    return undefined;
  }
}
