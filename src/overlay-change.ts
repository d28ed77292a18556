/**
 * A change of the overlay's subnet or host_prefix touches every host at once: what the impact
 * summary says about it, and the rollout order that keeps every address unique meanwhile.
 */
import { formatCidr, type Cidr } from "./ipv4.js";

export interface OverlayChange {
  subnet?: { from: Cidr; to: Cidr };
  hostPrefix: number;
  /** Hosts whose locked range shrank to its first /host_prefix block. */
  narrowed: string[];
  /** Hosts whose locked range grew in place into the free block around it. */
  grown: string[];
}

/** The impact summary's fleet-wide note, or "" when the overlay did not change. */
export function describeOverlayChange(change: OverlayChange | undefined): string {
  if (!change) return "";
  const lines: string[] = [];
  const list = (hosts: string[]) => (hosts.length > 6 ? `${hosts.slice(0, 6).join(", ")} and ${hosts.length - 6} more` : hosts.join(", "));
  const ranges = (hosts: string[], verb = "shrink") => (hosts.length === 1 ? `the range of ${hosts[0]} ${verb}s` : `the ranges of ${list(hosts)} ${verb}`);
  const them = (hosts: string[]) => (hosts.length === 1 ? "it" : "them");
  if (change.narrowed.length > 0)
    lines.push(
      `  host_prefix /${change.hostPrefix}: ${ranges(change.narrowed)} inside ${change.narrowed.length === 1 ? "its old block" : "their old blocks"}, so no address changes hands; restart docker on ${them(change.narrowed)} in any order, and finish the rollout before adding hosts (the freed addresses go to new hosts from the next build on)`,
    );
  if (change.grown.length > 0)
    lines.push(`  host_prefix /${change.hostPrefix}: ${ranges(change.grown, "grow")} in place into addresses no host holds; restart docker on ${them(change.grown)} in any order`);
  if (change.subnet)
    lines.push(
      `  overlay.subnet ${formatCidr(change.subnet.from)} -> ${formatCidr(change.subnet.to)}: every host's bridge takes the new prefix length; roll it out to the hosts already running first and to new hosts last, so every running container keeps reaching every other on the link`,
    );
  return `Fleet-wide change (every host, in this order):\n${lines.join("\n")}\n`;
}
