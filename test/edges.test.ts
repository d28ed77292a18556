// Validation and allocation at the edge of each rule (SPEC §1): the last value a rule accepts
// builds, the first it refuses is an error at its node. Each message is checked at FILE:LINE:COL,
// where the line and column come from the input text itself.
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, tempDir } from "./helpers.js";

/** A two-host topology; `overlay` and `hosts` add or replace lines in their sections. */
function topology({ overlay = "", docker = "", a = "", b = "", more = "" }: { overlay?: string; docker?: string; a?: string; b?: string; more?: string } = {}) {
  const subnet = /^ {2}subnet:/m.test(overlay) ? "" : "  subnet: 10.11.12.0/24\n";
  return `version: 1\noverlay:\n${subnet}${overlay}${docker ? `docker:\n${docker}` : ""}hosts:\n  docker1:\n    underlay_ip: 10.10.10.101\n${a}  docker3:\n    underlay_ip: 192.168.50.101\n${b}${more}`;
}

async function check(text: string) {
  const dir = tempDir();
  const file = join(dir, "topology.yml");
  writeFileSync(file, text);
  return { ...(await run("check", file, "-o", join(dir, "out"))), file };
}

async function plan(text: string) {
  const dir = tempDir();
  const file = join(dir, "topology.yml");
  writeFileSync(file, text);
  const result = await run("plan", file, "--json");
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { mtu: number; hosts: { name: string; bridge_ip: string; fixed_cidr: string }[] };
}

/** `FILE:LINE:COL: error: message` for the `nth` line holding `text`, at the column of `from` in it. */
function at(file: string, source: string, text: string, from: string, message: string, nth = 1): string {
  const lines = source.split("\n");
  const index = lines.findIndex((l, i) => l.includes(text) && lines.slice(0, i + 1).filter((x) => x.includes(text)).length === nth);
  expect(index, `no line with ${text}`).toBeGreaterThanOrEqual(0);
  return `${file}:${index + 1}:${lines[index]!.indexOf(from) + 1}: error: ${message}\n`;
}

/** Only the `FILE:LINE:COL: error:` lines of a text diagnostic output, without the source excerpts. */
const errors = (stderr: string) => stderr.split("\n").filter((l) => /:\d+:\d+: error: /.test(l)).map((l) => `${l}\n`);

// The kernel's and Open vSwitch's own devices, the other tunnels' system ports, and the words
// bridge-utils reads in bridge_ports as keywords rather than a port.
const RESERVED = ["lo", "all", "default", "gre0", "gretap0", "erspan0", "tunl0", "sit0", "ovs-system", "gre_sys", "vxlan_sys_4789", "genev_sys_6081", "docker0", "bonding_masters", "none", "regex", "noregex"];

