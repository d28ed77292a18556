/**
 * Tunnel port names: derived from the peer's host name and the encapsulation alone, so adding a
 * host renames nothing, and a port's name says what it is.
 */
import { createRequire } from "node:module";
import { ENCAPSULATION } from "./encapsulation.js";
import type { Encapsulation } from "./model.js";

/**
 * node:crypto, loaded only for a name that needs a hash: most runs never do, and start-up is felt.
 * process.getBuiltinModule is Node.js 20.16's; before it, a require made for the occasion.
 */
function crypto(): typeof import("node:crypto") {
  return typeof process.getBuiltinModule === "function" ? process.getBuiltinModule("node:crypto") : (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto"));
}

const MAX_NAME = 15;

/**
 * `gre-<host>` (`vxlan-<host>`, `geneve-<host>`) when that is a valid interface name; otherwise
 * a short prefix, a readable stem of the host name and a hash of all of it (`g-docker-1a2b3c`,
 * `vx-…`, `gnv-…`), which cannot collide with a long-prefix name.
 */
export function derivePortName(host: string, encapsulation: Encapsulation): string {
  const { portPrefix, shortPrefix } = ENCAPSULATION[encapsulation];
  const plain = `${portPrefix}${host}`;
  if (plain.length <= MAX_NAME && /^[A-Za-z0-9_-]+$/.test(host)) return plain;
  const stem = host.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, MAX_NAME - shortPrefix.length - 8).replace(/-+$/, "");
  const hash = crypto().createHash("sha256").update(host).digest("hex").slice(0, 6);
  return `${shortPrefix}-${stem}-${hash}`;
}

/**
 * Names the kernel or Open vSwitch keeps for itself (SPEC §1), and the words bridge-utils reads
 * in `bridge_ports` as keywords rather than a port (`none`, `all`, `regex`, `noregex`).
 */
export const RESERVED_INTERFACE_NAMES = new Set([
  "lo", "all", "default", "gre0", "gretap0", "erspan0", "tunl0", "sit0", "ovs-system", "gre_sys", "vxlan_sys_4789", "genev_sys_6081", "docker0",
  "bonding_masters", "none", "regex", "noregex",
]);
