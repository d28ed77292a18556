/** The orchestrator, read top to bottom: load → validate → allocate → plan → render. */
import { basename, dirname, join } from "node:path";
import { allocate, lockFileName } from "./allocate.js";
import { UserError, type Diagnostic } from "./diagnostics.js";
import { readInput } from "./input.js";
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
  /** The lock file: its new content, and what it held before (undefined when there was none). */
  lock: { path: string; content: string; before?: string };
}

export interface CompileOptions {
  /** The hosts the output folder's previous build wrote (its manifest); undefined before the first build. */
  previousHosts?: string[];
  /** How the manifest cites the topology (see emit.ts); undefined when no output folder is involved. */
  identity?: string;
}

/** The lock file of a topology: `topology.yml` → `topology.lock`, beside it. */
export function lockPathOf(topologyPath: string): string {
  return join(dirname(topologyPath), lockFileName(basename(topologyPath)));
}

/** Compiles a topology file; throws UserError with every diagnostic when it is not valid. */
export function compile(topologyPath: string, options: CompileOptions = {}): Compilation {
  const lockPath = lockPathOf(topologyPath);
  const topology = readInput(topologyPath, "topology")!;
  return compileBytes({ topologyPath, topology, lockPath, lock: readInput(lockPath, "lock", true), ...options });
}

export interface Inputs extends CompileOptions {
  topologyPath: string;
  topology: Uint8Array;
  lockPath: string;
  /** The lock file's bytes; undefined when there is none yet. */
  lock?: Uint8Array;
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
  const lock = inputs.lock === undefined ? new Map() : parseLock(inputs.lockPath, inputs.lock);
  if (Array.isArray(lock)) throw new UserError(lock);
  const allocations = allocate(topology, lock, source, diagnostics);
  if (!allocations) throw new UserError(diagnostics);
  const plan = planOverlay(topology, allocations);
  return { plan, files: renderOutputs(plan, inputs.identity), lock: { path: inputs.lockPath, content: renderLock(plan), before: inputs.lock && Buffer.from(inputs.lock).toString("utf8") } };
}
