/**
 * A lock exactly as gre-gen writes it (templates/lock.hbs), read line by line. A fleet's lock is
 * long, and the YAML parser, run once per command, costs more there than the build itself. Only
 * text whose every line is one the template writes is read here, so it means exactly what the
 * YAML parser would read from it; anything else (a hand edit, a merge, damage) is left to the
 * parser, which places every error.
 */
import { parseAddress, parseCidr, type Cidr } from "./ipv4.js";
import { IPV4, IPV4_CIDR } from "./schema.js";

export interface LockLines {
  subnet?: Cidr;
  hostPrefix?: number;
  /** Live entries, then retired ones, each in file order. */
  entries: { name: string; bridgeIp: number; fixedCidr: Cidr; retired: boolean }[];
}

/** Names YAML reads as these very strings: a lowercase letter first, so never a number, and none of its words. */
const PLAIN_NAME = /^[a-z][a-z0-9.-]*$/;
const YAML_WORDS = new Set(["true", "false", "null"]);

/** The lock's content when it is exactly as gre-gen writes it, else undefined. */
export function readLockLines(text: string): LockLines | undefined {
  if (!/^[\x20-\x7e\n]*\n$/.test(text)) return undefined;
  // Whole-line comments are nothing to YAML, wherever they stand.
  const lines = text.slice(0, -1).split("\n").filter((line) => !line.startsWith("#"));
  let at = 0;
  const value = (key: string, pattern: RegExp) => {
    const line = lines[at];
    if (!line?.startsWith(`${key}: `) || !pattern.test(line.slice(key.length + 2))) return undefined;
    at++;
    return line.slice(key.length + 2);
  };
  if (value("version", /^1$/) === undefined) return undefined;
  const subnetText = value("subnet", IPV4_CIDR);
  const prefixText = value("host_prefix", /^(?:0|[1-9][0-9]?)$/);
  const lock: LockLines = { hostPrefix: prefixText === undefined ? undefined : Number(prefixText), entries: [] };
  if (subnetText !== undefined) {
    const subnet = parseCidr(subnetText)!;
    if (!subnet.aligned) return undefined;
    lock.subnet = subnet.cidr;
  }
  const names = new Set<string>();
  for (const [section, retired] of [["hosts", false], ["retired", true]] as const) {
    if (lines[at] !== `${section}:`) {
      if (retired) break;
      return undefined;
    }
    at++;
    const first = lock.entries.length;
    while (lines[at]?.startsWith("  ") && lines[at]!.endsWith(":")) {
      const name = lines[at]!.slice(2, -1);
      if (!PLAIN_NAME.test(name) || YAML_WORDS.has(name) || names.has(name)) return undefined;
      names.add(name);
      at++;
      const bridgeIp = value("    bridge_ip", IPV4);
      const range = value("    fixed_cidr", IPV4_CIDR);
      if (bridgeIp === undefined || range === undefined) return undefined;
      const fixedCidr = parseCidr(range)!;
      if (!fixedCidr.aligned) return undefined;
      lock.entries.push({ name, bridgeIp: parseAddress(bridgeIp)!, fixedCidr: fixedCidr.cidr, retired });
    }
    // An empty section is null to YAML: the parser says what that means.
    if (lock.entries.length === first) return undefined;
  }
  return at === lines.length ? lock : undefined;
}
