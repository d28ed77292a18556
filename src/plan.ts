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
    .map((peer) => {
      const peerBridgeIp = formatAddress(allocated.hosts.get(peer.name)!.bridgeIp);
      return { host: peer, tunnel: { peer: peer.name, port: peer.tunnelPort, remoteIp: formatAddress(peer.underlayIp), peerBridgeIp } };
    });
  const hosts: HostPlan[] = topology.hosts.map((host) => {
    const { bridgeIp, fixedCidr } = allocated.hosts.get(host.name)!;
    const tunnels = peers.filter((p) => p.host !== host).map((p) => p.tunnel);
    return {
      name: host.name,
      underlayIp: formatAddress(host.underlayIp),
      underlayMtu: host.underlayMtu,
      bridgeIp: formatAddress(bridgeIp),
      bridgeAddress: `${formatAddress(bridgeIp)}/${overlay.subnet.prefix}`,
      bridgeMac: bridgeMac(bridgeIp),
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
    bfd: overlay.bfd,
    hosts,
    retired: allocated.retired.map((e) => ({ name: e.name, bridgeIp: formatAddress(e.bridgeIp), fixedCidr: formatCidr(e.fixedCidr) })),
    room: allocated.room,
  };
}

/**
 * A fixed MAC for the Linux bridge, unique in the overlay because its bridge address is: without
 * one, a bridge takes its lowest port's, which changes as containers come and go, and its peers
 * reach it no more until their ARP entries expire. Locally administered, apart from Docker's 02:42.
 */
function bridgeMac(bridgeIp: number): string {
  const bytes = [2, 0, bridgeIp >>> 24, (bridgeIp >>> 16) & 255, (bridgeIp >>> 8) & 255, bridgeIp & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
