/** The orchestrator, read top to bottom: load → validate → allocate → plan → render. */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { allocate, lockFileName } from "./allocate.js";
import { fileError, UserError, type Diagnostic } from "./diagnostics.js";
import { parseLock } from "./lock.js";
import type { Plan } from "./model.js";
import { planOverlay } from "./plan.js";
import { renderLock, renderOutputs, type RenderedFile } from "./render.js";
import { checkRules } from "./rules.js";
import { parseSource, toData } from "./source.js";
import { checkStructure } from "./structure.js";

export interface Compilation {
  plan: Plan;
  /** Every file of the output folder. */
  files: RenderedFile[];
  lock: { path: string; content: string };
}

/** Compiles a topology file; throws UserError with every diagnostic when it is not valid. */
export function compile(topologyPath: string): Compilation {
  const lockPath = join(dirname(topologyPath), lockFileName(basename(topologyPath)));
  return compileBytes({ topologyPath, topology: readBytes(topologyPath, "topology"), lockPath, lock: readLock(lockPath) });
}

export interface Inputs {
  topologyPath: string;
  topology: Uint8Array;
  lockPath: string;
  /** The lock file's bytes; undefined when there is none yet. */
  lock?: Uint8Array;
}

/**
 * The pipeline on bytes already read: load → validate → allocate → plan → render. Each check
 * runs on what the earlier ones left usable, so one run reports every independent mistake.
 */
export function compileBytes(inputs: Inputs): Compilation {
  const source = parseSource(inputs.topologyPath, inputs.topology, { keepDuplicates: true });
  if (Array.isArray(source)) throw new UserError(source);
  const parsed = toData(source);
  if ("diagnostics" in parsed) throw new UserError(parsed.diagnostics);
  const diagnostics: Diagnostic[] = source.duplicates.map((d) => d.diagnostic);
  const structure = checkStructure(source, parsed.data, diagnostics);
  const topology = structure && checkRules(source, structure, diagnostics);
  const lock = inputs.lock === undefined ? new Map() : parseLock(inputs.lockPath, inputs.lock);
  if (Array.isArray(lock)) diagnostics.push(...lock);
  const allocationProblems: Diagnostic[] = [];
  const allocations = topology && !Array.isArray(lock) ? allocate(topology, lock, source, allocationProblems) : undefined;
  diagnostics.push(...allocationProblems);
  if (!topology || !allocations || diagnostics.length > 0) throw new UserError(diagnostics);
  const plan = planOverlay(topology, allocations);
  return { plan, files: renderOutputs(plan), lock: { path: inputs.lockPath, content: renderLock(plan) } };
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
