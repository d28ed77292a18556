/** Semantic validation (SPEC §1): the rules that span fields and hosts, each error at its node. */
import { basename } from "node:path";
import type { Diagnostic } from "./diagnostics.js";
import { ENCAPSULATION, overheadOf } from "./encapsulation.js";
import { contains, formatCidr, lastAddress, overlaps, parseAddress, parseCidr, within, type Cidr } from "./ipv4.js";
import type { Encapsulation, HostSpec, Overlay, Topology } from "./model.js";
import { derivePortName, RESERVED_INTERFACE_NAMES } from "./ports.js";
import { diagnosticAtPath, type PathSegment, type TopologySource } from "./source.js";
import { DEFAULT_DOCKERD, type HostInput } from "./schema.js";
import { unitQuote } from "./templates.js";
import type { Structure } from "./structure.js";

/** A full mesh grows with the square of the hosts; beyond this the output stops being reviewable. */
export const MAX_HOSTS = 1000;

/** Flags gre-gen sets itself, and the one that would cut every cross-host flow. */
const OWNED_FLAGS = ["--bridge", "-b", "--fixed-cidr", "--bip", "--mtu"];

/** The rules; returns the topology whenever allocation can run on it, even beside other errors. */
export function checkRules(source: TopologySource, structure: Structure, diagnostics: Diagnostic[]): Topology | undefined {
  // Allocation reads the subnet, the host prefix, the hosts and their addresses and ranges; a
  // mistake anywhere else leaves it to run and report its own problems in the same run.
  let allocatable = true;
  const error = (path: PathSegment[], code: string, message: string, at: "key" | "value" = "value") => {
    if (ALLOCATION_INPUTS.has(String(path[path.length - 1]))) allocatable = false;
    diagnostics.push(diagnosticAtPath(source, path, code, message, at));
  };
  const encapsulation = structure.overlay?.encapsulation ?? "gre";
  const count = structure.hostCount;
  if (count !== undefined && count < 2) error(["hosts"], "too-few-hosts", `hosts lists ${count} host${count === 1 ? "" : "s"}; an overlay needs at least 2`, "key");
  if (count !== undefined && count > MAX_HOSTS)
    error(["hosts"], "too-many-hosts", `hosts lists ${count} hosts; a full mesh of more than ${MAX_HOSTS} (${MAX_HOSTS * (MAX_HOSTS - 1)} tunnel ends) is not supported`, "key");
  checkHostNameCase(structure.hostNames, error);
  if (structure.docker) checkDockerArgs(structure.docker.args, ["docker", "args"], error);
  const hosts: HostSpec[] = [];
  for (const [name, input] of structure.hosts) {
    const path = ["hosts", name];
    const underlayIp = parseAddress(input.underlay_ip)!;
    const bridgeIp = input.bridge_ip === undefined ? undefined : parseAddress(input.bridge_ip);
    const fixedCidr = input.fixed_cidr === undefined ? undefined : checkAligned(input.fixed_cidr, [...path, "fixed_cidr"], error);
    const tunnelPortKey = checkTunnelPort(input, path, error);
    const tunnelPort = tunnelPortKey ? input[tunnelPortKey]! : derivePortName(name, encapsulation);
    const underlayMtu = input.underlay_mtu ?? structure.overlay?.underlay_mtu ?? 1500;
    const dockerd = input.docker?.dockerd ?? structure.docker?.dockerd ?? DEFAULT_DOCKERD;
    const dockerArgs = input.docker?.args ?? structure.docker?.args ?? [];
    if (input.docker?.args) checkDockerArgs(input.docker.args, [...path, "docker", "args"], error);
    if (isUnusableEndpoint(underlayIp))
      error([...path, "underlay_ip"], "underlay-ip", `underlay_ip ${input.underlay_ip} cannot be a tunnel endpoint (unspecified, loopback, multicast or broadcast)`);
    hosts.push({ name, underlayIp, bridgeIp, fixedCidr, tunnelPort, tunnelPortKey, underlayMtu, dockerd, dockerArgs });
  }
  const overlay = structure.overlay ? checkOverlay(structure.overlay, hosts, error) : undefined;
  if (overlay) checkAgainstOverlay(overlay, hosts, error);
  checkAcrossHosts(hosts, encapsulation, error);
  if (!overlay || !allocatable || count !== structure.hosts.size) return undefined;
  return { sourceName: basename(source.file), overlay, hosts };
}

