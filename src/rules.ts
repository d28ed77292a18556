/** Semantic validation (SPEC §1): the rules that span fields and hosts, each error at its node. */
import type { Diagnostic } from "./diagnostics.js";
import { contains, formatCidr, lastAddress, overlaps, parseAddress, parseCidr, within, type Cidr } from "./ipv4.js";
import type { HostSpec, Overlay, Topology } from "./model.js";
import { derivePortName, RESERVED_INTERFACE_NAMES } from "./ports.js";
import { diagnosticAtPath, type PathSegment, type TopologySource } from "./source.js";
import { DEFAULT_DOCKERD } from "./schema.js";
import { unitQuote } from "./templates.js";
import type { Structure } from "./structure.js";

/** Outer IPv4 20 + GRE 4 + inner Ethernet 14; a key adds 4. */
export function greOverhead(hasKey: boolean): number {
  return 20 + 4 + 14 + (hasKey ? 4 : 0);
}

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
  const overlay = structure.overlay ? checkOverlay(structure.overlay, error) : undefined;
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
    const grePort = input.gre_port ?? derivePortName(name);
    const dockerd = input.docker?.dockerd ?? structure.docker?.dockerd ?? DEFAULT_DOCKERD;
    const dockerArgs = input.docker?.args ?? structure.docker?.args ?? [];
    if (input.docker?.args) checkDockerArgs(input.docker.args, [...path, "docker", "args"], error);
    if (isUnusableEndpoint(underlayIp))
      error([...path, "underlay_ip"], "underlay-ip", `underlay_ip ${input.underlay_ip} cannot be a tunnel endpoint (unspecified, loopback, multicast or broadcast)`);
    hosts.push({ name, underlayIp, bridgeIp, fixedCidr, grePort, dockerd, dockerArgs });
  }
  if (overlay) checkAgainstOverlay(overlay, hosts, error);
  checkAcrossHosts(hosts, error);
  if (!overlay || !allocatable || count !== structure.hosts.size) return undefined;
  return { sourceName: source.file.split(/[\\/]/).pop()!, overlay, hosts };
}

/** The fields allocation reads: an error at one of them stops allocation. */
const ALLOCATION_INPUTS = new Set(["subnet", "host_prefix", "bridge_ip", "fixed_cidr"]);

type Report = (path: PathSegment[], code: string, message: string, at?: "key" | "value") => void;

function checkOverlay(input: NonNullable<Structure["overlay"]>, error: Report): Overlay | undefined {
  const subnet = checkAligned(input.subnet, ["overlay", "subnet"], error);
  const overhead = greOverhead(input.gre_key !== undefined);
  const limit = input.underlay_mtu - overhead;
  let mtu = input.mtu === "auto" ? limit : input.mtu;
  if (input.mtu === "auto" && limit < 68)
    error(["overlay", "underlay_mtu"], "mtu", `underlay_mtu ${input.underlay_mtu} leaves ${limit} bytes after ${overhead} bytes of GRE overhead; the minimum is 68`);
  if (input.mtu !== "auto" && input.mtu > limit)
    error(["overlay", "mtu"], "mtu", `mtu ${input.mtu} does not fit: underlay_mtu ${input.underlay_mtu} minus ${overhead} bytes of GRE overhead${input.gre_key === undefined ? "" : " (with a key)"} is ${limit}`);
  for (const key of ["bridge", "ovs_bridge"] as const)
    if (RESERVED_INTERFACE_NAMES.has(input[key])) error(["overlay", key], "reserved-name", `${key} '${input[key]}' is reserved: a name of the kernel or Open vSwitch, or a keyword of bridge_ports`);
  if (input.bridge === input.ovs_bridge) error(["overlay", "ovs_bridge"], "same-bridge", `ovs_bridge must differ from bridge (both are '${input.bridge}')`);
  if (subnet && input.host_prefix <= subnet.prefix)
    error(["overlay", "host_prefix"], "host-prefix", `host_prefix /${input.host_prefix} must be longer than the subnet's /${subnet.prefix}: each host gets a part of the subnet`);
  if (!subnet) return undefined;
  mtu = Math.max(mtu, 68);
  return { name: input.name, subnet, bridge: input.bridge, ovsBridge: input.ovs_bridge, hostPrefix: input.host_prefix, greKey: input.gre_key, underlayMtu: input.underlay_mtu, mtu, overhead, datapath: input.ovs_datapath };
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
    const value = flag === "--icc" ? (arg.includes("=") ? arg.slice("--icc=".length) : args[index + 1]) : undefined;
    if (value !== undefined && GO_FALSE.has(value))
      error([...path, index], "icc-false", `docker args must not set --icc=${value}: dockerd reads it as false, and cross-host traffic passes the FORWARD chain only by Docker's inter-container rule`);
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
    const port = host.grePort;
    if (port === overlay.bridge || port === overlay.ovsBridge || RESERVED_INTERFACE_NAMES.has(port))
      reportPort(host, error, "port-name", `GRE port name '${port}' clashes with ${RESERVED_INTERFACE_NAMES.has(port) ? "a reserved name" : "a bridge name"}; set hosts.${host.name}.gre_port`);
  }
}

/** A derived port name is blamed on the host's key, an explicit one on its gre_port value. */
function reportPort(host: HostSpec, error: Report, code: string, message: string) {
  if (host.grePort === derivePortName(host.name)) error(["hosts", host.name], code, message, "key");
  else error(["hosts", host.name, "gre_port"], code, message);
}

function checkAcrossHosts(hosts: HostSpec[], error: Report) {
  hosts.forEach((host, i) => {
    const path = ["hosts", host.name];
    for (const other of hosts.slice(0, i)) {
      if (host.underlayIp === other.underlayIp) error([...path, "underlay_ip"], "duplicate-underlay", `underlay_ip is also ${other.name}'s`);
      if (host.bridgeIp !== undefined && host.bridgeIp === other.bridgeIp) error([...path, "bridge_ip"], "duplicate-bridge-ip", `bridge_ip is also ${other.name}'s`);
      if (host.fixedCidr && other.fixedCidr && overlaps(host.fixedCidr, other.fixedCidr))
        error([...path, "fixed_cidr"], "overlapping-ranges", `fixed_cidr ${formatCidr(host.fixedCidr)} overlaps ${other.name}'s ${formatCidr(other.fixedCidr)}`);
      if (host.grePort === other.grePort)
        reportPort(host, error, "duplicate-port", `GRE port name '${host.grePort}' is also ${other.name}'s; set a distinct hosts.${host.name}.gre_port`);
    }
    for (const other of hosts)
      if (host.bridgeIp !== undefined && other.fixedCidr && contains(other.fixedCidr, host.bridgeIp))
        error([...path, "bridge_ip"], "bridge-ip-in-range", `bridge_ip lies inside ${other.name === host.name ? "this host's own" : `${other.name}'s`} fixed_cidr ${formatCidr(other.fixedCidr)}; Docker could hand it to a container`);
  });
}
