/**
 * What each tunnel encapsulation costs and allows (FACTS: vswitch.xml, lib/netdev-vport.c): the
 * one table the rules, the plan and the templates read.
 */
import type { Encapsulation } from "./model.js";

export interface EncapsulationTraits {
  /** As people write it: GRE, VXLAN, Geneve. */
  title: string;
  /** Bytes per packet for an inner Ethernet frame on an IPv4 underlay, without a key. */
  overhead: number;
  /** Bytes a key adds (GRE's key field is optional; VXLAN and Geneve always carry a VNI). */
  keyOverhead: number;
  /** The largest key: GRE's is 32 bits, a VNI 24. */
  maxKey: number;
  /** What the key is called. */
  keyName: string;
  /** OVS's UDP destination port when none is set; undefined: not UDP. */
  defaultPort?: number;
  /** Port names: `<prefix><host>`, else `<short>-<stem>-<hash>` (see ports.ts). */
  portPrefix: string;
  shortPrefix: string;
}

/** Outer IPv4 20 + GRE 4 + inner Ethernet 14; outer IPv4 20 + UDP 8 + VXLAN or Geneve 8 + inner Ethernet 14. */
export const ENCAPSULATION: Record<Encapsulation, EncapsulationTraits> = {
  gre: { title: "GRE", overhead: 38, keyOverhead: 4, maxKey: 4294967295, keyName: "GRE key", portPrefix: "gre-", shortPrefix: "g" },
  vxlan: { title: "VXLAN", overhead: 50, keyOverhead: 0, maxKey: 16777215, keyName: "VNI", defaultPort: 4789, portPrefix: "vxlan-", shortPrefix: "vx" },
  geneve: { title: "Geneve", overhead: 50, keyOverhead: 0, maxKey: 16777215, keyName: "VNI", defaultPort: 6081, portPrefix: "geneve-", shortPrefix: "gnv" },
};

export function overheadOf(encapsulation: Encapsulation, hasKey: boolean): number {
  const traits = ENCAPSULATION[encapsulation];
  return traits.overhead + (hasKey ? traits.keyOverhead : 0);
}
