/**
 * The arithmetic of allocation, on numbers only (no files, no messages), so capacity advice can
 * try another subnet or host_prefix with the very rules a build uses. Locked ranges are resized
 * in place when host_prefix changes; every value the lock held stays taken for this build, so no
 * new value lands where containers of the previous build may still run.
 */
import { contains, formatAddress, formatCidr, lastAddress, mask, overlaps, within, type Cidr } from "./ipv4.js";

/** A live host: its explicit or locked bridge address, its explicit range, its locked range. */
export interface Want {
  name: string;
  bridgeIp?: number;
  range?: Cidr;
  locked?: Cidr;
}

/** A value the lock holds (a live or a retired host's). */
export interface Claim {
  name: string;
  bridgeIp: number;
  range: Cidr;
}

export interface Blocked {
  host: string;
  from: Cidr;
  to: Cidr;
  /** What is in the way, in words. */
  by: string;
}

export type Assignment =
  | { hosts: Map<string, { bridgeIp: number; fixedCidr: Cidr }>; narrowed: string[]; grown: string[] }
  | { blocked: Blocked[] }
  | { exhausted: { host: string; missing: number; what: string } };

export function assign(subnet: Cidr, hostPrefix: number, wants: Want[], held: Claim[]): Assignment {
  const ranges = new Map<string, Cidr>();
  const narrowed: string[] = [];
  const grown: string[] = [];
  const blocked: Blocked[] = [];
  for (const want of wants) if (want.range) ranges.set(want.name, want.range);
  for (const { name, range, locked } of wants) {
    if (range || !locked) continue;
    if (locked.prefix === hostPrefix) ranges.set(name, locked);
    else if (locked.prefix < hostPrefix) {
      // Same start, longer prefix: the new range lies inside the old one, which no one else held.
      ranges.set(name, { network: locked.network, prefix: hostPrefix });
      narrowed.push(name);
    } else {
      const to = { network: (locked.network & mask(hostPrefix)) >>> 0, prefix: hostPrefix };
      const by = inTheWay(name, to, subnet, wants, held);
      if (by) blocked.push({ host: name, from: locked, to, by });
      else {
        ranges.set(name, to);
        grown.push(name);
      }
    }
  }
  if (blocked.length > 0) return { blocked };

  const takenBridges = new Set([...held.map((c) => c.bridgeIp), ...wants.flatMap((w) => (w.bridgeIp === undefined ? [] : [w.bridgeIp]))]);
  const takenRanges = [...ranges.values(), ...held.map((c) => c.range)];
  const bridges = new Map<string, number>();
  const needBridge = wants.filter((w) => w.bridgeIp === undefined);
  let candidate = subnet.network + 1;
  for (const [index, want] of needBridge.entries()) {
    for (;;) {
      if (candidate >= lastAddress(subnet)) return { exhausted: { host: want.name, missing: needBridge.length - index, what: needBridge.length - index === 1 ? "bridge address" : "bridge addresses" } };
      const range = takenRanges.find((r) => contains(r, candidate));
      if (range) candidate = lastAddress(range) + 1;
      else if (takenBridges.has(candidate)) candidate++;
      else break;
    }
    takenBridges.add(candidate);
    bridges.set(want.name, candidate);
  }

  const blockSize = 2 ** (32 - hostPrefix);
  const needRange = wants.filter((w) => !ranges.has(w.name));
  let block = subnet.network;
  for (const [index, want] of needRange.entries()) {
    let cidr: Cidr;
    for (;;) {
      if (block > lastAddress(subnet)) return { exhausted: { host: want.name, missing: needRange.length - index, what: `/${hostPrefix} ${needRange.length - index === 1 ? "range" : "ranges"}` } };
      cidr = { network: block, prefix: hostPrefix };
      const range = takenRanges.find((r) => overlaps(r, cidr));
      if (range) block = Math.max(block + blockSize, Math.ceil((lastAddress(range) + 1) / blockSize) * blockSize);
      else if ([...takenBridges].some((ip) => contains(cidr, ip))) block += blockSize;
      else break;
    }
    ranges.set(want.name, cidr);
    takenRanges.push(cidr);
    block += blockSize;
  }
  const hosts = new Map(wants.map((w) => [w.name, { bridgeIp: w.bridgeIp ?? bridges.get(w.name)!, fixedCidr: ranges.get(w.name)! }]));
  return { hosts, narrowed, grown };
}

/** Why a locked range cannot grow to `to` in place, or undefined when the larger block is free. */
function inTheWay(name: string, to: Cidr, subnet: Cidr, wants: Want[], held: Claim[]): string | undefined {
  if (!within(to, subnet)) return `${formatCidr(to)} reaches outside overlay.subnet ${formatCidr(subnet)}`;
  for (const want of wants) {
    if (want.range && want.name !== name && overlaps(want.range, to)) return `${want.name}'s range ${formatCidr(want.range)} is in the way`;
    if (want.bridgeIp !== undefined && contains(to, want.bridgeIp))
      return want.name === name ? `its own bridge address ${formatAddress(want.bridgeIp)} is in the way` : `${want.name}'s bridge address ${formatAddress(want.bridgeIp)} is in the way`;
  }
  for (const claim of held) {
    if (claim.name === name) continue;
    if (overlaps(claim.range, to)) return `${claim.name}'s range ${formatCidr(claim.range)} is in the way`;
    if (contains(to, claim.bridgeIp)) return `${claim.name}'s bridge address ${formatAddress(claim.bridgeIp)} is in the way`;
  }
  return undefined;
}
