/** The orchestrator, read top to bottom: load → validate → allocate → plan → render. */
import { basename, dirname, join } from "node:path";
import { allocate, lockFileName } from "./allocate.js";
import { UserError, type Diagnostic } from "./diagnostics.js";
import { readInput } from "./input.js";
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
  /** Every file of the output folder, each rendered as it is read (see render.ts's renderOutputs). */
  outputs(): Iterable<RenderedFile>;
  /** The lock file: its new content, and what it held before (undefined when there was none). */
  lock: { path: string; content: string; before?: string };
  /** A change of subnet or host_prefix since the lock's build: fleet-wide, in a rollout order. */
  overlayChange?: OverlayChange;
}

export interface CompileOptions {
  /** The hosts the output folder's previous build wrote (its manifest); undefined before the first build. */
  previousHosts?: string[];
  /** How the manifest cites the topology (see emit.ts); undefined when no output folder is involved. */
  identity?: string;
  /** Allocate every host anew, ignoring the lock: only when the user asks for it (`--reallocate`). */
  reallocate?: boolean;
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
  /** The host names the output folder's previous build lists; undefined when it holds none. */
  previousHosts?: string[];
  /** Allocate every host anew, ignoring the lock: only when the user asks for it. */
  reallocate?: boolean;
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
  const lock = inputs.lock === undefined || inputs.reallocate ? emptyLock(inputs.lockPath) : parseLock(inputs.lockPath, inputs.lock);
  if (Array.isArray(lock)) diagnostics.push(...lock);
  const previousHosts = inputs.reallocate ? undefined : inputs.previousHosts;
  // Allocation's own problems, beside the others: it runs whenever what it reads is sound.
  const allocationProblems: Diagnostic[] = [];
  const allocated = topology && !Array.isArray(lock) ? allocate({ topology, lock, source, previousHosts }, allocationProblems) : undefined;
  diagnostics.push(...allocationProblems);
  if (!topology || !allocated || diagnostics.length > 0) throw new UserError(diagnostics);
  const plan = planOverlay(topology, allocated);
  const before = inputs.lock && Buffer.from(inputs.lock).toString("utf8");
  return { plan, outputs: () => renderOutputs(plan, inputs.identity), lock: { path: inputs.lockPath, content: renderLock(plan), before }, overlayChange: allocated.change };
}

/** The lock beside a topology without one host's entry (`gre-gen release`); the topology itself is not read. */
export function releaseFromLock(topologyPath: string, host: string): { lockPath: string; content: string; entry: LockEntry } {
  const lockPath = lockPathOf(topologyPath);
  const lock = parseLock(lockPath, readInput(lockPath, "lock")!);
  if (Array.isArray(lock)) throw new UserError(lock);
  const entry = lock.entries.find((e) => e.name === host);
  if (!entry) {
    const names = lock.entries.map((e) => e.name).join(", ");
    throw new UserError([lock.atFile("release", `${host} has no entry in ${basename(lockPath)}${names ? ` (it lists ${names})` : ""}`)]);
  }
  return { lockPath, content: renderLockWithout(lock, basename(topologyPath), new Set([host])), entry };
}