describe("interface names the kernel or Open vSwitch reserve", () => {
  it.each(RESERVED)("%s is refused as bridge, as ovs_bridge and as a GRE port", async (name) => {
    const text = topology({ overlay: `  bridge: ${name}\n  ovs_bridge: ovsbr\n`, a: `    gre_port: ${name}\n` });
    const { code, stdout, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(errors(stderr)).toContain(at(file, text, `bridge: ${name}`, name, `bridge '${name}' is reserved: a name of the kernel or Open vSwitch, or a keyword of bridge_ports`));
    expect(errors(stderr)).toContain(at(file, text, `gre_port: ${name}`, name, `GRE port name '${name}' clashes with a reserved name; set hosts.docker1.gre_port`));
    const ovs = topology({ overlay: `  ovs_bridge: ${name}\n` });
    const result = await check(ovs);
    expect(errors(result.stderr)).toEqual([at(result.file, ovs, `ovs_bridge: ${name}`, name, `ovs_bridge '${name}' is reserved: a name of the kernel or Open vSwitch, or a keyword of bridge_ports`)]);
  });

  it("names that only resemble them build", async () => {
    const result = await check(topology({ overlay: "  bridge: lo0\n  ovs_bridge: docker1\n", a: "    gre_port: gre1\n", b: "    gre_port: default0\n" }));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(1);
  });
});

describe("a GRE port named like a bridge", () => {
  it("an explicit gre_port equal to bridge or ovs_bridge is an error at its value", async () => {
    const text = topology({ a: "    gre_port: newbridge\n", b: "    gre_port: ovs_bridge\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([
      at(file, text, "gre_port: newbridge", "newbridge", "GRE port name 'newbridge' clashes with a bridge name; set hosts.docker1.gre_port"),
      at(file, text, "gre_port: ovs_bridge", "ovs_bridge", "GRE port name 'ovs_bridge' clashes with a bridge name; set hosts.docker3.gre_port"),
    ]);
  });

  it("a derived port name equal to a bridge is an error at the host's name", async () => {
    const text = topology({ overlay: "  bridge: gre-docker1\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "  docker1:", "docker1", "GRE port name 'gre-docker1' clashes with a bridge name; set hosts.docker1.tunnel_port")]);
    const ovs = topology({ overlay: "  ovs_bridge: gre-docker3\n" });
    const result = await check(ovs);
    expect(errors(result.stderr)).toEqual([at(result.file, ovs, "  docker3:", "docker3", "GRE port name 'gre-docker3' clashes with a bridge name; set hosts.docker3.tunnel_port")]);
  });
});

describe("underlay addresses that cannot be a tunnel endpoint", () => {
  const refused = ["0.0.0.0", "127.0.0.1", "127.255.255.254", "224.0.0.0", "224.0.0.1", "239.255.255.255", "255.255.255.255"];
  it.each(refused)("%s is refused at its value", async (address) => {
    const text = topology({ b: "" }).replace("192.168.50.101", address);
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, `underlay_ip: ${address}`, address, `underlay_ip ${address} cannot be a tunnel endpoint (unspecified, loopback, multicast or broadcast)`)]);
  });

  it.each(["0.0.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.255", "240.0.0.1", "255.255.255.254"])("%s, beside those ranges, builds", async (address) => {
    const result = await check(topology().replace("192.168.50.101", address));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(1);
  });
});

describe("docker args that set what gre-gen owns", () => {
  const owned = (flag: string) => `docker args must not set ${flag}: gre-gen sets --bridge, --fixed-cidr and --mtu itself (and --bip cannot go with --bridge)`;
  const cases: [string, string[], string][] = [
    ["--bridge as two words", ["--bridge", "br0"], "--bridge"],
    ["--bridge=", ["--bridge=br0"], "--bridge"],
    ["-b as two words", ["-b", "br0"], "-b"],
    ["-b with its value attached", ["-bbr0"], "-bbr0"],
    ["-b=", ["-b=br0"], "-b"],
    ["--fixed-cidr as two words", ["--fixed-cidr", "10.11.12.0/25"], "--fixed-cidr"],
    ["--bip=", ["--bip=10.11.12.1/24"], "--bip"],
    ["--bip as two words", ["--bip", "10.11.12.1/24"], "--bip"],
    ["--mtu=", ["--mtu=1400"], "--mtu"],
    ["--mtu as two words", ["--mtu", "1400"], "--mtu"],
  ];
  it.each(cases)("%s is an error at that argument, in docker.args and in a host's own", async (_label, args, flag) => {
    const list = JSON.stringify(["-H", "fd://", ...args]);
    const text = topology({ docker: `  args: ${list}\n`, b: `    docker:\n      args: ${list}\n` });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    const first = JSON.stringify(args[0]);
    expect(errors(stderr)).toEqual([at(file, text, `args: ${list}`, first, owned(flag)), at(file, text, `args: ${list}`, first, owned(flag), 2)]);
  });

  it("--icc false as two words is refused like --icc=false; --icc alone and --icc=true build", async () => {
    const text = topology({ docker: `  args: ["--icc", "false"]\n` });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "args: [", '"--icc"', "docker args must not set --icc=false: dockerd reads it as false, and cross-host traffic passes the FORWARD chain only by Docker's inter-container rule")]);
    for (const args of [`["--icc"]`, `["--icc=true"]`, `["--icc", "true"]`, `["--bridge-nf-call-iptables"]`, `["--mtu-probe"]`, `["--debug", "-D", "-l", "warn"]`, `["--bridgex=1"]`]) {
      const result = await check(topology({ docker: `  args: ${args}\n` }));
      expect(result.stderr, args).toBe("");
      expect(result.code, args).toBe(1);
    }
  });
});

