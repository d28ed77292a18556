/**
 * Capacity: how many more hosts fit, and, when one does not, a change that makes room on the
 * actual state (pinned, locked and retired values included), found by trying it.
 */
import { assign, type Claim, type Want } from "./assign.js";
import { formatCidr, lastAddress, mask, type Cidr } from "./ipv4.js";

/**
 * How many hosts a next build could add: each takes the lowest free address for its bridge, then a
 * free aligned block; a bridge address inside a free block uses that block up. Counted over the
 * free gaps, so a /8 costs no more than a /24.
 */
export function countRoom(subnet: Cidr, hostPrefix: number, bridges: number[], ranges: Cidr[]): number {
  const gaps = freeGaps(subnet, bridges, ranges);
  const blockSize = 2 ** (32 - hostPrefix);
  const blocksIn = ([start, end]: [number, number], upTo = end) => {
    const first = Math.ceil(start / blockSize) * blockSize;
    const lastStart = Math.min(Math.floor((end + 1) / blockSize) * blockSize - blockSize, upTo);
    return lastStart < first ? 0 : Math.floor((lastStart - first) / blockSize) + 1;
  };
  const blocks = gaps.reduce((sum, gap) => sum + blocksIn(gap), 0);
  const candidates = gaps.map(([start, end]): [number, number] => [Math.max(start, subnet.network + 1), Math.min(end, lastAddress(subnet) - 1)]);
  /** The k-th lowest address free for a bridge, or undefined. */
  const kthFree = (k: number) => {
    for (const [start, end] of candidates) {
      if (end < start) continue;
      if (k <= end - start + 1) return start + k - 1;
      k -= end - start + 1;
    }
    return undefined;
  };
  const fits = (k: number) => {
    if (k === 0) return true;
    const last = kthFree(k);
    if (last === undefined) return false;
    // Every free block starting at or below the last new bridge address holds one of them.
    const used = gaps.reduce((sum, gap) => sum + blocksIn(gap, last), 0);
    return k <= blocks - used;
  };
  let [low, high] = [0, blocks];
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The addresses of the subnet that no bridge address or range takes, as sorted closed intervals. */
function freeGaps(subnet: Cidr, bridges: number[], ranges: Cidr[]): [number, number][] {
  const taken = [...bridges.map((ip): [number, number] => [ip, ip]), ...ranges.map((r): [number, number] => [r.network, lastAddress(r)])].sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let next = subnet.network;
  for (const [start, end] of taken) {
    if (start > next) gaps.push([next, Math.min(start - 1, lastAddress(subnet))]);
    next = Math.max(next, end + 1);
    if (next > lastAddress(subnet)) break;
  }
  if (next <= lastAddress(subnet)) gaps.push([next, lastAddress(subnet)]);
  return gaps.filter(([start, end]) => start <= end);
}

export interface RoomState {
  subnet: Cidr;
  hostPrefix: number;
  wants: Want[];
  held: Claim[];
  /** Names of retired hosts among `held`. */
  retired: string[];
}

/** What the out-of-room error advises: each change listed was tried on this very state and fits. */
export function adviseRoom({ subnet, hostPrefix, wants, held, retired }: RoomState): string {
  const fits = (s: Cidr, p: number, claims = held) => "hosts" in assign(s, p, wants, claims);
  const options: string[] = [];
  const pinned = wants.filter((w) => w.range).map((w) => w.name);
  for (let prefix = hostPrefix + 1; prefix <= 30; prefix++)
    if (fits(subnet, prefix)) {
      options.push(`lengthen overlay.host_prefix to ${prefix}${pinned.length > 0 ? ` (the pinned fixed_cidr of ${pinned.join(", ")} stay${pinned.length === 1 ? "s" : ""} as written)` : ""}`);
      break;
    }
  for (let prefix = subnet.prefix - 1; prefix >= Math.max(1, subnet.prefix - 8); prefix--) {
    const wider = { network: (subnet.network & mask(prefix)) >>> 0, prefix };
    if (fits(wider, hostPrefix)) {
      options.push(`widen overlay.subnet to ${formatCidr(wider)}`);
      break;
    }
  }
  if (retired.length > 0 && fits(subnet, hostPrefix, held.filter((c) => !retired.includes(c.name))))
    options.push(`release the retired ${retired.length === 1 ? "host" : "hosts"} ${retired.join(", ")} with gre-gen release once ${retired.length === 1 ? "its" : "their"} containers are gone`);
  if (options.length === 0) return `; no longer host_prefix or wider subnet makes room: remove a host, or a pinned fixed_cidr`;
  return `; ${options.slice(0, -1).join(", ")}${options.length > 1 ? ", or " : ""}${options[options.length - 1]}`;
}
