/** Structural validation: the zod model applied section by section, its issues turned into diagnostics. */
import * as z from "zod/mini";
import type { Diagnostic } from "./diagnostics.js";
import { EXECUTABLE_PATH, HOST_NAME, INTERFACE_NAME, IPV4, IPV4_CIDR, PRINTABLE, topologySchema, type HostInput, type TopologyInput } from "./schema.js";
import { diagnosticAtPath, type PathSegment, type TopologySource } from "./source.js";

/** The parts of the topology that are well formed; a part that is not is left out. */
export interface Structure {
  version?: 1;
  overlay?: TopologyInput["overlay"];
  docker?: TopologyInput["docker"];
  hosts: Map<string, HostInput>;
  /** Every host name the file lists, valid or not, in file order. */
  hostNames: string[];
}

/** What each pattern means, for messages (zod reports a pattern as its `String(regex)`). */
const FORMATS = new Map<string, string>([
  [String(INTERFACE_NAME), "an interface name: 1 to 15 of A-Z a-z 0-9 _ -, not starting with '-' (ifupdown reads '.' as a VLAN and ':' as an alias; ovs-vsctl and ip read a leading '-' as an option; the kernel stops at 15)"],
  [String(HOST_NAME), "a host name: RFC 1123 labels of letters, digits and '-', joined by dots"],
  [String(IPV4), "an IPv4 address: a dotted quad such as 10.0.0.1, without leading zeros"],
  [String(IPV4_CIDR), "an IPv4 network: a dotted quad and a prefix length up to 32, such as 10.11.12.0/24"],
  [String(EXECUTABLE_PATH), "an absolute path, or a command name systemd looks up, of letters, digits and . _ + - /"],
  [String(PRINTABLE), "text without control characters, line breaks or Unicode noncharacters (systemd ignores a line that holds one)"],
]);

const PARSE = { reportInput: true } as const;
const topLevel = z.extend(topologySchema, { overlay: z.optional(z.unknown()), docker: z.optional(z.unknown()), hosts: z.optional(z.unknown()) });

/** Checks every section it can, so one run reports every structural error. */
export function checkStructure(source: TopologySource, data: unknown, diagnostics: Diagnostic[]): Structure | undefined {
  const structure: Structure = { hosts: new Map(), hostNames: [] };
  const report: Reporter = (issues, prefix) =>
    issues.forEach((issue) => diagnostics.push(...toDiagnostics(source, issue, prefix)));
  if (!isMapping(data)) {
    diagnostics.push(diagnosticAtPath(source, [], "type", "a topology is a mapping with the keys version, overlay, docker and hosts"));
    return undefined;
  }
  const top = topLevel.safeParse(data, PARSE);
  if (top.success) structure.version = 1;
  else report(top.error.issues, []);

  const overlay = topologySchema.shape.overlay.safeParse(data.overlay, PARSE);
  if (overlay.success) structure.overlay = overlay.data;
  else report(overlay.error.issues, ["overlay"]);

  const docker = topologySchema.shape.docker.safeParse(data.docker, PARSE);
  if (docker.success) structure.docker = docker.data;
  else report(docker.error.issues, ["docker"]);

  checkHosts(data.hosts, structure, report);
  return structure;
}

type Reporter = (issues: z.core.$ZodIssue[], prefix: (PathSegment | typeof KEY)[]) => void;

function checkHosts(hosts: unknown, structure: Structure, report: Reporter) {
  if (!isMapping(hosts)) {
    const issue = { code: "invalid_type", expected: "record", input: hosts, path: [], message: "" } as unknown as z.core.$ZodIssue;
    report([issue], ["hosts"]);
    return;
  }
  const hostSchema = topologySchema.shape.hosts.def.valueType;
  const nameSchema = z.string().check(z.regex(HOST_NAME));
  for (const [name, value] of Object.entries(hosts)) {
    structure.hostNames.push(name);
    const nameResult = nameSchema.safeParse(name, PARSE);
    if (!nameResult.success) report(nameResult.error.issues.map((i) => ({ ...i, path: [] })), ["hosts", name, KEY]);
    const result = hostSchema.safeParse(value, PARSE);
    if (!result.success) report(result.error.issues, ["hosts", name]);
    if (nameResult.success && result.success) structure.hosts.set(name, result.data);
  }
}