describe("the MTU at its limit", () => {
  it("1462 fits a 1500 underlay without a key, 1463 does not; 1458 and 1459 with one", async () => {
    expect((await plan(topology({ overlay: "  mtu: 1462\n" }))).mtu).toBe(1462);
    expect((await plan(topology({ overlay: "  gre_key: 7\n  mtu: 1458\n" }))).mtu).toBe(1458);
    const text = topology({ overlay: "  mtu: 1463\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "mtu: 1463", "1463", "mtu 1463 does not fit: underlay_mtu 1500 minus 38 bytes of GRE overhead is 1462")]);
    const keyed = topology({ overlay: "  gre_key: 7\n  mtu: 1459\n" });
    const result = await check(keyed);
    expect(errors(result.stderr)).toEqual([at(result.file, keyed, "mtu: 1459", "1459", "mtu 1459 does not fit: underlay_mtu 1500 minus 42 bytes of GRE overhead (with a key) is 1458")]);
  });

  it("auto is the underlay MTU minus the overhead at the smallest underlay, and 68 is a valid explicit MTU", async () => {
    expect((await plan(topology({ overlay: "  underlay_mtu: 576\n" }))).mtu).toBe(538);
    expect((await plan(topology({ overlay: "  underlay_mtu: 576\n  gre_key: 0\n" }))).mtu).toBe(534);
    expect((await plan(topology({ overlay: "  mtu: 68\n" }))).mtu).toBe(68);
  });
});

describe("host bits", () => {
  it("a subnet whose host bits only its own mask reveals is an error that suggests the aligned form", async () => {
    // 10.11.13.0 is aligned for /24 but not for /23.
    const text = topology({ overlay: "  subnet: 10.11.13.0/23\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "subnet: 10.11.13.0/23", "10.11.13.0/23", "10.11.13.0/23 has host bits set; did you mean 10.11.12.0/23?")]);
    expect((await check(topology({ overlay: "  subnet: 10.11.12.0/23\n" }))).code).toBe(1);
  });

  it("a fixed_cidr with one host bit below its mask is refused; the aligned neighbour builds", async () => {
    const text = topology({ a: "    fixed_cidr: 10.11.12.64/25\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "fixed_cidr: 10.11.12.64/25", "10.11.12.64/25", "10.11.12.64/25 has host bits set; did you mean 10.11.12.0/25?")]);
    const built = await plan(topology({ a: "    fixed_cidr: 10.11.12.128/25\n" }));
    expect(built.hosts[0]!.fixed_cidr).toBe("10.11.12.128/25");
  });
});

describe("ranges and the subnet", () => {
  it("a fixed_cidr wider than the subnet, or beside it, is an error at its value", async () => {
    const text = topology({ a: "    fixed_cidr: 10.11.12.0/23\n", b: "    fixed_cidr: 10.11.14.0/26\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([
      at(file, text, "fixed_cidr: 10.11.12.0/23", "10.11.12.0/23", "fixed_cidr 10.11.12.0/23 is not inside the overlay subnet 10.11.12.0/24"),
      at(file, text, "fixed_cidr: 10.11.14.0/26", "10.11.14.0/26", "fixed_cidr 10.11.14.0/26 is not inside the overlay subnet 10.11.12.0/24"),
    ]);
  });

  it("a fixed_cidr at the subnet's last block builds", async () => {
    const built = await plan(topology({ a: "    fixed_cidr: 10.11.12.128/26\n", b: "    fixed_cidr: 10.11.12.252/30\n" }));
    expect(built.hosts.map((h) => h.fixed_cidr)).toEqual(["10.11.12.128/26", "10.11.12.252/30"]);
  });

  it("host_prefix equal to the subnet's is refused; one bit longer builds", async () => {
    const text = topology({ overlay: "  host_prefix: 24\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "host_prefix: 24", "24", "host_prefix /24 must be longer than the subnet's /24: each host gets a part of the subnet")]);
    // docker3's range holds .1, so the bridge addresses start above it, and docker1 takes the upper half.
    const built = await plan(topology({ overlay: "  host_prefix: 25\n", b: "    fixed_cidr: 10.11.12.0/26\n" }));
    expect(built.hosts.map((h) => [h.bridge_ip, h.fixed_cidr])).toEqual([["10.11.12.64", "10.11.12.128/25"], ["10.11.12.65", "10.11.12.0/26"]]);
  });

  it("a bridge_ip at the subnet's network or broadcast address is refused; the ones beside them build", async () => {
    const text = topology({ a: "    bridge_ip: 10.11.12.0\n", b: "    bridge_ip: 10.11.12.255\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([
      at(file, text, "bridge_ip: 10.11.12.0", "10.11.12.0", "bridge_ip is the network address of 10.11.12.0/24"),
      at(file, text, "bridge_ip: 10.11.12.255", "10.11.12.255", "bridge_ip is the broadcast address of 10.11.12.0/24"),
    ]);
    const built = await plan(topology({ a: "    bridge_ip: 10.11.12.1\n", b: "    bridge_ip: 10.11.12.254\n" }));
    expect(built.hosts.map((h) => h.bridge_ip)).toEqual(["10.11.12.1", "10.11.12.254"]);
  });
});

describe("running out of room", () => {
  // 10.0.0.0/29: .0 is the network and .7 the broadcast address; explicit ranges take the rest.
  const small = (b: string) =>
    `version: 1\noverlay:\n  subnet: 10.0.0.0/29\n  host_prefix: 30\nhosts:\n  h1:\n    underlay_ip: 192.0.2.1\n    fixed_cidr: 10.0.0.0/30\n  h2:\n    underlay_ip: 192.0.2.2\n    fixed_cidr: ${b}\n`;

  it("bridge addresses: the last free one below the broadcast address is used, then an error at the host that finds none", async () => {
    const built = await plan(small("10.0.0.4/32"));
    expect(built.hosts.map((h) => h.bridge_ip)).toEqual(["10.0.0.5", "10.0.0.6"]);
    const text = small("10.0.0.4/31");
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "  h2:", "h2", "10.0.0.0/29 has no room left for h2: 1 more bridge address needed; widen overlay.subnet to 10.0.0.0/28")]);
    // Ranges over every address: the first host finds none, and the error counts both.
    const none = small("10.0.0.4/30");
    const result = await check(none);
    expect(errors(result.stderr)).toEqual([at(result.file, none, "  h1:", "h1", "10.0.0.0/29 has no room left for h1: 2 more bridge addresses needed; widen overlay.subnet to 10.0.0.0/28")]);
  });

  it("ranges: the subnet's last block is used, then the error counts every host still without one", async () => {
    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `  h${i + 1}:\n    underlay_ip: 192.0.2.${i + 1}\n`).join("");
    // /27 in /30 blocks: the first holds the bridge addresses .1-.3 of three hosts, which leaves 7.
    const fits = await plan(`version: 1\noverlay:\n  subnet: 10.0.0.0/27\n  host_prefix: 30\nhosts:\n${hosts(3)}`);
    expect(fits.hosts.map((h) => h.fixed_cidr)).toEqual(["10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30"]);
    const seven = `version: 1\noverlay:\n  subnet: 10.0.0.0/28\n  host_prefix: 30\nhosts:\n${hosts(4)}`;
    // /28: .0/30 and .4/30 hold the four bridge addresses, so .8/30 and .12/30 remain for four hosts.
    const { code, stderr, file } = await check(seven);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, seven, "  h3:", "h3", "10.0.0.0/28 has no room left for h3: 2 more /30 ranges needed; widen overlay.subnet to 10.0.0.0/27")]);
    const last = await plan(`version: 1\noverlay:\n  subnet: 10.0.0.0/28\n  host_prefix: 30\nhosts:\n${hosts(3)}`);
    expect(last.hosts.map((h) => h.fixed_cidr)).toEqual(["10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30"]);
  });
});

describe("the number of hosts", () => {
  // A subnet with host bits stops the build after validation, so a thousand hosts stay quick.
  const many = (n: number) =>
    `version: 1\noverlay:\n  subnet: 10.11.12.1/16\nhosts:\n${Array.from({ length: n }, (_, i) => `  h${i}:\n    underlay_ip: 172.16.${i >> 8}.${i & 255}\n`).join("")}`;

  it("1000 hosts are allowed, 1001 are refused at the hosts key", async () => {
    const allowed = await check(many(1000));
    expect(errors(allowed.stderr)).toEqual([at(allowed.file, many(1000), "subnet:", "10.11.12.1/16", "10.11.12.1/16 has host bits set; did you mean 10.11.0.0/16?")]);
    const text = many(1001);
    const refused = await check(text);
    expect(errors(refused.stderr)).toEqual([
      at(refused.file, text, "subnet:", "10.11.12.1/16", "10.11.12.1/16 has host bits set; did you mean 10.11.0.0/16?"),
      at(refused.file, text, "hosts:", "hosts", "hosts lists 1001 hosts; a full mesh of more than 1000 (999000 tunnel ends) is not supported"),
    ]);
  });
});

describe("derived GRE port names", () => {
  const hash = (name: string) => createHash("sha256").update(name).digest("hex").slice(0, 6);
  const ports = async (a: string, b: string) => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topology().replace("docker1:", `${a}:`).replace("docker3:", `${b}:`));
    const result = await run("plan", file, "--json");
    expect(result.code, result.stderr).toBe(0);
    return (JSON.parse(result.stdout).hosts as { tunnels: { port: string }[] }[]).map((h) => h.tunnels[0]!.port);
  };

  it("gre-<host> up to 15 characters; a longer name or one with a dot gets a stem and a hash", async () => {
    // Each host's tunnel goes to the other, so the ports come out crosswise.
    expect(await ports("abcdefghijk", "abcdefghijkl")).toEqual([`g-abcdef-${hash("abcdefghijkl")}`, "gre-abcdefghijk"]);
    expect(await ports("ab-c--long.example", "a.b")).toEqual([`g-a-b-${hash("a.b")}`, `g-ab-c-${hash("ab-c--long.example")}`]);
  });
});

