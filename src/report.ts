/** What `plan` shows: the computed plan as JSON for tools, or as a table for people (SPEC §3). */
import { ENCAPSULATION } from "./encapsulation.js";
import type { Plan } from "./model.js";

/** Raised when a key of `plan --json` changes meaning or goes away; new keys keep it. */
export const PLAN_FORMAT_VERSION = 1;

/** The plan in the topology's own vocabulary (snake_case keys). */
export function planJson(plan: Plan): string {
  const json = {
    format_version: PLAN_FORMAT_VERSION,
    source: plan.sourceName,
    name: plan.name,
    subnet: plan.subnet,
    bridge: plan.bridge,
    ovs_bridge: plan.ovsBridge,
    encapsulation: plan.encapsulation,
    key: plan.key ?? null,
    dst_port: plan.dstPort ?? ENCAPSULATION[plan.encapsulation].defaultPort ?? null,
    underlay_mtu: plan.underlayMtu,
    mtu: plan.mtu,
    overhead: plan.overhead,
    ovs_datapath: plan.datapath,
    bfd: plan.bfd,
    hosts: plan.hosts.map((h) => ({
      name: h.name,
      underlay_ip: h.underlayIp,
      underlay_mtu: h.underlayMtu,
      bridge_ip: h.bridgeIp,
      bridge_address: h.bridgeAddress,
      bridge_mac: h.bridgeMac,
      fixed_cidr: h.fixedCidr,
      dockerd: h.dockerd,
      docker_args: h.dockerArgs,
      tunnels: h.tunnels.map((t) => ({ peer: t.peer, port: t.port, remote_ip: t.remoteIp })),
    })),
    retired: plan.retired.map((r) => ({ name: r.name, bridge_ip: r.bridgeIp, fixed_cidr: r.fixedCidr })),
    host_prefix: plan.hostPrefix,
    room: plan.room,
  };
  return JSON.stringify(json, null, 2) + "\n";
}

export function planTable(plan: Plan): string {
  const { title, defaultPort } = ENCAPSULATION[plan.encapsulation];
  const tunnels =
    defaultPort === undefined
      ? plan.key === undefined ? "no GRE key" : `GRE key ${plan.key}`
      : `${title} on UDP port ${plan.dstPort ?? defaultPort}, VNI ${plan.key ?? 0}`;
  const underlay = plan.narrowestHost === undefined ? `${plan.underlayMtu}` : `${plan.underlayMtu} (${plan.narrowestHost}'s, the smallest)`;
  const header =
    `overlay ${plan.subnet} on bridge ${plan.bridge}, OVS bridge ${plan.ovsBridge} (${plan.datapath} datapath), ${tunnels}\n` +
    `MTU ${plan.mtu}: underlay ${underlay} minus ${plan.overhead} bytes of ${title}; Docker, both bridges and the stanza use it\n\n`;
  const rows = [["HOST", "UNDERLAY", "BRIDGE", "RANGE", "TUNNELS"]];
  for (const host of plan.hosts)
    rows.push([host.name, host.underlayIp, host.bridgeAddress, host.fixedCidr, host.tunnels.map((t) => `${t.port}>${t.remoteIp}`).join(" ")]);
  // Retired hosts still hold their values: their containers may run until someone releases them.
  for (const host of plan.retired) rows.push([`${host.name} (retired)`, "-", host.bridgeIp, host.fixedCidr, `reserved until gre-gen release ${host.name}`]);
  const room = `room for ${plan.room} more ${plan.room === 1 ? "host" : "hosts"} at host_prefix /${plan.hostPrefix}\n`;
  return header + alignColumns(rows) + "\n" + room;
}

function alignColumns(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ") + "\n").join("");
}
