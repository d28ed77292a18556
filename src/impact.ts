/**
 * The operator's view of a change: per host, in rollout order, the exact steps that bring the host
 * from what the previous build deployed to what this one produces (files to install or remove,
 * commands to run), and the fleet-wide warnings. `check --json` and `diff --json` print it as is;
 * the text summary is rendered from the same data.
 */
import type { Change } from "./emit.js";
import { overlaps, parseCidr, type Cidr } from "./ipv4.js";
import type { Plan } from "./model.js";
import { MANIFEST_NAME, overlaySettings, type OverlaySettings } from "./render.js";
import { loadTemplate } from "./templates.js";

export type Step = { install: string } | { remove: string } | { run: string };

export interface HostImpact {
  host: string;
  status: "new" | "changed" | "gone";
  steps: Step[];
}

/** A change that cuts traffic between hosts until all of them are done. */
export interface FleetWarning {
  /** The topology key that changed. */
  change: string;
  message: string;
}

export interface Impact {
  format: 1;
  changed: boolean;
  hosts: HostImpact[];
  warnings: FleetWarning[];
}

const SCRIPT = "/usr/local/sbin/gre-gen-ovs-setup";
const DROP_IN = "/etc/systemd/system/docker.service.d/gre-gen.conf";
const STANZAS = "/etc/network/interfaces.d/";
/** Gone hosts first (their addresses are free before anyone may take them), then changed, then new. */
const ROLLOUT = { gone: 0, changed: 1, new: 2 } as const;

/** The changed files whose content the steps read: the manifest (the settings hosts come from), the stanzas (the bridge's address) and the drop-ins (the container range). */
export function readsContent(path: string): boolean {
  return path === MANIFEST_NAME || path.includes(STANZAS) || path.endsWith(DROP_IN);
}

/** What a changed file holds now (compareOutputs reads it only when it must). */
export type ReadBefore = (change: Change) => string;

