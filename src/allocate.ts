/**
 * Allocation (SPEC §1 "Allocation and stability"): every host keeps its explicit or locked bridge
 * address and range; hosts removed from the topology keep theirs, retired, until released; new
 * hosts get the lowest free ones, in file order. The lock is checked, never silently rewritten.
 */
import type { Diagnostic } from "./diagnostics.js";
import { contains, formatAddress, formatCidr, lastAddress, overlaps, within, type Cidr } from "./ipv4.js";
import { adviseRoom, countRoom } from "./capacity.js";
import { assign, type Claim, type Want } from "./assign.js";
import { compareNames, type Lock, type LockEntry } from "./lock.js";
import type { HostSpec, Topology } from "./model.js";
import type { OverlayChange } from "./overlay-change.js";
import { diagnosticAtPath, type TopologySource } from "./source.js";

export interface Allocation {
  bridgeIp: number;
  fixedCidr: Cidr;
}

export interface Allocated {
  hosts: Map<string, Allocation>;
  /** Hosts the lock records but the topology no longer lists, in name order. */
  retired: LockEntry[];
  room: number;
  /** Set when the overlay's subnet or host_prefix changed since the lock's build. */
  change?: OverlayChange;
}

export interface AllocationInputs {
  topology: Topology;
  lock: Lock;
  source: TopologySource;
  /** Host names of the output folder's previous build; undefined when there is none. */
  previousHosts?: string[];
}

export function allocate({ topology, lock, source, previousHosts }: AllocationInputs, diagnostics: Diagnostic[]): Allocated | undefined {
  if (lock.state !== "present" && previousHosts && previousHosts.length > 0) {
    diagnostics.push(lostLock(lock, previousHosts));
    return undefined;
  }
  const { subnet, hostPrefix } = topology.overlay;
  const live = new Map(topology.hosts.map((h) => [h.name, h]));
  const effective = new Map(lock.entries.map((entry) => [entry.name, effectiveValues(entry, live.get(entry.name))]));
  checkEntries(topology, lock, [...effective.values()], diagnostics);
  checkClaims(topology, lock, [...effective.values()], source, diagnostics);
  if (diagnostics.length > 0) return undefined;

  const wants: Want[] = topology.hosts.map((host) => {
    const entry = effective.get(host.name);
    return { name: host.name, bridgeIp: host.bridgeIp ?? entry?.bridgeIp, range: host.fixedCidr, locked: entry?.range };
  });
  // Every value the lock holds stays taken in this build: containers of the last one may use it.
  const held: Claim[] = lock.entries.map((e) => ({ name: e.name, bridgeIp: e.bridgeIp, range: e.fixedCidr }));
  const retired = lock.entries.filter((e) => !live.has(e.name)).sort((a, b) => compareNames(a.name, b.name));
  const result = assign(subnet, hostPrefix, wants, held);
  if ("blocked" in result) {
    for (const { host, from, to, by } of result.blocked)
      diagnostics.push(
        diagnosticAtPath(source, ["overlay", "host_prefix"], "cannot-grow", `host_prefix /${hostPrefix} would grow ${host}'s ${formatCidr(from)} in place to ${formatCidr(to)}, but ${by}; keep host_prefix /${from.prefix}, or set hosts.${host}.fixed_cidr to a free /${hostPrefix} (${host} moves)`),
      );
    return undefined;
  }
  if ("exhausted" in result) {
    const { host, missing, what } = result.exhausted;
    const advice = adviseRoom({ subnet, hostPrefix, wants, held, retired: retired.map((e) => e.name) });
    diagnostics.push(diagnosticAtPath(source, ["hosts", host], "out-of-room", `${formatCidr(subnet)} has no room left for ${host}: ${missing} more ${what} needed${advice}`, "key"));
    return undefined;
  }
  const kept = [...result.hosts.values(), ...retired.map((e) => ({ bridgeIp: e.bridgeIp, fixedCidr: e.fixedCidr }))];
  const room = countRoom(subnet, hostPrefix, kept.map((c) => c.bridgeIp), kept.map((c) => c.fixedCidr));
  // A deployed host without an entry moves: deliberate after `release`, a lost entry after a bad merge.
  const pinned = (name: string) => live.get(name)?.bridgeIp !== undefined && live.get(name)?.fixedCidr !== undefined;
  const unlocked = (previousHosts ?? []).filter((name) => live.has(name) && !effective.has(name) && !pinned(name));
  return { hosts: result.hosts, retired, room, change: overlayChange(lock, topology, { ...result, unlocked }) };
}

