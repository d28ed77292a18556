/** The plan: every per-host value the templates need, computed once (SPEC §1, §2). */
import type { Allocated } from "./allocate.js";
import { dockerConfigOf } from "./docker-config.js";
import { formatAddress, formatCidr } from "./ipv4.js";
import { compareNames } from "./lock.js";
import type { HostPlan, Plan, Topology } from "./model.js";

export function planOverlay(topology: Topology, allocated: Allocated): Plan {
  const { overlay } = topology;
  // Tunnels in name order, whatever the file's order: adding a host adds lines, moves none.
  const peers = [...topology.hosts]
    .sort((a, b) => compareNames(a.name, b.name))
    .map((peer) => ({ host: peer, tunnel: { peer: peer.name, port: peer.tunnelPort, remoteIp: formatAddress(peer.underlayIp) } }));
  const hosts: HostPlan[] = topology.hosts.map((host) => {
    const { bridgeIp, fixedCidr } = allocated.hosts.get(host.name)!;
    const tunnels = peers.filter((p) => p.host !== host).map((p) => p.tunnel);
    return {
      name: host.name,
      underlayIp: formatAddress(host.underlayIp),
      underlayMtu: host.underlayMtu,
      bridgeIp: formatAddress(bridgeIp),
      bridgeAddress: `${formatAddress(bridgeIp)}/${overlay.subnet.prefix}`,
      fixedCidr: formatCidr(fixedCidr),
      dockerd: host.dockerd,
      dockerArgs: host.dockerArgs,
      dockerConfig: dockerConfigOf(host.dockerArgs),
      tunnels,
    };
  });
  return {
    sourceName: topology.sourceName,
    name: overlay.name,
    subnet: formatCidr(overlay.subnet),
    hostPrefix: overlay.hostPrefix,
    bridge: overlay.bridge,
    ovsBridge: overlay.ovsBridge,
    encapsulation: overlay.encapsulation,
    key: overlay.key,
    dstPort: overlay.dstPort,
    underlayMtu: overlay.underlayMtu,
    narrowestHost: overlay.narrowestHost,
    mtu: overlay.mtu,
    overhead: overlay.overhead,
    datapath: overlay.datapath,
    hosts,
    retired: allocated.retired.map((e) => ({ name: e.name, bridgeIp: formatAddress(e.bridgeIp), fixedCidr: formatCidr(e.fixedCidr) })),
    room: allocated.room,
  };
}
