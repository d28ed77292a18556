/** The typed model the stages hand each other: validated topology in, plan out. */
import type { Cidr } from "./ipv4.js";

export type Datapath = "system" | "netdev";
export type Encapsulation = "gre" | "vxlan" | "geneve";

/** A host as the topology gives it, validated; addresses it leaves out are allocated later. */
export interface HostSpec {
  name: string;
  underlayIp: number;
  bridgeIp?: number;
  fixedCidr?: Cidr;
  /** The tunnel port name every peer uses for its tunnel to this host. */
  tunnelPort: string;
  /** The key that named the port; undefined when it is derived from the host's name. */
  tunnelPortKey?: "tunnel_port" | "gre_port";
  /** This host's own underlay MTU: its own value, else the overlay's. */
  underlayMtu: number;
  dockerd: string;
  dockerArgs: string[];
}

export interface Overlay {
  /** The overlay's identity on its hosts (external_ids:gre-gen-overlay); survives every other change. */
  name: string;
  subnet: Cidr;
  bridge: string;
  ovsBridge: string;
  hostPrefix: number;
  encapsulation: Encapsulation;
  /** GRE key or VXLAN/Geneve VNI. */
  key?: number;
  /** VXLAN's or Geneve's UDP destination port, when not the default. */
  dstPort?: number;
  /** The smallest underlay MTU of any host: one L2 segment has one MTU. */
  underlayMtu: number;
  /** The host with the smallest underlay MTU, when the hosts differ. */
  narrowestHost?: string;
  /** The resolved container, bridge and OVS MTU. */
  mtu: number;
  /** Bytes of encapsulation per packet (SPEC §1 "Overhead and MTU"). */
  overhead: number;
  datapath: Datapath;
  /** BFD on every tunnel port: liveness per peer, which the verify script reads back. */
  bfd: boolean;
}

export interface Topology {
  /** Base name of the topology file, as the generated headers cite it. */
  sourceName: string;
  overlay: Overlay;
  /** In file order. */
  hosts: HostSpec[];
}

export interface Tunnel {
  peer: string;
  port: string;
  remoteIp: string;
  /** The peer's bridge address, which the verify script pings through the tunnel. */
  peerBridgeIp: string;
}

/** What the host's /etc/docker/daemon.json must not set, for the setup script to refuse. */
export interface DockerConfig {
  /** daemon.json, or the file `--config-file` names. */
  file: string;
  /** Keys the drop-in's command line sets: dockerd refuses to start with them in the file too. */
  ownedKeys: string[];
}

export interface HostPlan {
  name: string;
  underlayIp: string;
  underlayMtu: number;
  bridgeIp: string;
  /** `bridgeIp/<subnet prefix>`: ifupdown would guess a classful mask from a bare address. */
  bridgeAddress: string;
  /** The Linux bridge's own MAC, pinned so that containers coming and going never change it. */
  bridgeMac: string;
  fixedCidr: string;
  dockerd: string;
  dockerArgs: string[];
  dockerConfig: DockerConfig;
  tunnels: Tunnel[];
}

/** A host removed from the topology whose values stay reserved until released (SPEC §1). */
export interface RetiredHost {
  name: string;
  bridgeIp: string;
  fixedCidr: string;
}

export interface Plan {
  sourceName: string;
  name: string;
  subnet: string;
  hostPrefix: number;
  bridge: string;
  ovsBridge: string;
  encapsulation: Encapsulation;
  key?: number;
  dstPort?: number;
  underlayMtu: number;
  narrowestHost?: string;
  mtu: number;
  overhead: number;
  datapath: Datapath;
  bfd: boolean;
  hosts: HostPlan[];
  /** In name order. */
  retired: RetiredHost[];
  /** How many more hosts fit at this host_prefix, with every pinned, locked and retired value kept. */
  room: number;
}
