/**
 * A change of the overlay's subnet or host_prefix touches every host at once: what the impact
 * summary says about it, and the rollout order that keeps every address unique meanwhile.
 */
import type { FleetWarning } from "./impact.js";
import { formatCidr, type Cidr } from "./ipv4.js";

export interface OverlayChange {
  subnet?: { from: Cidr; to: Cidr };
  hostPrefix: number;
  /** Hosts whose locked range shrank to its first /host_prefix block. */
  narrowed: string[];
  /** Hosts whose locked range grew in place into the free block around it. */
  grown: string[];
  /** Hosts the previous build deployed that had no lock entry: they got new addresses. */
  unlocked: string[];
}

/** The fleet-wide warnings of the impact (see impact.ts), none when the overlay did not change. */
export function overlayChangeWarnings(change: OverlayChange | undefined): FleetWarning[] {
  if (!change) return [];
  const warnings: FleetWarning[] = [];
  const list = (hosts: string[]) => (hosts.length > 6 ? `${hosts.slice(0, 6).join(", ")} and ${hosts.length - 6} more` : hosts.join(", "));
  const ranges = (hosts: string[], verb = "shrink") => (hosts.length === 1 ? `the range of ${hosts[0]} ${verb}s` : `the ranges of ${list(hosts)} ${verb}`);
  const them = (hosts: string[]) => (hosts.length === 1 ? "it" : "them");
  if (change.narrowed.length > 0)
    warnings.push({
      change: "host_prefix",
      message: `host_prefix /${change.hostPrefix}: ${ranges(change.narrowed)} inside ${change.narrowed.length === 1 ? "its old block" : "their old blocks"}, so no address changes hands; restart docker on ${them(change.narrowed)} in any order, and finish the rollout before adding hosts (the freed addresses go to new hosts from the next build on)`,
    });
  if (change.grown.length > 0)
    warnings.push({ change: "host_prefix", message: `host_prefix /${change.hostPrefix}: ${ranges(change.grown, "grow")} in place into addresses no host holds; restart docker on ${them(change.grown)} in any order` });
  if (change.unlocked.length > 0)
    warnings.push({
      change: "allocation",
      message: `${list(change.unlocked)} ${change.unlocked.length === 1 ? "was" : "were"} deployed by the previous build but ${change.unlocked.length === 1 ? "has" : "have"} no entry in the lock (a merge may have dropped ${them(change.unlocked)}): ${change.unlocked.length === 1 ? "it gets a new bridge address and range" : "each gets a new bridge address and range"}, and ${change.unlocked.length === 1 ? "its" : "their"} containers move; unless that is meant, restore the entries from version control before deploying`,
    });
  if (change.subnet)
    warnings.push({
      change: "subnet",
      message: `overlay.subnet ${formatCidr(change.subnet.from)} -> ${formatCidr(change.subnet.to)}: every host's bridge takes the new prefix length; roll it out to the hosts already running first and to new hosts last, so every running container keeps reaching every other on the link`,
    });
  return warnings;
}
