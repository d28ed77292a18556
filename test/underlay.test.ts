// Underlays (issue: any host, any underlay): the encapsulation, its key and UDP port, the MTU each
// overhead leaves, per-host underlay MTUs, port names that say what they are, local_ip on every
// tunnel, and the daemon.json keys the setup script refuses.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerConfigOf } from "../src/docker-config.js";
import { compile } from "../src/pipeline.js";
import { readTree, ROOT, run, tempDir } from "./helpers.js";

function topology(overlay: string, hosts = "  web-01:\n    underlay_ip: 10.10.1.10\n  web-02:\n    underlay_ip: 10.10.2.10\n") {
  return `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n${overlay}hosts:\n${hosts}`;
}

function build(text: string) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  const compilation = compile(join(dir, "topology.yml"));
  const files = [...compilation.outputs()];
  const file = (path: string) => files.find((f) => f.path === path)!.content;
  return { plan: compilation.plan, script: file("web-01/usr/local/sbin/gre-gen-ovs-setup"), dropIn: file("web-01/etc/systemd/system/docker.service.d/gre-gen.conf") };
}

describe("encapsulation", () => {
  it("gre written out changes no byte of any output of a version 1 topology", async () => {
    const dir = tempDir(join(ROOT, "examples/three-hosts-key"));
    const text = readFileSync(join(dir, "topology.yml"), "utf8");
    expect(text).not.toContain("encapsulation");
    expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "implicit"))).code).toBe(0);
    writeFileSync(join(dir, "topology.yml"), text.replace("overlay:\n", "overlay:\n  encapsulation: gre\n"));
    expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "explicit"))).code).toBe(0);
    expect(readTree(join(dir, "explicit"))).toEqual(readTree(join(dir, "implicit")));
  });

  // The host's own address is the script's $local_ip, set once: every host's steps for a tunnel read alike.
  const cases: [string, string, number, string][] = [
    ["GRE", "", 1462, String.raw`type=gre "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\" }"`],
    ["GRE with a key", "  key: 4294967295\n", 1458, String.raw`type=gre "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\", key=\"4294967295\" }"`],
    ["GRE with its version 1 key", "  gre_key: 9\n", 1458, String.raw`type=gre "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\", key=\"9\" }"`],
    ["VXLAN", "  encapsulation: vxlan\n", 1450, String.raw`type=vxlan "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\" }"`],
    ["VXLAN with a VNI and a port", "  encapsulation: vxlan\n  key: 16777215\n  dst_port: 8472\n", 1450, String.raw`type=vxlan "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\", key=\"16777215\", dst_port=\"8472\" }"`],
    ["Geneve on 9000", "  encapsulation: geneve\n  underlay_mtu: 9000\n  key: 0\n", 8950, String.raw`type=geneve "options={remote_ip=\"10.10.2.10\", local_ip=\"$local_ip\", key=\"0\" }"`],
  ];
  it.each(cases)("%s: MTU %s, and the tunnel's type and options set whole", (_, overlay, mtu, tunnel) => {
    const { plan, script, dropIn } = build(topology(overlay));
    expect(plan.mtu).toBe(mtu);
    expect(script).toContain("\nlocal_ip=10.10.1.10\n");
    expect(script).toContain(`  -- set interface ${plan.hosts[0]!.tunnels[0]!.port} ${tunnel} bfd:enable=true \\\n`);
    expect(script).toContain(`mtu_request=${mtu}\n`);
    expect(dropIn).toContain(` --mtu=${mtu}\n`);
  });

  it("names ports after what they are, hashing names too long for an interface", () => {
    const hosts = "  web-01:\n    underlay_ip: 10.10.1.10\n  db-01.example.net:\n    underlay_ip: 10.10.3.10\n";
    const ports = (encapsulation: string) => build(topology(`  encapsulation: ${encapsulation}\n`, hosts)).plan.hosts.map((h) => h.tunnels[0]!.port);
    expect(ports("gre")).toEqual([expect.stringMatching(/^g-db-01-[0-9a-f]{6}$/), "gre-web-01"]);
    expect(ports("vxlan")).toEqual([expect.stringMatching(/^vx-db-01-[0-9a-f]{6}$/), "vxlan-web-01"]);
    expect(ports("geneve")).toEqual([expect.stringMatching(/^gnv-db-0-[0-9a-f]{6}$/), "geneve-web-01"]);
  });

  it("a changed encapsulation renames every tunnel port, so the script's sweep deletes the old ones", () => {
    const gre = build(topology("")).script;
    const vxlan = build(topology("  encapsulation: vxlan\n")).script;
    expect(gre).toContain('--may-exist add-port "$ovs_bridge" gre-web-02 ');
    expect(vxlan).toContain("wanted_ports=(vxlan-web-02)");
    expect(vxlan).toContain('stale+=(-- --if-exists del-port "$port")');
  });
});