/** The fields allocation reads: an error at one of them stops allocation. */
const ALLOCATION_INPUTS = new Set(["subnet", "host_prefix", "bridge_ip", "fixed_cidr"]);

type Report = (path: PathSegment[], code: string, message: string, at?: "key" | "value") => void;

function checkOverlay(input: NonNullable<Structure["overlay"]>, hosts: HostSpec[], error: Report): Overlay | undefined {
  const subnet = checkAligned(input.subnet, ["overlay", "subnet"], error);
  const { encapsulation } = input;
  const traits = ENCAPSULATION[encapsulation];
  const key = checkKey(input, error);
  if (input.dst_port !== undefined && traits.defaultPort === undefined)
    error(["overlay", "dst_port"], "dst-port", `dst_port is a UDP port, for vxlan and geneve; ${traits.title} has no ports`);
  const overhead = overheadOf(encapsulation, key !== undefined);
  // One L2 segment has one MTU: the host with the smallest underlay sets it for all.
  const narrowest = hosts.reduce<HostSpec | undefined>((least, host) => (least === undefined || host.underlayMtu < least.underlayMtu ? host : least), undefined);
  const underlayMtu = narrowest?.underlayMtu ?? input.underlay_mtu;
  const narrowestHost = narrowest && hosts.some((h) => h.underlayMtu !== narrowest.underlayMtu) ? narrowest.name : undefined;
  const underlayPath = narrowestHost === undefined ? ["overlay", "underlay_mtu"] : ["hosts", narrowestHost, "underlay_mtu"];
  const underlayText = narrowestHost === undefined ? `underlay_mtu ${underlayMtu}` : `${narrowestHost}'s underlay_mtu ${underlayMtu} (the smallest)`;
  const withKey = key !== undefined && traits.keyOverhead > 0 ? " (with a key)" : "";
  const limit = underlayMtu - overhead;
  let mtu = input.mtu === "auto" ? limit : input.mtu;
  if (input.mtu === "auto" && limit < 68)
    error(underlayPath, "mtu", `${underlayText} leaves ${limit} bytes after ${overhead} bytes of ${traits.title} overhead; the minimum is 68`);
  if (input.mtu !== "auto" && input.mtu > limit)
    error(["overlay", "mtu"], "mtu", `mtu ${input.mtu} does not fit: ${underlayText} minus ${overhead} bytes of ${traits.title} overhead${withKey} is ${limit}`);
  for (const name of ["bridge", "ovs_bridge"] as const)
    if (RESERVED_INTERFACE_NAMES.has(input[name])) error(["overlay", name], "reserved-name", `${name} '${input[name]}' is reserved: a name of the kernel or Open vSwitch, or a keyword of bridge_ports`);
  if (input.bridge === input.ovs_bridge) error(["overlay", "ovs_bridge"], "same-bridge", `ovs_bridge must differ from bridge (both are '${input.bridge}')`);
  if (subnet && input.host_prefix <= subnet.prefix)
    error(["overlay", "host_prefix"], "host-prefix", `host_prefix /${input.host_prefix} must be longer than the subnet's /${subnet.prefix}: each host gets a part of the subnet`);
  if (!subnet) return undefined;
  mtu = Math.max(mtu, 68);
  return {
    name: input.name,
    subnet,
    bridge: input.bridge,
    ovsBridge: input.ovs_bridge,
    hostPrefix: input.host_prefix,
    encapsulation,
    key,
    dstPort: input.dst_port,
    underlayMtu,
    narrowestHost,
    mtu,
    overhead,
    datapath: input.ovs_datapath,
    bfd: input.bfd,
  };
}

/** `key` is the general name; `gre_key`, its version 1 spelling, still reads as it. */
function checkKey(input: NonNullable<Structure["overlay"]>, error: Report): number | undefined {
  const traits = ENCAPSULATION[input.encapsulation];
  if (input.gre_key !== undefined && input.key !== undefined)
    error(["overlay", "gre_key"], "key", "gre_key and key are the same setting; keep key");
  const name = input.key !== undefined ? "key" : "gre_key";
  const key = input.key ?? input.gre_key;
  if (key !== undefined && key > traits.maxKey)
    error(["overlay", name], "key", `a ${traits.title} ${traits.keyName} is 24 bits: at most ${traits.maxKey}, not ${key}`);
  return key;
}

