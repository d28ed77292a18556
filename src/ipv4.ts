/** IPv4 arithmetic on unsigned 32-bit integers. Parsing is strict (SPEC §1: dotted quads only). */
import ipaddr from "ipaddr.js";

export interface Cidr {
  network: number;
  prefix: number;
}

/** Parses a strict dotted quad ("10.0.0.1"; no leading zeros, no shorthand), or returns undefined. */
export function parseAddress(text: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.IPv4.parse(text).octets.reduce((value, octet) => value * 256 + octet, 0);
}

export function formatAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function size(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function lastAddress(cidr: Cidr): number {
  return cidr.network + size(cidr) - 1;
}

/** Parses "A.B.C.D/N". `aligned` is the same block with host bits cleared, to suggest a fix. */
export function parseCidr(text: string): { cidr: Cidr; aligned: boolean } | undefined {
  const match = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text);
  if (!match) return undefined;
  const address = parseAddress(match[1]!);
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) return undefined;
  const network = (address & mask(prefix)) >>> 0;
  return { cidr: { network, prefix }, aligned: network === address };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.network)}/${cidr.prefix}`;
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= lastAddress(cidr);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** True when `inner` lies wholly inside `outer`. */
export function within(inner: Cidr, outer: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.network);
}
