/** Structural validation: the zod model applied section by section, its issues turned into diagnostics. */
import * as z from "zod/mini";
import { quote, type Diagnostic } from "./diagnostics.js";
import { EXECUTABLE_PATH, HOST_NAME, INTERFACE_NAME, IPV4, IPV4_CIDR, OVERLAY_NAME, PRINTABLE, topologySchema, type HostInput, type TopologyInput } from "./schema.js";
import { diagnosticAtPath, namesAsWritten, type PathSegment, type TopologySource } from "./source.js";

/** The parts of the topology that are well formed; a part that is not is left out. */
export interface Structure {
  version?: 1;
  overlay?: TopologyInput["overlay"];
  docker?: TopologyInput["docker"];
  hosts: Map<string, HostInput>;
  /** Every host name the file lists, valid or not, in file order. */
  hostNames: string[];
  /** How many hosts the file lists (a repeated name counts each time); none when hosts is not a mapping. */
  hostCount?: number;
}

/** What each pattern means, for messages (zod reports a pattern as its `String(regex)`). */
const FORMATS = new Map<string, string>([
  [String(INTERFACE_NAME), "an interface name: 1 to 15 of A-Z a-z 0-9 _ -, not starting with '-' (ifupdown reads '.' as a VLAN and ':' as an alias; ovs-vsctl and ip read a leading '-' as an option; the kernel stops at 15)"],
  [String(OVERLAY_NAME), "an overlay name: 1 to 64 of A-Z a-z 0-9 _ . -, starting with a letter or digit"],
  [String(HOST_NAME), "a host name: RFC 1123 labels of letters, digits and '-', joined by dots"],
  [String(IPV4), "an IPv4 address: a dotted quad such as 10.0.0.1, without leading zeros"],
  [String(IPV4_CIDR), "an IPv4 network: a dotted quad and a prefix length up to 32, such as 10.11.12.0/24"],
  [String(EXECUTABLE_PATH), "an absolute path, or a command name systemd looks up, of letters, digits and . _ + - / (a name starting with a letter, digit or _)"],
  [String(PRINTABLE), "text without control characters, line breaks or Unicode noncharacters (systemd ignores a line that holds one)"],
]);

const PARSE = { reportInput: true } as const;
const topLevel = z.extend(topologySchema, { overlay: z.optional(z.unknown()), docker: z.optional(z.unknown()), hosts: z.optional(z.unknown()) });
const hostSchema = topologySchema.shape.hosts.def.valueType;

/** The keys of each section, to name the section a key written at the wrong indentation belongs to. */
const SECTION_KEYS: [section: string, keys: string[]][] = [
  ["overlay", Object.keys(topologySchema.shape.overlay.shape)],
  ["docker", Object.keys(topologySchema.shape.docker.def.innerType.shape)],
  ["host", Object.keys(hostSchema.shape)],
];

/** Checks every section it can, so one run reports every structural error. */
export function checkStructure(source: TopologySource, data: unknown, diagnostics: Diagnostic[]): Structure | undefined {
  const structure: Structure = { hosts: new Map(), hostNames: [] };
  const report: Reporter = (issues, prefix) =>
    withoutMisspeltRequired(issues, prefix.filter((p) => p !== KEY) as PathSegment[]).forEach((issue) => diagnostics.push(...toDiagnostics(source, issue, prefix)));
  if (!isMapping(data)) {
    diagnostics.push(diagnosticAtPath(source, [], "type", "a topology is a mapping with the keys version, overlay, docker and hosts"));
    return undefined;
  }
  const top = topLevel.safeParse(data, PARSE);
  if (top.success) structure.version = 1;
  else report(top.error.issues, []);

  // `subnet:` written at the top level, under an empty `overlay:`, is one mistake: its indentation;
  // a section missing because its name is misspelt is one too. Their own errors say it.
  const strays = Object.keys(data).filter((key) => !(key in topologySchema.shape));
  const meant = (key: string, section: string) => sectionOf(key) === section || (data[section] === undefined && nearest(key, Object.keys(topologySchema.shape)) === section);
  const explained = (section: string) => (data[section] === null || data[section] === undefined) && strays.some((key) => meant(key, section));
  const sectionIssues = (issues: z.core.$ZodIssue[], section: string) => (explained(section) ? issues.filter((i) => i.path.length > 0) : issues);

  const overlay = topologySchema.shape.overlay.safeParse(data.overlay, PARSE);
  if (overlay.success) structure.overlay = overlay.data;
  else report(sectionIssues(overlay.error.issues, "overlay"), ["overlay"]);

  const docker = topologySchema.shape.docker.safeParse(data.docker, PARSE);
  if (docker.success) structure.docker = docker.data;
  else report(sectionIssues(docker.error.issues, "docker"), ["docker"]);

  if (!explained("hosts")) checkHosts(source, data.hosts, structure, report, diagnostics);
  return structure;
}

