/** The topology format v1 (SPEC §1) as a zod model: field types, formats and defaults. */
import * as z from "zod/mini";

/** Never a leading '-': ovs-vsctl and ip would read the name as an option (`--` even splits a transaction). */
export const INTERFACE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,14}$/;
/** The overlay's identity on a host: a value in OVSDB external_ids and a word in the setup script. */
export const OVERLAY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
export const IPV4_CIDR = new RegExp(`^${IPV4.source.slice(1, -1)}/(?:3[0-2]|[12]?[0-9])$`);
/**
 * An absolute path, or a bare command name that systemd resolves through its search path, of
 * plain characters: it is written unquoted into a unit file and a script. A name starts with
 * neither + nor -, which systemd would read as ExecStart= prefixes (full privileges, failure ignored).
 */
export const EXECUTABLE_PATH = /^(?:\/[A-Za-z0-9._+/-]*|[A-Za-z0-9_][A-Za-z0-9._+-]{0,254})$/;
/**
 * No control characters (nothing may start a new line in a generated file) and no Unicode
 * noncharacters (systemd finds such a line not UTF-8 clean and ignores it, leaving no ExecStart=).
 */
export const PRINTABLE = new RegExp(
  // Without the u flag, for JSON Schema: an astral noncharacter (U+1FFFE ... U+10FFFF) is the last
  // high surrogate of its plane followed by \uDFFE or \uDFFF.
  `^(?!.*[${Array.from({ length: 16 }, (_, plane) => `\\u${(0xd83f + plane * 0x40).toString(16)}`).join("")}][\\udffe\\udfff])` +
    "[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\ufdd0-\\ufdef\\ufffe\\uffff]*$",
);

const describe = z.describe;
const interfaceName = z.string().check(z.regex(INTERFACE_NAME));
const dockerArg = z.string().check(z.maxLength(1024), z.regex(PRINTABLE));
const executable = z.string().check(z.maxLength(1024), z.regex(EXECUTABLE_PATH));
const ipv4 = z.string().check(z.regex(IPV4));
const ipv4Cidr = z.string().check(z.regex(IPV4_CIDR));
const integer = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

const dockerOverride = z.strictObject({
  dockerd: z.optional(executable.check(describe("Path of the dockerd binary on this host"))),
  args: z.optional(z.array(dockerArg).check(describe("dockerd arguments on this host, before gre-gen's own"))),
});

const underlayMtu = integer(576, 65535);

const host = z.strictObject({
  underlay_ip: ipv4.check(describe("Underlay address the other hosts' tunnels send to, and this host's tunnels send from")),
  underlay_mtu: z.optional(underlayMtu.check(describe("MTU of this host's own underlay path, when it differs from overlay.underlay_mtu"))),
  bridge_ip: z.optional(ipv4.check(describe("Address of the Linux bridge (allocated when absent)"))),
  fixed_cidr: z.optional(ipv4Cidr.check(describe("This host's container address range (allocated when absent)"))),
  tunnel_port: z.optional(interfaceName.check(describe("Name of the port that every peer uses for its tunnel to this host"))),
  gre_port: z.optional(interfaceName.check(describe("The version 1 spelling of tunnel_port"))),
  docker: z.optional(dockerOverride),
});

/** A bare name: systemd finds Docker's /usr/bin/dockerd and Debian's /usr/sbin/dockerd alike. */
export const DEFAULT_DOCKERD = "dockerd";
export const ENCAPSULATIONS = ["gre", "vxlan", "geneve"] as const;
export const DEFAULT_DOCKER_ARGS = ["-H", "fd://", "--containerd=/run/containerd/containerd.sock"];

export const topologySchema = z.strictObject({
  version: z.literal(1).check(describe("Format version")),
  overlay: z.strictObject({
    name: z
      ._default(z.string().check(z.regex(OVERLAY_NAME)), "main")
      .check(describe("The overlay's identity on its hosts: what its setup script owns in Open vSwitch. Never changes; two overlays on one host need two names")),
    subnet: ipv4Cidr.check(describe("The IPv4 container subnet every host shares")),
    bridge: z._default(interfaceName, "newbridge").check(describe("Linux bridge Docker attaches containers to")),
    ovs_bridge: z._default(interfaceName, "ovs_bridge").check(describe("Open vSwitch bridge that carries the tunnel ports")),
    encapsulation: z._default(z.enum(ENCAPSULATIONS), "gre").check(describe("Tunnel encapsulation: gre (IP protocol 47), vxlan or geneve (UDP)")),
    host_prefix: z._default(integer(1, 30), 26).check(describe("Prefix length of each host's allocated range")),
    key: z.optional(integer(0, 4294967295).check(describe("GRE key (0..4294967295) or VXLAN/Geneve VNI (0..16777215); omitted: none (VNI 0)"))),
    gre_key: z.optional(integer(0, 4294967295).check(describe("The version 1 spelling of key"))),
    dst_port: z.optional(integer(1, 65535).check(describe("UDP destination port of VXLAN (default 4789) or Geneve (default 6081)"))),
    underlay_mtu: z._default(underlayMtu, 1500).check(describe("MTU of the underlay network (a host may set its own)")),
    mtu: z
      ._default(z.union([z.literal("auto"), integer(68, 65535)]), "auto")
      .check(describe("Container and bridge MTU: auto = the smallest host's underlay_mtu minus the encapsulation's overhead")),
    ovs_datapath: z._default(z.enum(["system", "netdev"]), "system").check(describe("OVS datapath: kernel (system) or userspace (netdev)")),
  }),
  docker: z._default(
    z.strictObject({
      dockerd: z._default(executable, DEFAULT_DOCKERD).check(describe("The dockerd binary: a path, or a name systemd looks up (default dockerd)")),
      args: z._default(z.array(dockerArg), DEFAULT_DOCKER_ARGS).check(describe("dockerd arguments before gre-gen's own")),
    }),
    { dockerd: DEFAULT_DOCKERD, args: DEFAULT_DOCKER_ARGS },
  ),
  hosts: z.record(z.string().check(z.regex(HOST_NAME)), host).check(describe("The hosts, by name (at least 2)")),
});

export type TopologyInput = z.infer<typeof topologySchema>;
export type HostInput = z.infer<typeof host>;