/** Likewise `tunnel_port` and its version 1 spelling `gre_port`: which of them names the port, if any. */
function checkTunnelPort(input: HostInput, path: PathSegment[], error: Report): "tunnel_port" | "gre_port" | undefined {
  if (input.gre_port !== undefined && input.tunnel_port !== undefined)
    error([...path, "gre_port"], "tunnel-port", "gre_port and tunnel_port are the same setting; keep tunnel_port");
  return input.tunnel_port !== undefined ? "tunnel_port" : input.gre_port !== undefined ? "gre_port" : undefined;
}

function checkAligned(text: string, path: PathSegment[], error: Report): Cidr | undefined {
  const parsed = parseCidr(text)!;
  if (parsed.aligned) return parsed.cidr;
  error(path, "host-bits", `${text} has host bits set; did you mean ${formatCidr(parsed.cidr)}?`);
  return undefined;
}

/** How dockerd reads a boolean flag's value: Go's strconv.ParseBool. */
const GO_FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** systemd ignores a unit-file line of 1 MiB or more (LONG_LINE_MAX), and the drop-in has cleared ExecStart=. */
export const MAX_UNIT_LINE_BYTES = 1024 * 1024 - 1;
/** `ExecStart=`, the dockerd path and gre-gen's own flags, with room to spare. */
const EXEC_START_OVERHEAD = 1024 + 200;

function checkDockerArgs(args: string[], path: PathSegment[], error: Report) {
  args.forEach((arg, index) => {
    const flag = arg.split("=")[0]!;
    if (OWNED_FLAGS.includes(flag) || (/^-b./.test(arg) && !arg.startsWith("--")))
      error([...path, index], "owned-flag", `docker args must not set ${flag}: gre-gen sets --bridge, --fixed-cidr and --mtu itself (and --bip cannot go with --bridge)`);
    const value = flag === "--icc" || flag === "--iptables" ? (arg.includes("=") ? arg.slice(flag.length + 1) : args[index + 1]) : undefined;
    if (value !== undefined && GO_FALSE.has(value))
      error(
        [...path, index],
        flag === "--icc" ? "icc-false" : "iptables-false",
        flag === "--icc"
          ? `docker args must not set --icc=${value}: dockerd reads it as false, and cross-host traffic passes the FORWARD chain only by Docker's inter-container rule`
          : `docker args must not set --iptables=${value}: dockerd reads it as false and adds no rule that passes the overlay's traffic through the FORWARD chain, whose policy an earlier dockerd leaves at DROP (the setup script refuses it in daemon.json too)`,
      );
  });
  const bytes = args.reduce((sum, arg) => sum + Buffer.byteLength(unitQuote(arg)) + 1, EXEC_START_OVERHEAD);
  if (bytes > MAX_UNIT_LINE_BYTES)
    error(path, "exec-start-too-long", `docker args come to ${bytes - EXEC_START_OVERHEAD} bytes in the drop-in's ExecStart= line; systemd ignores a line of ${MAX_UNIT_LINE_BYTES + 1} bytes or more, and Docker would not start`);
}

function isUnusableEndpoint(address: number): boolean {
  const first = address >>> 24;
  return address === 0 || address === 0xffffffff || first === 127 || (first >= 224 && first <= 239);
}

function checkHostNameCase(names: string[], error: Report) {
  const seen = new Map<string, string>();
  for (const name of names) {
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) error(["hosts", name], "duplicate-host", `host '${name}' differs from '${other}' only in case; host names are case-insensitive`, "key");
    else seen.set(name.toLowerCase(), name);
  }
}