/** A lock gone while the output folder shows an earlier build: building would move every host. */
function lostLock(lock: Lock, previousHosts: string[]): Diagnostic {
  const name = fileName(lock.file);
  const listed = previousHosts.slice(0, 5).join(", ") + (previousHosts.length > 5 ? ` and ${previousHosts.length - 5} more` : "");
  return lock.atFile(
    "lock-lost",
    `the lock file is ${lock.state}, but the output folder holds a build of ${listed}: without the lock every host would get new addresses; restore ${name} from version control (git checkout -- ${name}), or build with --reallocate to allocate every host anew`,
  );
}

function overlayChange(lock: Lock, topology: Topology, result: { narrowed: string[]; grown: string[]; unlocked: string[] }): OverlayChange | undefined {
  const { subnet, hostPrefix } = topology.overlay;
  const from = lock.subnet && formatCidr(lock.subnet) !== formatCidr(subnet) ? lock.subnet : undefined;
  if (!from && result.narrowed.length === 0 && result.grown.length === 0 && result.unlocked.length === 0) return undefined;
  return { subnet: from && { from, to: subnet }, hostPrefix, narrowed: result.narrowed, grown: result.grown, unlocked: result.unlocked };
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop()!;
}

/** The lock's values a build keeps using for an entry: an explicit value in the topology wins. */
interface Effective {
  entry: LockEntry;
  host?: HostSpec;
  bridgeIp?: number;
  range?: Cidr;
}

function effectiveValues(entry: LockEntry, host: HostSpec | undefined): Effective {
  return {
    entry,
    host,
    bridgeIp: host?.bridgeIp === undefined ? entry.bridgeIp : undefined,
    range: host?.fixedCidr === undefined ? entry.fixedCidr : undefined,
  };
}


/** The lock's values against the subnet and against each other: a merge or an edit can break both. */
function checkEntries(topology: Topology, lock: Lock, effective: Effective[], diagnostics: Diagnostic[]) {
  const { subnet } = topology.overlay;
  const was = lock.subnet && formatCidr(lock.subnet) !== formatCidr(subnet) ? ` (the lock's subnet was ${formatCidr(lock.subnet)})` : "";
  const anew = (e: LockEntry) => `delete ${e.name}'s entry (${lock.lines(e)}) or run gre-gen release ${e.name}, then build again to allocate it anew`;
  const usable = (a: number) => contains(subnet, a) && a !== subnet.network && a !== lastAddress(subnet);
  for (const e of effective) {
    if (!e.host) continue; // a retired value outside the subnet reserves nothing there
    const { name } = e.entry;
    if (e.bridgeIp !== undefined && !usable(e.bridgeIp))
      diagnostics.push(lock.at(e.entry, "bridge_ip", "lock-outside", `${name}'s bridge address ${formatAddress(e.bridgeIp)} is not a host address of overlay.subnet ${formatCidr(subnet)}${was}; set hosts.${name}.bridge_ip, or ${anew(e.entry)}`));
    if (e.range && !within(e.range, subnet))
      diagnostics.push(lock.at(e.entry, "fixed_cidr", "lock-outside", `${name}'s range ${formatCidr(e.range)} lies outside overlay.subnet ${formatCidr(subnet)}${was}; set hosts.${name}.fixed_cidr, or ${anew(e.entry)}`));
    else if (e.range && !e.entry.retired && lock.hostPrefix !== undefined && e.range.prefix !== lock.hostPrefix)
      diagnostics.push(lock.at(e.entry, "fixed_cidr", "lock-size", `${name}'s range ${formatCidr(e.range)} is not the /${lock.hostPrefix} the lock's host_prefix records; set hosts.${name}.fixed_cidr to keep it, or ${anew(e.entry)}`));
  }
  const label = (e: Effective) => (e.host ? e.entry.name : `retired host ${e.entry.name}`);
  const spans = effective.map(spanOf);
  effective.forEach((later, j) => {
    if (later.bridgeIp !== undefined && later.range && contains(later.range, later.bridgeIp))
      diagnostics.push(lock.at(later.entry, undefined, "lock-conflict", `${label(later)}'s bridge address ${formatAddress(later.bridgeIp)} lies in its own range ${formatCidr(later.range)}; ${anew(later.entry)}`));
    for (let i = 0; i < j; i++) {
      // Most pairs of a large fleet lie apart: told so by a few comparisons, without building a list.
      if (!meet(spans[i]!, spans[j]!)) continue;
      const earlier = effective[i]!;
      const clashes = collisions(earlier, later);
      if (clashes.length === 0) continue;
      const [a, b] = [earlier.entry, later.entry];
      diagnostics.push(
        lock.at(b, undefined, "lock-conflict", `${label(later)} and ${label(earlier)} (${lock.lines(a)}) hold the same addresses: ${clashes.join(" and ")}${later.host && earlier.host ? " (two branches that each added a host?)" : ""}; keep the entry of the host already deployed and delete the other one's (${b.name}: ${lock.lines(b)}, ${a.name}: ${lock.lines(a)}) or run gre-gen release HOST for it, then build again: that host is allocated anew, the other keeps its values`),
      );
    }
  });
}

