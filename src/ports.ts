/** GRE port names: derived from the peer's host name alone, so adding a host renames nothing. */
import { createRequire } from "node:module";

// node:crypto is loaded only for a name that needs a hash: most runs never do, and start-up is felt.
const requireBuiltin = createRequire(import.meta.url);

const MAX_NAME = 15;

/**
 * `gre-<host>` when that is a valid interface name; otherwise a readable stem of the host name
 * plus a hash of all of it (`g-docker-1a2b3c`), which cannot collide with a `gre-` name.
 */
export function derivePortName(host: string): string {
  const plain = `gre-${host}`;
  if (plain.length <= MAX_NAME && /^[A-Za-z0-9_-]+$/.test(host)) return plain;
  const stem = host.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 6).replace(/-+$/, "");
  const { createHash } = requireBuiltin("node:crypto") as typeof import("node:crypto");
  const hash = createHash("sha256").update(host).digest("hex").slice(0, 6);
  return `g-${stem}-${hash}`;
}

/**
 * Names the kernel or Open vSwitch keeps for itself (SPEC §1), and the words bridge-utils reads
 * in `bridge_ports` as keywords rather than a port (`none`, `all`, `regex`, `noregex`).
 */
export const RESERVED_INTERFACE_NAMES = new Set([
  "lo", "all", "default", "gre0", "gretap0", "erspan0", "tunl0", "sit0", "ovs-system", "gre_sys", "docker0", "bonding_masters", "none", "regex", "noregex",
]);