/** A path ending in KEY points at the key of its last segment rather than its value. */
const KEY = Symbol("key");

function toDiagnostics(source: TopologySource, issue: z.core.$ZodIssue, prefix: (PathSegment | typeof KEY)[]): Diagnostic[] {
  const atKey = prefix[prefix.length - 1] === KEY;
  const base = [...(prefix.filter((p) => p !== KEY) as PathSegment[]), ...(issue.path as PathSegment[])];
  const at = (path: PathSegment[], code: string, message: string, part: "key" | "value" = "value") =>
    diagnosticAtPath(source, path, code, message, part);
  const field = describePath(base);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => at([...base, key], "unknown-key", `unknown key '${key}' in ${field}${suggest(key, knownKeys(base))}`, "key"));
    case "invalid_type":
      if (issue.input === undefined) return [at(base, "missing-key", `${field} is required`, "key")];
      return [at(base, "type", `${field} must be ${article(issue.expected)}, not ${typeName(issue.input)}`)];
    case "invalid_format": {
      if (atKey) return [at(base, "host-name", `${quote(issue.input)} is not ${FORMATS.get(String(HOST_NAME))}`, "key")];
      const wanted = "pattern" in issue && issue.pattern ? FORMATS.get(String(issue.pattern)) : undefined;
      return [at(base, "format", `${field}: ${quote(issue.input)} is not ${wanted ?? "in the expected format"}`, atKey ? "key" : "value")];
    }
    case "too_small":
      return [at(base, "range", `${field} must be at least ${issue.minimum}, not ${quote(issue.input)}`)];
    case "too_big":
      if (issue.origin === "string") return [at(base, "too-long", `${field} is longer than ${issue.maximum} characters`)];
      return [at(base, "range", `${field} must be at most ${issue.maximum}, not ${quote(issue.input)}`)];
    case "invalid_value":
      return [at(base, "value", `${field} must be ${issue.values.map((v) => quote(v)).join(" or ")}, not ${quote(issue.input)}`)];
    case "invalid_union":
      if (base[base.length - 1] === "mtu") return [at(base, "value", `${field} must be 'auto' or a whole number from 68 to 65535, not ${quote(issue.input)}`)];
      return [at(base, "value", `${field} is not valid: ${issue.message}`)];
    default:
      return [at(base, "invalid", `${field}: ${issue.message}`)];
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function describePath(path: PathSegment[]): string {
  return path.length === 0 ? "the topology" : path.map((p) => (typeof p === "number" ? `[${p}]` : p)).join(".").replace(/\.\[/g, "[");
}

function knownKeys(path: PathSegment[]): string[] {
  let schema: z.core.$ZodType = topologySchema;
  for (const segment of path) {
    schema = unwrap(schema);
    const def = schema._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; valueType?: z.core.$ZodType; element?: z.core.$ZodType };
    if (def.type === "object" && def.shape) schema = def.shape[segment] ?? schema;
    else if (def.type === "record" && def.valueType) schema = def.valueType;
    else if (def.type === "array" && def.element) schema = def.element;
  }
  const def = unwrap(schema)._zod.def as { shape?: Record<string, unknown> };
  return def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType };
    if ((def.type === "optional" || def.type === "default") && def.innerType) current = def.innerType;
    else return current;
  }
}

/** "did you mean" for a misspelt key: the known key nearest by edit distance, if near enough. */
export function suggest(word: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? ` (expected one of: ${candidates.join(", ")})` : `; did you mean '${best}'?`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function typeName(value: unknown): string {
  if (value === null) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${quote(value)}`;
  return `${article(typeof value)} (${String(value)})`;
}

function article(type: string): string {
  const names: Record<string, string> = { record: "a mapping", object: "a mapping", array: "a list", string: "text", number: "a number", int: "a whole number", boolean: "true or false" };
  return names[type] ?? type;
}

function quote(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const shown = text === undefined ? "nothing" : text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `'${shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
}
