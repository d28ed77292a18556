/** The lock file: the allocations of the last build, read back so they never move (SPEC §1). */
import * as z from "zod/mini";
import type { Lock } from "./allocate.js";
import type { Diagnostic } from "./diagnostics.js";
import { parseAddress, parseCidr } from "./ipv4.js";
import type { Plan } from "./model.js";
import { IPV4, IPV4_CIDR } from "./schema.js";
import { diagnosticAtPath, parseSource, toData } from "./source.js";

const lockSchema = z.strictObject({
  version: z.literal(1),
  hosts: z.record(z.string(), z.strictObject({ bridge_ip: z.string().check(z.regex(IPV4)), fixed_cidr: z.string().check(z.regex(IPV4_CIDR)) })),
});

/** Reads a lock file's text; a damaged lock is an error at its place, never silently ignored. */
export function parseLock(file: string, bytes: Uint8Array): Lock | Diagnostic[] {
  const source = parseSource(file, bytes);
  if (Array.isArray(source)) return source;
  const parsed = toData(source);
  if ("diagnostics" in parsed) return parsed.diagnostics;
  const data = parsed.data;
  if (data === null || data === undefined) return new Map();
  const result = lockSchema.safeParse(data);
  if (!result.success)
    return result.error.issues.map((issue) =>
      // An unknown key is shown at the key itself, not at the mapping that holds it.
      issue.code === "unrecognized_keys"
        ? diagnosticAtPath(source, [...(issue.path as (string | number)[]), issue.keys[0]!], "lock", damaged(issue), "key")
        : diagnosticAtPath(source, issue.path as (string | number)[], "lock", damaged(issue)),
    );
  return new Map(
    Object.entries(result.data.hosts).map(([name, entry]) => {
      const range = parseCidr(entry.fixed_cidr)!;
      return [name, { bridgeIp: parseAddress(entry.bridge_ip), fixedCidr: range.aligned ? range.cidr : undefined }];
    }),
  );
}

function damaged(issue: z.core.$ZodIssue): string {
  return `damaged lock file: ${lockProblem(issue)}; restore it from version control, or delete it to allocate anew`;
}

function lockProblem(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key '${issue.keys[0]}'`;
  if (issue.code === "invalid_format") return "not an address";
  if (issue.path.length > 0 && issue.code === "invalid_type") return `${String(issue.path[issue.path.length - 1])} must be ${issue.expected === "object" ? "a mapping" : issue.expected}`;
  return "not a gre-gen lock";
}

/** The lock's content for a plan: what the template writes. */
export function lockEntries(plan: Plan): { name: string; bridgeIp: string; fixedCidr: string }[] {
  return [...plan.hosts].sort((a, b) => compareNames(a.name, b.name)).map(({ name, bridgeIp, fixedCidr }) => ({ name, bridgeIp, fixedCidr }));
}

/** Byte order, not locale order: the same on every machine. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
