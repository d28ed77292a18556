/**
 * The lock file: the allocations of the last build, live and retired, read back so they never
 * move (SPEC §1). Reading checks only its form; allocate.ts checks its values against each other.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isMap, isScalar, type Node } from "yaml";
import * as z from "zod/mini";
import { asFileError, unpredictableName } from "./files.js";
import type { Diagnostic } from "./diagnostics.js";
import { fileError } from "./diagnostics.js";
import { formatAddress, formatCidr, parseAddress, parseCidr, type Cidr } from "./ipv4.js";
import type { Plan } from "./model.js";
import { IPV4, IPV4_CIDR } from "./schema.js";
import { readLockLines } from "./lock-lines.js";
import { diagnosticAtPath, MAX_TOPOLOGY_BYTES, namesAsWritten, parseSource, toData, type TopologySource } from "./source.js";
import { loadTemplate } from "./templates.js";

/** The lock's shape, made on first use: a lock as gre-gen writes it is read line by line, without it. */
function lockSchema() {
  const entry = z.strictObject({ bridge_ip: z.string().check(z.regex(IPV4)), fixed_cidr: z.string().check(z.regex(IPV4_CIDR)) });
  return z.strictObject({
    version: z.literal(1),
    subnet: z.optional(z.string().check(z.regex(IPV4_CIDR))),
    host_prefix: z.optional(z.int()),
    hosts: z.record(z.string(), entry),
    retired: z.optional(z.nullable(z.record(z.string(), entry))),
  });
}

export type LockField = "bridge_ip" | "fixed_cidr";

/** One host's recorded values; `retired` when the host had left the topology at that build. */
export interface LockEntry {
  name: string;
  bridgeIp: number;
  fixedCidr: Cidr;
  retired: boolean;
}

export interface Lock {
  /** Where it is, as the user named it. */
  file: string;
  /** "missing": no lock file; "empty": a file without entries. */
  state: "missing" | "empty" | "present";
  /** The overlay the allocations were made in (absent in locks written before it was recorded). */
  subnet?: Cidr;
  hostPrefix?: number;
  /** Live entries, then retired ones, each in file order. */
  entries: LockEntry[];
  /** A diagnostic at an entry's field, or at its name. */
  at(entry: LockEntry, field: LockField | undefined, code: string, message: string): Diagnostic;
  /** "lines 6-8": where an entry stands, so a message can say what to delete. */
  lines(entry: LockEntry): string;
  /** A diagnostic about the whole lock, at its first line. */
  atFile(code: string, message: string): Diagnostic;
}

/** A lock without entries: no lock file yet (`missing`), or one that holds nothing (`empty`). */
export function emptyLock(file: string, state: "missing" | "empty" = "missing"): Lock {
  const atFile = (code: string, message: string) => ({ ...fileError(file, message), code });
  return { file, state, entries: [], at: (_e, _f, code, message) => atFile(code, message), lines: () => "", atFile };
}

/** Reads a lock file's text; a damaged lock is an error at its place, never silently ignored. */
export function parseLock(file: string, bytes: Uint8Array): Lock | Diagnostic[] {
  const lines = bytes.length <= MAX_TOPOLOGY_BYTES ? readLockLines(Buffer.from(bytes).toString("latin1")) : undefined;
  if (!lines) return parseLockYaml(file, bytes);
  // A message about an entry points into the file: only then is it parsed as YAML, which reads
  // such a lock without an error.
  let placed: Lock | undefined;
  const yaml = () => (placed ??= parseLockYaml(file, bytes) as Lock);
  return {
    file,
    state: "present",
    ...lines,
    at: (entry, field, code, message) => yaml().at(entry, field, code, message),
    lines: (entry) => yaml().lines(entry),
    atFile: (code, message) => ({ ...fileError(file, message), code }),
  };
}