function checkAgainstOverlay(overlay: Overlay, hosts: HostSpec[], error: Report) {
  const { subnet } = overlay;
  for (const host of hosts) {
    const path = ["hosts", host.name];
    if (contains(subnet, host.underlayIp))
      error([...path, "underlay_ip"], "underlay-in-subnet", `underlay_ip lies inside the overlay subnet ${formatCidr(subnet)}; the tunnels would route into themselves`);
    if (host.bridgeIp !== undefined) {
      if (!contains(subnet, host.bridgeIp)) error([...path, "bridge_ip"], "bridge-ip", `bridge_ip is outside the overlay subnet ${formatCidr(subnet)}`);
      else if (subnet.prefix < 31 && (host.bridgeIp === subnet.network || host.bridgeIp === lastAddress(subnet)))
        error([...path, "bridge_ip"], "bridge-ip", `bridge_ip is the ${host.bridgeIp === subnet.network ? "network" : "broadcast"} address of ${formatCidr(subnet)}`);
    }
    if (host.fixedCidr && !within(host.fixedCidr, subnet))
      error([...path, "fixed_cidr"], "fixed-cidr", `fixed_cidr ${formatCidr(host.fixedCidr)} is not inside the overlay subnet ${formatCidr(subnet)}`);
    const port = host.tunnelPort;
    if (port === overlay.bridge || port === overlay.ovsBridge || RESERVED_INTERFACE_NAMES.has(port))
      reportPort(host, error, "port-name", `${portTitle(overlay.encapsulation)} name '${port}' clashes with ${RESERVED_INTERFACE_NAMES.has(port) ? "a reserved name" : "a bridge name"}; set hosts.${host.name}.${portKey(host)}`);
  }
}

/** A derived port name is blamed on the host's key, an explicit one on the value that set it. */
function reportPort(host: HostSpec, error: Report, code: string, message: string) {
  if (host.tunnelPortKey === undefined) error(["hosts", host.name], code, message, "key");
  else error(["hosts", host.name, host.tunnelPortKey], code, message);
}

/** GRE keeps its version 1 words; the others say tunnel port. */
const portTitle = (encapsulation: Encapsulation) => (encapsulation === "gre" ? "GRE port" : `${ENCAPSULATION[encapsulation].title} port`);
/** The key to set: the one the host already writes, else the current spelling. */
const portKey = (host: HostSpec) => host.tunnelPortKey ?? "tunnel_port";

function checkAcrossHosts(hosts: HostSpec[], encapsulation: Encapsulation, error: Report) {
  // Most hosts of a fleet share no value with any other: only a host that may is compared with
  // each earlier one, so a thousand hosts are not a million pairs.
  const seen = new Map<string, number>();
  const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
  for (const host of hosts) {
    count(`u${host.underlayIp}`);
    count(`p${host.tunnelPort}`);
    if (host.bridgeIp !== undefined) count(`b${host.bridgeIp}`);
  }
  const shared = (host: HostSpec) =>
    seen.get(`u${host.underlayIp}`)! > 1 || seen.get(`p${host.tunnelPort}`)! > 1 || (host.bridgeIp !== undefined && seen.get(`b${host.bridgeIp}`)! > 1) || host.fixedCidr !== undefined;
  const ranged = hosts.filter((host) => host.fixedCidr);
  hosts.forEach((host, i) => {
    const path = ["hosts", host.name];
    if (shared(host))
      for (const other of hosts.slice(0, i)) {
        if (host.underlayIp === other.underlayIp) error([...path, "underlay_ip"], "duplicate-underlay", `underlay_ip is also ${other.name}'s`);
        if (host.bridgeIp !== undefined && host.bridgeIp === other.bridgeIp) error([...path, "bridge_ip"], "duplicate-bridge-ip", `bridge_ip is also ${other.name}'s`);
        if (host.fixedCidr && other.fixedCidr && overlaps(host.fixedCidr, other.fixedCidr))
          error([...path, "fixed_cidr"], "overlapping-ranges", `fixed_cidr ${formatCidr(host.fixedCidr)} overlaps ${other.name}'s ${formatCidr(other.fixedCidr)}`);
        if (host.tunnelPort === other.tunnelPort) {
          // Blamed on a name the file writes rather than on one derived from a host's name, whichever comes first.
          const [blamed, peer] = host.tunnelPortKey === undefined && other.tunnelPortKey !== undefined ? [other, host] : [host, other];
          reportPort(blamed, error, "duplicate-port", `${portTitle(encapsulation)} name '${host.tunnelPort}' is also ${peer.name}'s; set a distinct hosts.${blamed.name}.${portKey(blamed)}`);
        }
      }
    for (const other of ranged)
      if (host.bridgeIp !== undefined && other.fixedCidr && contains(other.fixedCidr, host.bridgeIp))
        error([...path, "bridge_ip"], "bridge-ip-in-range", `bridge_ip lies inside ${other.name === host.name ? "this host's own" : `${other.name}'s`} fixed_cidr ${formatCidr(other.fixedCidr)}; Docker could hand it to a container`);
  });
}