/** An entry's addresses as plain numbers, for `meet`: its bridge address (-1: none) and its range (empty: none). */
interface Span {
  ip: number;
  low: number;
  high: number;
}

function spanOf(e: Effective): Span {
  return { ip: e.bridgeIp ?? -1, low: e.range ? e.range.network : 1, high: e.range ? lastAddress(e.range) : 0 };
}

/** Whether two entries share an address at all: what `collisions` then spells out. */
function meet(a: Span, b: Span): boolean {
  const holds = (r: Span, ip: number) => ip >= 0 && r.low <= ip && ip <= r.high;
  return (a.ip >= 0 && a.ip === b.ip) || holds(b, a.ip) || holds(a, b.ip) || (a.low <= a.high && b.low <= b.high && a.low <= b.high && b.low <= a.high);
}

function collisions(a: Effective, b: Effective): string[] {
  const found: string[] = [];
  if (a.bridgeIp !== undefined && a.bridgeIp === b.bridgeIp) found.push(`bridge address ${formatAddress(a.bridgeIp)}`);
  if (a.range && b.range && overlaps(a.range, b.range))
    found.push(a.range.network === b.range.network && a.range.prefix === b.range.prefix ? `range ${formatCidr(a.range)}` : `overlapping ranges ${formatCidr(b.range)} and ${formatCidr(a.range)}`);
  for (const [x, y] of [[a, b], [b, a]] as const)
    if (x.bridgeIp !== undefined && y.range && contains(y.range, x.bridgeIp)) found.push(`${x.entry.name}'s bridge address ${formatAddress(x.bridgeIp)} inside ${y.entry.name}'s range ${formatCidr(y.range)}`);
  return found;
}

/** An explicit value that takes another host's locked or retired value is the error, not a silent move. */
function checkClaims(topology: Topology, lock: Lock, effective: Effective[], source: TopologySource, diagnostics: Diagnostic[]) {
  const lockName = fileName(lock.file);
  // Only an explicit value can claim another's: most hosts of a large fleet have none.
  const claimants = topology.hosts.filter((host) => host.bridgeIp !== undefined || host.fixedCidr);
  for (const e of effective) {
    const owner = e.entry.name;
    const whose = e.host ? `${owner}'s` : `retired host ${owner}'s`;
    const advice = (what: string) => (e.host ? `choose another so ${owner} keeps its ${what}` : `choose another, or free it with gre-gen release ${owner} once ${owner}'s containers are gone`);
    for (const claimant of claimants) {
      const report = (field: string, message: string) => diagnostics.push(diagnosticAtPath(source, ["hosts", claimant.name, field], "lock-conflict", message));
      if (claimant.name === owner) {
        // A host's new explicit value must also fit around the locked value it keeps.
        if (e.range && claimant.bridgeIp !== undefined && contains(e.range, claimant.bridgeIp))
          report("bridge_ip", `bridge_ip lies inside ${owner}'s own range ${formatCidr(e.range)} recorded in ${lockName}; choose another, or set fixed_cidr too`);
        if (e.bridgeIp !== undefined && claimant.fixedCidr && contains(claimant.fixedCidr, e.bridgeIp))
          report("fixed_cidr", `fixed_cidr holds ${owner}'s own bridge address ${formatAddress(e.bridgeIp)} recorded in ${lockName}; choose another, or set bridge_ip too`);
        continue;
      }
      if (e.bridgeIp !== undefined) {
        const field = claimant.bridgeIp === e.bridgeIp ? "bridge_ip" : claimant.fixedCidr && contains(claimant.fixedCidr, e.bridgeIp) ? "fixed_cidr" : undefined;
        if (field) report(field, `${field} claims ${formatAddress(e.bridgeIp)}, ${whose} bridge address recorded in ${lockName}; ${advice("address")}`);
      }
      if (e.range) {
        const field = claimant.fixedCidr && overlaps(claimant.fixedCidr, e.range) ? "fixed_cidr" : claimant.bridgeIp !== undefined && contains(e.range, claimant.bridgeIp) ? "bridge_ip" : undefined;
        if (field) report(field, `${field} overlaps ${formatCidr(e.range)}, ${whose} range recorded in ${lockName}; ${advice("range")}`);
      }
    }
  }
}

/** `topology.yml` → `topology.lock`, beside it. */
export function lockFileName(topologyName: string): string {
  return topologyName.replace(/\.(ya?ml)$/i, "") + ".lock";
}
