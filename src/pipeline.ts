/** The orchestrator, read top to bottom: load → validate → allocate → plan → render. */
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { allocate, lockFileName, type Lock } from "./allocate.js";
import { fileError, UserError, type Diagnostic } from "./diagnostics.js";
import { parseLock } from "./lock.js";
import type { Plan } from "./model.js";
import { planOverlay } from "./plan.js";
import { renderLock, renderOutputs, type RenderedFile } from "./render.js";
import { checkRules } from "./rules.js";
import { parseSource, toData, type TopologySource } from "./source.js";
import { checkStructure } from "./structure.js";

export interface Compilation {
  plan: Plan;
  /** Every file of the output folder. */
  files: RenderedFile[];
  lock: { path: string; content: string };
}

/** Compiles a topology file; throws UserError with every diagnostic when it is not valid. */
export function compile(topologyPath: string): Compilation {
  const source = loadTopology(topologyPath);
  const diagnostics: Diagnostic[] = [];
  const parsed = toData(source);
  if ("diagnostics" in parsed) throw new UserError(parsed.diagnostics);
  const structure = checkStructure(source, parsed.data, diagnostics);
  const topology = structure && checkRules(source, structure, diagnostics);
  if (!topology) throw new UserError(diagnostics);
  const lockPath = join(dirname(topologyPath), lockFileName(basename(topologyPath)));
  const allocations = allocate(topology, readLock(lockPath), source, diagnostics);
  if (!allocations) throw new UserError(diagnostics);
  const plan = planOverlay(topology, allocations);
  return { plan, files: renderOutputs(plan), lock: { path: lockPath, content: renderLock(plan) } };
}

function loadTopology(path: string): TopologySource {
  const source = parseSource(path, readBytes(path, "topology"));
  if (Array.isArray(source)) throw new UserError(source);
  return source;
}

function readLock(path: string): Lock {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw new UserError([fileError(path, `cannot read the lock file: ${(error as Error).message}`)]);
  }
  const lock = parseLock(path, bytes);
  if (Array.isArray(lock)) throw new UserError(lock);
  return lock;
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
