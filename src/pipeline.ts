/** The orchestrator, read top to bottom: load → validate → allocate → plan → render. */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { allocate, lockFileName } from "./allocate.js";
import { fileError, UserError, type Diagnostic } from "./diagnostics.js";
import { emptyLock, parseLock, renderLock, renderLockWithout, type LockEntry } from "./lock.js";
import type { Plan } from "./model.js";
import type { OverlayChange } from "./overlay-change.js";
import { planOverlay } from "./plan.js";
import { renderOutputs, type RenderedFile } from "./render.js";
import { checkRules } from "./rules.js";
import { parseSource, toData } from "./source.js";
import { checkStructure } from "./structure.js";

export interface Compilation {
  plan: Plan;
  /** Every file of the output folder. */
  files: RenderedFile[];
  lock: { path: string; content: string };
  /** A change of subnet or host_prefix since the lock's build: fleet-wide, in a rollout order. */
  overlayChange?: OverlayChange;
}

/** Compiles a topology file; throws UserError with every diagnostic when it is not valid. */
export function compile(topologyPath: string, options: Pick<Inputs, "previousHosts" | "reallocate"> = {}): Compilation {
  const lockPath = join(dirname(topologyPath), lockFileName(basename(topologyPath)));
  return compileBytes({ topologyPath, topology: readBytes(topologyPath, "topology"), lockPath, lock: readLock(lockPath), ...options });
}

export interface Inputs {
  topologyPath: string;
  topology: Uint8Array;
  lockPath: string;
  /** The lock file's bytes; undefined when there is none yet. */
  lock?: Uint8Array;
  /** The host names the output folder's previous build lists; undefined when it holds none. */
  previousHosts?: string[];
  /** Allocate every host anew, ignoring the lock: only when the user asks for it. */
  reallocate?: boolean;
}

/** The pipeline on bytes already read: load → validate → allocate → plan → render. */
export function compileBytes(inputs: Inputs): Compilation {
  const source = parseSource(inputs.topologyPath, inputs.topology);
  if (Array.isArray(source)) throw new UserError(source);
  const parsed = toData(source);
  if ("diagnostics" in parsed) throw new UserError(parsed.diagnostics);
  const diagnostics: Diagnostic[] = [];
  const structure = checkStructure(source, parsed.data, diagnostics);
  const topology = structure && checkRules(source, structure, diagnostics);
  if (!topology) throw new UserError(diagnostics);
  const lock = inputs.lock === undefined || inputs.reallocate ? emptyLock(inputs.lockPath) : parseLock(inputs.lockPath, inputs.lock);
  if (Array.isArray(lock)) throw new UserError(lock);
  const previousHosts = inputs.reallocate ? undefined : inputs.previousHosts;
  const allocated = allocate({ topology, lock, source, previousHosts }, diagnostics);
  if (!allocated) throw new UserError(diagnostics);
  const plan = planOverlay(topology, allocated);
  return { plan, files: renderOutputs(plan), lock: { path: inputs.lockPath, content: renderLock(plan) }, overlayChange: allocated.change };
}

/** The lock beside a topology without one host's entry (`gre-gen release`); the topology itself is not read. */
export function releaseFromLock(topologyPath: string, host: string): { lockPath: string; content: string; entry: LockEntry } {
  const lockPath = join(dirname(topologyPath), lockFileName(basename(topologyPath)));
  const lock = parseLock(lockPath, readBytes(lockPath, "lock"));
  if (Array.isArray(lock)) throw new UserError(lock);
  const entry = lock.entries.find((e) => e.name === host);
  if (!entry) {
    const names = lock.entries.map((e) => e.name).join(", ");
    throw new UserError([lock.atFile("release", `${host} has no entry in ${basename(lockPath)}${names ? ` (it lists ${names})` : ""}`)]);
  }
  return { lockPath, content: renderLockWithout(lock, basename(topologyPath), new Set([host])), entry };
}

/** There is no lock before the first build; a lock that is there is read like the topology. */
function readLock(path: string): Uint8Array | undefined {
  return existsSync(path) ? readBytes(path, "lock") : undefined;
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (error as Error).message;
    throw new UserError([fileError(path, `cannot read the ${what} file: ${reason}${code === "ENOENT" && what === "topology" ? " (gre-gen init writes a starter)" : ""}`)]);
  }
}
