/**
 * Allocation (SPEC §1 "Allocation and stability"): every host keeps its explicit or locked
 * bridge address and range; new hosts get the lowest free ones, in file order.
 */
import type { Diagnostic } from "./diagnostics.js";
import { contains, formatAddress, formatCidr, lastAddress, overlaps, size, within, type Cidr } from "./ipv4.js";
import type { HostSpec, Topology } from "./model.js";
import { diagnosticAtPath, type TopologySource } from "./source.js";

export interface Allocation {
  bridgeIp: number;
  fixedCidr: Cidr;
}

/** What the lock file recorded, by host name. */
export type Lock = Map<string, Partial<Allocation>>;

export function allocate(topology: Topology, lock: Lock, source: TopologySource, diagnostics: Diagnostic[]): Map<string, Allocation> | undefined {
  const { subnet, hostPrefix } = topology.overlay;
  const bridgeIps = new Map<number, HostSpec>();
  const ranges = new Map<HostSpec, Cidr>();
  const fail = (host: HostSpec, field: string, message: string) =>
    diagnostics.push(diagnosticAtPath(source, ["hosts", host.name, field], "lock-conflict", message));
  const lockName = lockFileName(topology.sourceName);

  for (const host of topology.hosts) {
    if (host.bridgeIp !== undefined) bridgeIps.set(host.bridgeIp, host);
    if (host.fixedCidr) ranges.set(host, host.fixedCidr);
  }
  const explicitOwner = (test: (host: HostSpec) => boolean) => topology.hosts.find(test);
  const usableAddress = (a: number) => contains(subnet, a) && a !== subnet.network && a !== lastAddress(subnet);

  // Locked values come back unless an explicit value now claims them: then the explicit one is the error.
  for (const host of topology.hosts) {
    const locked = lock.get(host.name)?.bridgeIp;
    if (host.bridgeIp !== undefined || locked === undefined || !usableAddress(locked)) continue;
    const claimant = explicitOwner((h) => h !== host && (h.bridgeIp === locked || (h.fixedCidr !== undefined && contains(h.fixedCidr, locked))));
    if (claimant) {
      const field = claimant.bridgeIp === locked ? "bridge_ip" : "fixed_cidr";
      fail(claimant, field, `${field} claims ${formatAddress(locked)}, ${host.name}'s bridge address recorded in ${lockName}; choose another so ${host.name} keeps its address`);
    } else if (!bridgeIps.has(locked) && ![...ranges.values()].some((r) => contains(r, locked))) bridgeIps.set(locked, host);
  }
  for (const host of topology.hosts) {
    const locked = lock.get(host.name)?.fixedCidr;
    if (host.fixedCidr || !locked || locked.prefix !== hostPrefix || !within(locked, subnet)) continue;
    const claimant = explicitOwner((h) => h !== host && ((h.fixedCidr !== undefined && overlaps(h.fixedCidr, locked)) || (h.bridgeIp !== undefined && contains(locked, h.bridgeIp))));
    if (claimant) {
      const field = claimant.fixedCidr && overlaps(claimant.fixedCidr, locked) ? "fixed_cidr" : "bridge_ip";
      fail(claimant, field, `${field} overlaps ${formatCidr(locked)}, ${host.name}'s range recorded in ${lockName}; choose another so ${host.name} keeps its range`);
    } else if (isFree(locked, bridgeIps, ranges)) ranges.set(host, locked);
  }
  if (diagnostics.length > 0) return undefined;

  const owners = new Map([...bridgeIps].map(([ip, host]) => [host, ip]));
  const needAddress = topology.hosts.filter((h) => !owners.has(h));
  let candidate = subnet.network + 1;
  for (const [index, host] of needAddress.entries()) {
    while (candidate < lastAddress(subnet) && (bridgeIps.has(candidate) || [...ranges.values()].some((r) => contains(r, candidate)))) candidate++;
    if (candidate >= lastAddress(subnet)) return exhausted(source, host, needAddress.length - index, "bridge addresses", formatCidr(subnet), diagnostics);
    bridgeIps.set(candidate, host);
    owners.set(host, candidate);
  }

  const needRange = topology.hosts.filter((h) => !ranges.has(h));
  const block: Cidr = { network: subnet.network, prefix: hostPrefix };
  for (const [index, host] of needRange.entries()) {
    while (block.network < lastAddress(subnet) && !isFree(block, bridgeIps, ranges)) block.network += size(block);
    if (block.network >= lastAddress(subnet)) return exhausted(source, host, needRange.length - index, `/${hostPrefix} ranges`, formatCidr(subnet), diagnostics);
    ranges.set(host, { ...block });
  }
  return new Map(topology.hosts.map((h) => [h.name, { bridgeIp: owners.get(h)!, fixedCidr: ranges.get(h)! }]));
}

function isFree(range: Cidr, bridgeIps: Map<number, HostSpec>, ranges: Map<HostSpec, Cidr>): boolean {
  for (const ip of bridgeIps.keys()) if (contains(range, ip)) return false;
  for (const other of ranges.values()) if (overlaps(range, other)) return false;
  return true;
}

function exhausted(source: TopologySource, host: HostSpec, missing: number, what: string, subnet: string, diagnostics: Diagnostic[]): undefined {
  diagnostics.push(
    diagnosticAtPath(source, ["hosts", host.name], "out-of-room", `${subnet} has no room left for ${host.name}: ${missing} more ${what} needed; widen overlay.subnet or lengthen overlay.host_prefix`, "key"),
  );
  return undefined;
}

/** `topology.yml` → `topology.lock`, beside it. */
export function lockFileName(topologyName: string): string {
  return topologyName.replace(/\.(ya?ml)$/i, "") + ".lock";
}