type Reporter = (issues: z.core.$ZodIssue[], prefix: (PathSegment | typeof KEY)[]) => void;

function checkHosts(source: TopologySource, hosts: unknown, structure: Structure, report: Reporter, diagnostics: Diagnostic[]) {
  if (Array.isArray(hosts)) {
    const first: unknown = hosts[0];
    const example = isMapping(first) && Object.keys(first).length === 1 ? Object.keys(first)[0]! : "NAME";
    diagnostics.push(diagnosticAtPath(source, ["hosts"], "type", `hosts must be a mapping of host names to their settings, not a list: write ${quote(`${example}:`)} without the '- '`));
    return;
  }
  if (!isMapping(hosts)) {
    const issue = { code: "invalid_type", expected: "record", input: hosts, path: [], message: "" } as unknown as z.core.$ZodIssue;
    report([issue], ["hosts"]);
    return;
  }
  const nameSchema = z.string().check(z.regex(HOST_NAME));
  const written = namesAsWritten(source, ["hosts"], "the host name");
  diagnostics.push(...written.diagnostics);
  const entries = Object.entries(hosts).filter(([name]) => written.names?.has(name) ?? true);
  // A host's setting indented like a host name: said once, at the setting, instead of three errors.
  const emptiedHosts = new Set<string>();
  const stray = ([name, value]: [string, unknown]) => sectionOf(name) === "host" && !(isMapping(value) && "underlay_ip" in value);
  entries.forEach((entry, index) => {
    if (!stray(entry)) return;
    const name = entry[0];
    const owner = entries.slice(0, index).reverse().find((other) => !stray(other));
    const message =
      owner && owner[1] === null
        ? `'${name}' is indented like a host name, which leaves ${quote(owner[0])} empty; indent it below ${quote(`${owner[0]}:`)}`
        : `'${name}' is a host's setting, not a host name; indent it below its host`;
    if (owner && owner[1] === null) emptiedHosts.add(owner[0]);
    diagnostics.push(diagnosticAtPath(source, ["hosts", name], "indentation", message, "key"));
  });
  for (const [name, value] of entries) {
    if (stray([name, value])) continue;
    structure.hostNames.push(name);
    const nameResult = nameSchema.safeParse(name, PARSE);
    if (!nameResult.success) report(nameResult.error.issues.map((i) => ({ ...i, path: [] })), ["hosts", name, KEY]);
    const result = hostSchema.safeParse(value, PARSE);
    if (!result.success && !emptiedHosts.has(name)) report(result.error.issues, ["hosts", name]);
    if (nameResult.success && result.success) structure.hosts.set(name, result.data);
  }
  const repeated = source.duplicates.filter((d) => d.parent.length === 1 && d.parent[0] === "hosts").length;
  structure.hostCount = structure.hostNames.length + repeated + written.diagnostics.length;
}