describe("arguments that only contain an owned flag's letters", () => {
  it("a value with -b inside it, or --bridge inside a label, builds", async () => {
    const result = await check(topology({ docker: `  args: ["-H", "unix:///run/my-bridge.sock", "--label=x--bridge=y"]\n` }));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(1);
  });
});

describe("what is checked only once the topology is valid", () => {
  it("a rule's error elsewhere does not hide allocation's: the lock conflict is reported beside it", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topology());
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    // docker3 now claims docker1's recorded bridge address, and also repeats its underlay address.
    const text = topology({ b: "    bridge_ip: 10.11.12.1\n" }).replace("192.168.50.101", "10.10.10.101");
    writeFileSync(file, text);
    const result = await run("check", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(errors(result.stderr)).toEqual([
      at(file, text, "underlay_ip: 10.10.10.101", "10.10.10.101", "underlay_ip is also docker1's", 2),
      at(file, text, "bridge_ip: 10.11.12.1", "10.11.12.1", "bridge_ip claims 10.11.12.1, docker1's bridge address recorded in topology.lock; choose another so docker1 keeps its address"),
    ]);
    writeFileSync(file, topology({ b: "    bridge_ip: 10.11.12.1\n" }));
    const conflict = await run("check", file, "-o", join(dir, "out"));
    expect(errors(conflict.stderr)).toEqual([at(file, topology({ b: "    bridge_ip: 10.11.12.1\n" }), "bridge_ip: 10.11.12.1", "10.11.12.1", "bridge_ip claims 10.11.12.1, docker1's bridge address recorded in topology.lock; choose another so docker1 keeps its address")]);
  });

  it("a /31 subnet: only host_prefix is refused; both of its addresses may be bridge addresses", async () => {
    const text = topology({ overlay: "  subnet: 10.11.12.0/31\n  host_prefix: 30\n", a: "    bridge_ip: 10.11.12.0\n", b: "    bridge_ip: 10.11.12.1\n" });
    const { code, stderr, file } = await check(text);
    expect(code).toBe(2);
    expect(errors(stderr)).toEqual([at(file, text, "host_prefix: 30", "30", "host_prefix /30 must be longer than the subnet's /31: each host gets a part of the subnet")]);
  });
});