function parseLockYaml(file: string, bytes: Uint8Array): Lock | Diagnostic[] {
  const source = parseSource(file, bytes);
  if (Array.isArray(source)) return source;
  const parsed = toData(source);
  if ("diagnostics" in parsed) return parsed.diagnostics;
  if (parsed.data === null || parsed.data === undefined) return emptyLock(file, "empty");
  const result = lockSchema().safeParse(parsed.data);
  const damaged = (path: (string | number)[], problem: string, at: "key" | "value" = "value") =>
    diagnosticAtPath(source, path, "lock", `damaged lock file: ${problem}; restore it from version control, or delete the entry to allocate that host anew`, at);
  // An unknown key is shown at the key itself, not at the mapping that holds it.
  if (!result.success)
    return result.error.issues.map((issue) =>
      issue.code === "unrecognized_keys"
        ? damaged([...(issue.path as (string | number)[]), issue.keys[0]!], lockProblem(issue), "key")
        : damaged(issue.path as (string | number)[], lockProblem(issue)),
    );
  const diagnostics: Diagnostic[] = [];
  const entries: LockEntry[] = [];
  for (const section of ["hosts", "retired"]) {
    const { diagnostics: misread } = namesAsWritten(source, [section], "the host name");
    diagnostics.push(...misread.map((d) => ({ ...d, code: "lock", message: `damaged lock file: ${d.message}` })));
  }
  const sections = [["hosts", result.data.hosts, false], ["retired", result.data.retired ?? {}, true]] as const;
  for (const [section, records, retired] of sections)
    for (const [name, entry] of Object.entries(records)) {
      const range = parseCidr(entry.fixed_cidr)!;
      if (!range.aligned) diagnostics.push(damaged([section, name, "fixed_cidr"], `${name}'s fixed_cidr ${entry.fixed_cidr} has host bits set (${formatCidr(range.cidr)} would be aligned)`));
      if (retired && name in result.data.hosts) diagnostics.push(damaged([section, name], `${name} is listed both as a host and as retired`, "key"));
      entries.push({ name, bridgeIp: parseAddress(entry.bridge_ip)!, fixedCidr: range.cidr, retired });
    }
  const subnet = result.data.subnet === undefined ? undefined : parseCidr(result.data.subnet)!;
  if (subnet && !subnet.aligned) diagnostics.push(damaged(["subnet"], `subnet ${result.data.subnet} has host bits set`));
  if (diagnostics.length > 0) return diagnostics;
  const pathOf = (e: LockEntry) => [e.retired ? "retired" : "hosts", e.name];
  return {
    file,
    state: entries.length > 0 ? "present" : "empty",
    subnet: subnet?.cidr,
    hostPrefix: result.data.host_prefix,
    entries,
    at: (entry, field, code, message) => diagnosticAtPath(source, field ? [...pathOf(entry), field] : pathOf(entry), code, message, field ? "value" : "key"),
    lines: (entry) => entryLines(source, pathOf(entry)),
    atFile: (code, message) => ({ ...fileError(file, message), code }),
  };
}

function entryLines(source: TopologySource, [section, name]: string[]): string {
  const records = source.doc.get(section, true);
  const pair = isMap(records) ? records.items.find((p) => isScalar(p.key) && String(p.key.value) === name) : undefined;
  const [start, end] = [(pair?.key as Node | undefined)?.range?.[0], (pair?.value as Node | undefined)?.range?.[1]];
  if (start === undefined || end === undefined) return "";
  const [first, last] = [source.lineCounter.linePos(start).line, source.lineCounter.linePos(Math.max(start, end - 1)).line];
  return first === last ? `line ${first}` : `lines ${first}-${last}`;
}

function lockProblem(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key '${issue.keys[0]}'`;
  if (issue.code === "invalid_format") return "not an address";
  if (issue.path.length > 0 && issue.code === "invalid_type") return `${String(issue.path[issue.path.length - 1])} must be ${issue.expected === "object" || issue.expected === "record" ? "a mapping" : issue.expected}`;
  return "not a gre-gen lock";
}

interface LockView {
  sourceName: string;
  subnet?: string;
  hostPrefix?: number;
  hosts: { name: string; bridgeIp: string; fixedCidr: string }[];
  retired: { name: string; bridgeIp: string; fixedCidr: string }[];
}

/** The lock a build writes: every live host, then the retired ones, each in name order. */
export function renderLock(plan: Plan): string {
  return renderLockView({ sourceName: plan.sourceName, subnet: plan.subnet, hostPrefix: plan.hostPrefix, hosts: plan.hosts, retired: plan.retired });
}

/** The lock without some entries (`gre-gen release`), otherwise as it was. */
export function renderLockWithout(lock: Lock, sourceName: string, names: Set<string>): string {
  const view = (retired: boolean) =>
    lock.entries.filter((e) => e.retired === retired && !names.has(e.name)).map((e) => ({ name: e.name, bridgeIp: formatAddress(e.bridgeIp), fixedCidr: formatCidr(e.fixedCidr) }));
  return renderLockView({ sourceName, subnet: lock.subnet && formatCidr(lock.subnet), hostPrefix: lock.hostPrefix, hosts: view(false), retired: view(true) });
}

function renderLockView(view: LockView): string {
  const sorted = (list: LockView["hosts"]) => [...list].sort((a, b) => compareNames(a.name, b.name)).map(({ name, bridgeIp, fixedCidr }) => ({ name, bridgeIp, fixedCidr }));
  return loadTemplate("lock.hbs")({
    sourceName: view.sourceName,
    subnet: view.subnet ?? null,
    hostPrefix: view.hostPrefix ?? null,
    hosts: sorted(view.hosts),
    retired: sorted(view.retired),
  });
}

/**
 * Replaces the lock file (`gre-gen release`): a new file under an unpredictable name beside it,
 * created exclusively, then renamed over it, so a reader sees the old lock or the new, never a part.
 */
export function replaceLockFile(path: string, content: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${unpredictableName()}`);
  try {
    writeFileSync(temporary, content, { flag: "wx", mode: 0o644 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw asFileError(error, path, "cannot write the lock file");
  }
}

/** Byte order, not locale order: the same on every machine. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