describe("per-host underlay MTU", () => {
  it("takes the smallest host's underlay MTU for the one overlay MTU, and says whose", () => {
    const hosts = "  web-01:\n    underlay_ip: 10.10.1.10\n  db-01:\n    underlay_ip: 10.10.3.10\n    underlay_mtu: 1400\n  big:\n    underlay_ip: 10.10.4.10\n    underlay_mtu: 9000\n";
    const { plan } = build(topology("  encapsulation: vxlan\n", hosts));
    expect(plan.mtu).toBe(1350);
    expect(plan.hosts.map((h) => h.underlayMtu)).toEqual([1500, 1400, 9000]);
    expect(plan.narrowestHost).toBe("db-01");
  });

  it("overlay.underlay_mtu is the value of every host that sets none", () => {
    const jumbo = "  web-01:\n    underlay_ip: 10.10.1.10\n    underlay_mtu: 9000\n  web-02:\n    underlay_ip: 10.10.2.10\n    underlay_mtu: 9000\n";
    expect(build(topology("", jumbo)).plan.mtu).toBe(8962);
    const oneJumbo = "  web-01:\n    underlay_ip: 10.10.1.10\n    underlay_mtu: 9000\n  web-02:\n    underlay_ip: 10.10.2.10\n";
    expect(build(topology("", oneJumbo)).plan).toMatchObject({ mtu: 1462, narrowestHost: "web-02" });
  });
});

describe("the setup script's guards", () => {
  it("holds the host's own name and underlay address, and the daemon.json keys its command line sets", () => {
    const { script } = build(topology(""));
    expect(script).toContain("ip -4 -o address show to 10.10.1.10/32");
    expect(script).toContain("this script is for web-01,");
    expect(script).toContain('owned_keys=" bridge bip fixed-cidr mtu hosts containerd "');
    // Every guard comes before the first command that changes anything.
    const firstChange = script.indexOf("\novs-vsctl");
    for (const guard of ["address show to", "daemon_json=", "/etc/default/docker", "exit 1"]) expect(script.indexOf(guard)).toBeLessThan(firstChange);
  });

  const keyCases: [string[], string, string[]][] = [
    [[], "/etc/docker/daemon.json", ["bridge", "bip", "fixed-cidr", "mtu"]],
    [["-H", "fd://", "--containerd=/run/containerd/containerd.sock"], "/etc/docker/daemon.json", ["bridge", "bip", "fixed-cidr", "mtu", "hosts", "containerd"]],
    [["--host=unix:///x", "--log-level", "warn", "--label=a=b", "-D", "--insecure-registry=r:5000"], "/etc/docker/daemon.json", ["bridge", "bip", "fixed-cidr", "mtu", "hosts", "log-level", "labels", "debug", "insecure-registries"]],
    [["--config-file=/srv/docker.json", "--iptables=true"], "/srv/docker.json", ["bridge", "bip", "fixed-cidr", "mtu", "iptables"]],
    [["--config-file", "/srv/d.json"], "/srv/d.json", ["bridge", "bip", "fixed-cidr", "mtu"]],
    [["x--debug", "-Dx", "--Debug", "-v"], "/etc/docker/daemon.json", ["bridge", "bip", "fixed-cidr", "mtu"]],
    [["--graph=/d", "-l", "warn"], "/etc/docker/daemon.json", ["bridge", "bip", "fixed-cidr", "mtu", "data-root", "log-level"]],
    [
      ["--host=x", "-G", "g", "-p", "/p", "-g", "/d", "-s", "overlay2", "--label=a", "--storage-opt=x", "--log-opt=x", "--exec-opt=x", "--dns-opt=x", "--registry-mirror=x", "--add-runtime=x", "--default-ulimit=x", "--authorization-plugin=x", "--node-generic-resource=x"],
      "/etc/docker/daemon.json",
      ["bridge", "bip", "fixed-cidr", "mtu", "hosts", "group", "pidfile", "data-root", "storage-driver", "labels", "storage-opts", "log-opts", "exec-opts", "dns-opts", "registry-mirrors", "runtimes", "default-ulimits", "authorization-plugins", "node-generic-resources"],
    ],
  ];
  it.each(keyCases)("args %j: %s may not set %j", (args, file, keys) => {
    expect(dockerConfigOf(args)).toEqual({ file, ownedKeys: keys });
  });
});

describe("changing the encapsulation", () => {
  it("is flagged as fleet-wide in the impact summary, every host rerunning its script", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topology(""));
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    writeFileSync(file, topology("  encapsulation: geneve\n"));
    const result = await run("check", file, "-o", join(dir, "out"));
    expect(result.code).toBe(1);
    const json = JSON.parse((await run("check", file, "-o", join(dir, "out"), "--json")).stdout);
    // 50 bytes of Geneve instead of 38 of GRE: the MTU changes too.
    expect(json.warnings.map((w: { change: string }) => w.change)).toEqual(["encapsulation", "mtu"]);
    for (const host of json.hosts) expect(host.steps).toContainEqual({ run: "/usr/local/sbin/gre-gen-ovs-setup" });
    expect(result.stdout).toContain("the encapsulation changes from gre to geneve: tunnels between a host that has run its steps and one that has not carry nothing");
    expect((await run("build", file, "-o", join(dir, "out"))).stdout).toContain("the encapsulation changes from gre to geneve");
    writeFileSync(file, topology("  encapsulation: geneve\n  key: 5\n"));
    expect((await run("check", file, "-o", join(dir, "out"))).stdout).not.toContain("the encapsulation changes");
  });
});