/** The impact of `changes` (from compareOutputs) on the hosts, given the plan they lead to. */
export function assessImpact(changes: Change[], plan: Plan, readBefore: ReadBefore): Impact {
  const current = overlaySettings(plan);
  const previous = previousSettings(changes, readBefore) ?? current;
  const byHost = new Map<string, HostChanges>();
  for (const change of changes) {
    if (change.path === MANIFEST_NAME) continue;
    const slash = change.path.indexOf("/");
    const host = change.path.slice(0, slash);
    const entry = byHost.get(host) ?? { installed: [], removed: [], contents: new Map() };
    const path = change.path.slice(slash);
    (change.kind === "extra" ? entry.removed : entry.installed).push(path);
    entry.contents.set(path, change);
    byHost.set(host, entry);
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const impacts = [...byHost].map(([host, entry]) => hostImpact(host, entry, previous, current, readBefore));
  const changed = impacts.filter((h) => h.status === "changed").map((h) => h.host).sort(byName);
  const handover = handoverOrder(changed, new Map(changed.map((host) => [host, holdings(byHost.get(host)!, readBefore)])));
  const rank = new Map(handover.order.map((host, index) => [host, index]));
  const hosts = impacts.sort((a, b) => ROLLOUT[a.status] - ROLLOUT[b.status] || (rank.get(a.host) ?? 0) - (rank.get(b.host) ?? 0) || byName(a.host, b.host));
  const warnings = [...renameWarnings(impacts, byHost, plan, readBefore), ...handoverWarnings(handover), ...fleetWarnings(previous, current, handover.order)];
  return { format: 1, changed: changes.length > 0, hosts, warnings };
}

/**
 * A new host on an underlay address another host gives up (it leaves, or moves to another address)
 * is most likely that host's machine under a new name. gre-gen keys hosts by name, so it says so
 * rather than assume it: the new name gets a new bridge address and range, and the steps must run
 * in the order the machines need.
 */
function renameWarnings(impacts: HostImpact[], byHost: Map<string, HostChanges>, plan: Plan, readBefore: ReadBefore): FleetWarning[] {
  const underlay = new Map(plan.hosts.map((host) => [host.name, host.underlayIp]));
  const givenUp = new Map<string, { host: string; movedTo?: string }>();
  for (const { host, status } of impacts) {
    const script = status === "new" ? undefined : byHost.get(host)!.contents.get(SCRIPT);
    const before = script && script.kind !== "missing" ? /^local_ip=(\S+)$/m.exec(readBefore(script))?.[1] : undefined;
    if (before !== undefined && before !== underlay.get(host)) givenUp.set(before, { host, movedTo: underlay.get(host) });
  }
  return impacts.flatMap(({ host, status }) => {
    const address = underlay.get(host)!;
    const old = status === "new" ? givenUp.get(address) : undefined;
    if (!old) return [];
    const message =
      old.movedTo === undefined
        ? `${host} joins on the underlay address ${old.host} leaves (${address}): if it is ${old.host} renamed, run ${old.host}'s steps on that machine before ${host}'s; ` +
          `it gets a new bridge address and range (${old.host}'s stay reserved until \`gre-gen release ${old.host}\`)`
        : `${host} joins on ${address}, the underlay address ${old.host} had before it moved to ${old.movedTo}: gre-gen takes ${old.host} for the same machine at a new address ` +
          `(it keeps its bridge address and range, with a changed host's steps) and ${host} for a new machine; if ${host} is the machine that was ${old.host}, run ${host}'s steps there first, ` +
          `then set ${old.host}'s machine up as a new host (install all its files, run the script, ifup the bridge, restart Docker)`;
    return [{ change: "hosts", message }];
  });
}

/** What a host's deployed files and new files give it: its bridge address and container range, where they change. */
interface Holdings {
  before: { address?: string; range?: Cidr };
  after: { address?: string; range?: Cidr };
}

function holdings({ contents }: HostChanges, readBefore: ReadBefore): Holdings {
  const held: Holdings = { before: {}, after: {} };
  const read = (path: string, side: "before" | "after", text: () => string) => {
    if (path.startsWith(STANZAS)) held[side].address = /^\s*address (\S+)\/\d+$/m.exec(text())?.[1];
    else if (path === DROP_IN) {
      const cidr = / --fixed-cidr=(\S+)/.exec(text())?.[1];
      held[side].range = cidr === undefined ? undefined : parseCidr(cidr)?.cidr;
    }
  };
  for (const [path, change] of contents) {
    if (change.kind !== "missing") read(path, "before", () => readBefore(change));
    if (change.kind !== "extra") read(path, "after", () => change.after ?? "");
  }
  return held;
}

/**
 * Where a changed host takes an address or range another changed host gives up, the giver goes
 * first, so no two hosts ever hold one address. Hosts that take from each other in a cycle (a
 * swap) have no such order.
 */
function handoverOrder(hosts: string[], held: Map<string, Holdings>): { order: string[]; moves: [string, string][]; cycle: string[] } {
  const takesFrom = (taker: string, giver: string) => {
    const { after } = held.get(taker)!;
    const { before } = held.get(giver)!;
    return (after.address !== undefined && after.address === before.address) || (after.range !== undefined && before.range !== undefined && overlaps(after.range, before.range));
  };
  const moves: [string, string][] = hosts.flatMap((taker) => hosts.filter((giver) => giver !== taker && takesFrom(taker, giver)).map((giver): [string, string] => [giver, taker]));
  const order: string[] = [];
  const left = new Set(hosts);
  while (left.size > 0) {
    const next = [...left].find((host) => !moves.some(([giver, taker]) => taker === host && left.has(giver)));
    if (next === undefined) break;
    order.push(next);
    left.delete(next);
  }
  return { order: [...order, ...left], moves, cycle: [...left] };
}

function handoverWarnings({ moves, cycle }: ReturnType<typeof handoverOrder>): FleetWarning[] {
  if (moves.length === 0) return [];
  const said = moves.map(([giver, taker]) => `${taker} takes what ${giver} gives up`).join(", ");
  if (cycle.length > 0)
    return [{ change: "allocation", message: `addresses change hands in a cycle (${said}): no rollout order keeps them unique; stop docker on ${cycle.join(", ")} first, then run their steps` }];
  return [{ change: "allocation", message: `addresses change hands (${said}): the hosts are listed so that each gives an address up before another takes it; keep that order` }];
}

interface HostChanges {
  installed: string[];
  removed: string[];
  contents: Map<string, Change>;
}

function hostImpact(host: string, { installed, removed, contents }: HostChanges, previous: OverlaySettings, current: OverlaySettings, readBefore: ReadBefore): HostImpact {
  const run = (command: string): Step => ({ run: command });
  const oldBridges = removed.filter((p) => p.startsWith(STANZAS)).map((p) => p.slice(STANZAS.length));
  if (installed.length === 0) {
    // Docker stops before its bridge goes and starts again on its own defaults once the drop-in is gone.
    return {
      host,
      status: "gone",
      steps: [
        run("systemctl stop docker"),
        ...oldBridges.map((bridge) => run(`ifdown ${bridge}`)),
        run(`ovs-vsctl --if-exists del-br ${previous.ovs_bridge}`),
        ...removed.map((path) => ({ remove: path })),
        run("systemctl daemon-reload"),
        run("systemctl start docker"),
      ],
    };
  }
  const isNew = removed.length === 0 && [...contents.values()].every((c) => c.kind === "missing");
  const newBridge = installed.find((p) => p.startsWith(STANZAS))?.slice(STANZAS.length);
  // A new host's bridge, or a renamed one, must be brought up by ifupdown, with Docker stopped around it.
  const bridgeComesUp = isNew || oldBridges.length > 0;
  const dropInChanged = contents.has(DROP_IN);
  // Docker reads its bridge's address once, at start; a drop-in change needs a restart too.
  const restartDocker = dropInChanged || addressChanged(contents, newBridge, readBefore);
  const steps: Step[] = [];
  // A bridge that goes is taken down while its stanza is still there to say how.
  if (oldBridges.length > 0) steps.push(run("systemctl stop docker"), ...oldBridges.map((bridge) => run(`ifdown ${bridge}`)));
  steps.push(...removed.map((path) => ({ remove: path })), ...installed.map((path) => ({ install: path })));
  // A new overlay name: the script leaves the old name's OVS bridge alone, as another overlay's, so
  // it goes first (its tunnels with it) and the script builds it again under the new name.
  if (!isNew && previous.name !== undefined && previous.name !== current.name) steps.push(run(`ovs-vsctl --if-exists del-br ${previous.ovs_bridge}`));
  if (contents.has(SCRIPT)) steps.push(run(SCRIPT));
  if (bridgeComesUp && newBridge) steps.push(run(`ifup ${newBridge}`));
  if (dropInChanged) steps.push(run("systemctl daemon-reload"));
  if (oldBridges.length > 0) steps.push(run("systemctl start docker"));
  else if (restartDocker) steps.push(run("systemctl restart docker"));
  return { host, status: isNew ? "new" : "changed", steps };
}

/** True when the stanza's address line differs between the deployed file and the new one. */
function addressChanged(contents: Map<string, Change>, bridge: string | undefined, readBefore: ReadBefore): boolean {
  const change = bridge === undefined ? undefined : contents.get(STANZAS + bridge);
  if (!change || change.kind !== "stale") return false;
  const address = (text: string) => /^\s*address (\S+)$/m.exec(text)?.[1];
  return address(readBefore(change)) !== address(change.after ?? "");
}

/** The settings the deployed build recorded in its manifest; undefined when there was none. */
function previousSettings(changes: Change[], readBefore: ReadBefore): OverlaySettings | undefined {
  const manifest = changes.find((c) => c.path === MANIFEST_NAME && c.kind === "stale");
  const line = manifest && /^# settings (\{.*\})$/m.exec(readBefore(manifest))?.[1];
  if (!line) return undefined;
  try {
    return JSON.parse(line) as OverlaySettings;
  } catch {
    return undefined;
  }
}

/**
 * Changes every host must make before tunnels between them carry traffic again. Warnings from
 * other overlay-wide changes belong in this list.
 */
function fleetWarnings(previous: OverlaySettings, current: OverlaySettings, staying: string[]): FleetWarning[] {
  if (staying.length < 2) return [];
  const order = staying.join(", ");
  const warnings: FleetWarning[] = [];
  // Manifests written before the encapsulation was recorded were GRE's, with the key as gre_key.
  const encapsulation = previous.encapsulation ?? "gre";
  const key = previous.key !== undefined ? previous.key : ((previous as { gre_key?: number | null }).gre_key ?? null);
  if (encapsulation !== current.encapsulation)
    warnings.push({
      change: "encapsulation",
      message: `the encapsulation changes from ${encapsulation} to ${current.encapsulation}: tunnels between a host that has run its steps and one that has not carry nothing until every host is done; open the underlay for the new one first, then roll out ${order} back to back, without pausing between hosts`,
    });
  else if (key !== current.key)
    warnings.push({
      change: "key",
      message: `the ${current.encapsulation === "gre" ? "GRE key" : "VNI"} changes from ${key ?? "none"} to ${current.key ?? "none"}: tunnels between a host that has run its steps and one that has not carry nothing until every host is done; roll out ${order} back to back, without pausing between hosts`,
    });
  if (previous.mtu !== current.mtu)
    warnings.push({
      change: "mtu",
      message: `the MTU changes from ${previous.mtu} to ${current.mtu}: between a host that has run its steps and one that has not, packets larger than ${Math.min(previous.mtu, current.mtu)} bytes are lost until every host is done; roll out ${order} back to back, without pausing between hosts`,
    });
  return warnings;
}

/** The text summary `build`, `check` and `diff` end with. */
export function formatImpact(impact: Impact): string {
  if (impact.hosts.length === 0 && impact.warnings.length === 0) return "";
  const hosts = impact.hosts.map(({ host, status, steps }) => ({
    host,
    status,
    steps: steps.map((step) => ("install" in step ? { verb: "install", what: step.install } : "remove" in step ? { verb: "remove", what: step.remove } : { verb: "run", what: step.run })),
  }));
  return loadTemplate("impact.txt.hbs")({ hosts, warnings: impact.warnings });
}
