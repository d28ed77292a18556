/** The topology format v1 (SPEC §1) as a zod model: field types, formats and defaults. */
import { z } from "zod";

export const INTERFACE_NAME = /^[A-Za-z0-9_-]{1,15}$/;
export const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
export const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
export const IPV4_CIDR = new RegExp(`^${IPV4.source.slice(1, -1)}/(?:3[0-2]|[12]?[0-9])$`);
/** An absolute path of plain characters: it is written unquoted into a unit file and a script. */
export const EXECUTABLE_PATH = /^\/[A-Za-z0-9._+/-]*$/;
/** No control characters: nothing may start a new line in a generated file. */
export const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;

const interfaceName = z.string().regex(INTERFACE_NAME);
const dockerArg = z.string().max(1024).regex(PRINTABLE);
const ipv4 = z.string().regex(IPV4);
const ipv4Cidr = z.string().regex(IPV4_CIDR);

const dockerOverride = z.strictObject({
  dockerd: z.string().max(1024).regex(EXECUTABLE_PATH).optional().describe("Path of the dockerd binary on this host"),
  args: z.array(dockerArg).optional().describe("dockerd arguments on this host, before gre-gen's own"),
});

const host = z.strictObject({
  underlay_ip: ipv4.describe("Underlay address the other hosts' GRE ports send to"),
  bridge_ip: ipv4.optional().describe("Address of the Linux bridge (allocated when absent)"),
  fixed_cidr: ipv4Cidr.optional().describe("This host's container address range (allocated when absent)"),
  gre_port: interfaceName.optional().describe("Name of the GRE port that every peer uses for its tunnel to this host"),
  docker: dockerOverride.optional(),
});

export const DEFAULT_DOCKER_ARGS = ["-H", "fd://", "--containerd=/run/containerd/containerd.sock"];

export const topologySchema = z.strictObject({
  version: z.literal(1).describe("Format version"),
  overlay: z.strictObject({
    subnet: ipv4Cidr.describe("The IPv4 container subnet every host shares"),
    bridge: interfaceName.default("newbridge").describe("Linux bridge Docker attaches containers to"),
    ovs_bridge: interfaceName.default("ovs_bridge").describe("Open vSwitch bridge that carries the GRE ports"),
    host_prefix: z.number().int().min(1).max(30).default(26).describe("Prefix length of each host's allocated range"),
    gre_key: z.number().int().min(0).max(4294967295).optional().describe("GRE key; omitted: no key"),
    underlay_mtu: z.number().int().min(576).max(65535).default(1500).describe("MTU of the underlay network"),
    mtu: z
      .union([z.literal("auto"), z.number().int().min(68).max(65535)])
      .default("auto")
      .describe("Container and bridge MTU: auto = underlay_mtu minus the GRE overhead"),
    ovs_datapath: z.enum(["system", "netdev"]).default("system").describe("OVS datapath: kernel (system) or userspace (netdev)"),
  }),
  docker: z
    .strictObject({
      dockerd: z.string().max(1024).regex(EXECUTABLE_PATH).default("/usr/bin/dockerd").describe("Path of the dockerd binary"),
      args: z.array(dockerArg).default(DEFAULT_DOCKER_ARGS).describe("dockerd arguments before gre-gen's own"),
    })
    .default({ dockerd: "/usr/bin/dockerd", args: DEFAULT_DOCKER_ARGS }),
  hosts: z.record(z.string().regex(HOST_NAME), host).describe("The hosts, by name (at least 2)"),
});

export type TopologyInput = z.infer<typeof topologySchema>;
export type HostInput = z.infer<typeof host>;
