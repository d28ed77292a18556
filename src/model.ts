/** The typed model the stages hand each other: validated topology in, plan out. */
import type { Cidr } from "./ipv4.js";

export type Datapath = "system" | "netdev";

/** A host as the topology gives it, validated; addresses it leaves out are allocated later. */
export interface HostSpec {
  name: string;
  underlayIp: number;
  bridgeIp?: number;
  fixedCidr?: Cidr;
  /** The GRE port name every peer uses for its tunnel to this host. */
  grePort: string;
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
  greKey?: number;
  underlayMtu: number;
  /** The resolved container, bridge and OVS MTU. */
  mtu: number;
  /** Bytes of GRE encapsulation per packet (SPEC §1 "Overhead and MTU"). */
  overhead: number;
  datapath: Datapath;
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
}

export interface HostPlan {
  name: string;
  underlayIp: string;
  bridgeIp: string;
  /** `bridgeIp/<subnet prefix>`: ifupdown would guess a classful mask from a bare address. */
  bridgeAddress: string;
  fixedCidr: string;
  dockerd: string;
  dockerArgs: string[];
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
  greKey?: number;
  underlayMtu: number;
  mtu: number;
  overhead: number;
  datapath: Datapath;
  hosts: HostPlan[];
  /** In name order. */
  retired: RetiredHost[];
  /** How many more hosts fit at this host_prefix, with every pinned, locked and retired value kept. */
  room: number;
}