/** The section whose key this is ("overlay", "docker" or "host"), if any. */
function sectionOf(key: string): string | undefined {
  return SECTION_KEYS.find(([, keys]) => keys.includes(key))?.[0];
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
      return issue.keys.map((key) => at([...base, key], "unknown-key", `unknown key ${quote(key)} in ${field}${misplaced(key, base) ?? suggest(key, knownKeys(base))}`, "key"));
    case "invalid_type":
      if (issue.input === undefined) return [at(base, "missing-key", `${field} is required`, "key")];
      return [at(base, "type", `${field} must be ${article(issue.expected)}, not ${typeName(issue.input)}${missingSpace(issue.input)}`)];
    case "invalid_format": {
      if (atKey) return [at(base, "host-name", `${quote(issue.input)} is not ${FORMATS.get(String(HOST_NAME))}${dashed(String(issue.input))}`, "key")];
      const wanted = "pattern" in issue && issue.pattern ? FORMATS.get(String(issue.pattern)) : undefined;
      return [at(base, "format", `${field}: ${quote(issue.input)} is not ${wanted ?? "in the expected format"}`, atKey ? "key" : "value")];
    }
    case "too_small":
      return [at(base, "range", `${field} must be at least ${issue.minimum}, not ${quote(issue.input)}`)];
    case "too_big":
      if (issue.origin === "string") return [at(base, "too-long", `${field} is longer than ${issue.maximum} characters`)];
      return [at(base, "range", `${field} must be at most ${issue.maximum}, not ${quote(issue.input)}`)];
    case "invalid_value":
      if (typeof issue.input === "string" && issue.values.some((v) => typeof v === "number" && String(v) === issue.input))
        return [at(base, "type", `${field} must be the number ${issue.input}, not the text ${quote(issue.input)}: write it without quotes`)];
      return [at(base, "value", `${field} must be ${issue.values.map((v) => quote(v)).join(" or ")}, not ${quote(issue.input)}`)];
    case "invalid_union":
      if (base[base.length - 1] === "mtu") return [at(base, "value", `${field} must be 'auto' or a whole number from 68 to 65535, not ${quote(issue.input)}`)];
      return [at(base, "value", `${field} is not valid: ${issue.message}`)];
    default:
      return [at(base, "invalid", `${field}: ${issue.message}`)];
  }
}

/** Where a key that is unknown here belongs, when it is another section's: its indentation is off. */
function misplaced(key: string, path: PathSegment[]): string | undefined {
  const section = sectionOf(key);
  if (section === undefined || section === path[0] || (section === "host" && path[0] === "hosts")) return undefined;
  if (section === "docker" && path[0] === "hosts" && path.length === 2)
    return `: it belongs in ${describePath([...path, "docker"])}; indent it below a 'docker:' of this host`;
  return section === "host" ? `: it is a host's setting; indent it below its host in hosts` : `: it belongs in ${section}; indent it below '${section}:'`;
}

/** `underlay_ip:10.0.0.1` is text to YAML: a mapping needs a space after the colon. */
function missingSpace(input: unknown): string {
  const match = typeof input === "string" ? /^([A-Za-z0-9_-]+):(\S.*)$/.exec(input) : null;
  return match ? `; YAML needs a space after the ':' (${quote(`${match[1]}: ${match[2]}`)})` : "";
}

/** RFC 1123 has no '_': the same name with '-' is likely what was meant. */
function dashed(name: string): string {
  const candidate = name.replace(/_/g, "-");
  return candidate !== name && HOST_NAME.test(candidate) ? `; did you mean '${candidate}'?` : "";
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
  const best = nearest(word, candidates);
  return best === undefined ? ` (expected one of: ${candidates.join(", ")})` : `; did you mean '${best}'?`;
}

function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** A required key is "missing" because it is misspelt: the misspelling's error alone says so. */
function withoutMisspeltRequired(issues: z.core.$ZodIssue[], prefix: PathSegment[]): z.core.$ZodIssue[] {
  const meant = new Set<string>();
  for (const issue of issues)
    if (issue.code === "unrecognized_keys")
      for (const key of issue.keys) {
        const path = [...prefix, ...(issue.path as PathSegment[])];
        const best = misplaced(key, path) === undefined ? nearest(key, knownKeys(path)) : undefined;
        if (best !== undefined) meant.add(JSON.stringify([...issue.path, best]));
      }
  return issues.filter((issue) => !(issue.code === "invalid_type" && issue.input === undefined && meant.has(JSON.stringify(issue.path))));
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

