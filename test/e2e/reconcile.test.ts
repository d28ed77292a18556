// The setup script reconciles Open vSwitch with the topology on a real ovs-vswitchd: a peer that
// leaves loses its tunnel, a key that is dropped leaves the tunnel's options, a changed bridge
// address replaces the old one, and a second run changes nothing. On every platform. Two overlays on
// one host leave each other alone, and a name another overlay holds stops a script before it changes anything.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { needs, ROOT, run, sh, tempDir } from "../helpers.js";
import { onPlatform, PLATFORMS } from "./platforms.js";

const hosts = (names: string[]) => names.map((n, i) => `  ${n}:\n    underlay_ip: 192.0.2.${i + 1}\n`).join("");

it.for(PLATFORMS)("on %s, reruns after hosts leave and settings change leave exactly the current tunnels", { timeout: 900_000 }, async (platform, ctx) => {
  const tools = platform === "host" ? ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl"] : ["mmdebstrap", "chroot"];
  needs(ctx, { root: true, tools: ["setpriv", "unshare", ...tools] });
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  const scripts: string[] = [];
  const buildScript = async (overlay: string, names: string[], bridgeIp = "") => {
    const text = `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  ovs_datapath: netdev\n${overlay}hosts:\n${hosts(names)}`;
    writeFileSync(topology, bridgeIp ? text.replace("  a:\n", `  a:\n    bridge_ip: ${bridgeIp}\n`) : text);
    expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
    const copy = join(dir, `script-${scripts.length}`);
    writeFileSync(copy, sh("cat", [join(dir, "out/a/usr/local/sbin/gre-gen-ovs-setup")]).stdout);
    scripts.push(copy);
  };
  await buildScript("  gre_key: 7\n", ["a", "b", "c"]);
  await buildScript("", ["a", "b"]);
  await buildScript("", ["a", "b"], "10.11.12.9");
  scripts.push(scripts[2]!);
  const result = onPlatform(platform, ["bash", join(ROOT, "test/e2e/reconcile.sh"), ...scripts], { binds: [dir] });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toBe(
    [
      "after run 1",
      "bridge ovs_bridge main",
      'gre-b "192.0.2.2" "7" true',
      'gre-c "192.0.2.3" "7" true',
      "address 10.11.12.1/24",
      "after run 2",
      "bridge ovs_bridge main",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.1/24",
      "after run 3",
      "bridge ovs_bridge main",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.9/24",
      "after run 4",
      "bridge ovs_bridge main",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.9/24",
      "",
    ].join("\n"),
  );
});

it("two overlays on one host keep their own bridges and tunnels; a name the other holds is refused", async (ctx) => {
  needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl"] });
  const dir = tempDir();
  const script = async (name: string, overlay: string, hosts: string) => {
    writeFileSync(join(dir, `${name}.yml`), `version: 1\noverlay:\n  ovs_datapath: netdev\n${overlay}hosts:\n${hosts}`);
    expect((await run("build", join(dir, `${name}.yml`), "-o", join(dir, name))).code).toBe(0);
    return join(dir, name, "a/usr/local/sbin/gre-gen-ovs-setup");
  };
  const first = await script("first", "  subnet: 10.11.12.0/24\n", hosts(["a", "b"]));
  const second = await script("second", "  name: second\n  subnet: 10.99.0.0/24\n  bridge: br-two\n  ovs_bridge: ovs-two\n  gre_key: 2\n", "  a:\n    underlay_ip: 192.0.2.1\n    gre_port: two-a\n  b:\n    underlay_ip: 192.0.2.2\n    gre_port: two-b\n");
  const clash = await script("clash", "  name: third\n  subnet: 10.98.0.0/24\n  bridge: br-three\n  ovs_bridge: ovs-three\n", hosts(["a", "b"]));
  const result = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), first, second, first, clash]);
  expect(result.code, result.stderr).toBe(0);
  const both = ["bridge ovs-two second", "bridge ovs_bridge main", 'gre-b "192.0.2.2"  true', 'two-b "192.0.2.2" "2" true', "address 10.11.12.1/24"];
  expect(result.stdout).toBe(["after run 1", "bridge ovs_bridge main", 'gre-b "192.0.2.2"  true', "address 10.11.12.1/24", "after run 2", ...both, "after run 3", ...both, "run 4 failed", ...both, ""].join("\n"));
  expect(result.stderr).toContain("gre-gen-ovs-setup: gre-b belongs to the overlay 'main'; give this one other names; nothing changed");
});

it("never takes over a bridge that is not the overlay's: an uplink OVS bridge, an addressed or ported Linux bridge, another device", async (ctx) => {
  needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl"] });
  const dir = tempDir();
  const script = async (name: string, overlay: string, peers = hosts(["a", "b"])) => {
    writeFileSync(join(dir, `${name}.yml`), `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  ovs_datapath: netdev\n${overlay}hosts:\n${peers}`);
    expect((await run("build", join(dir, `${name}.yml`), "-o", join(dir, name))).code).toBe(0);
    return join(dir, name, "a/usr/local/sbin/gre-gen-ovs-setup");
  };
  // The host's own network: an OVS uplink bridge with its NIC and address, a Linux bridge with an
  // address, one with a NIC (a tap device), one with an IPv6 address, plain devices; and an OVS
  // bridge a script from before the overlay identity left (tunnels only, one to a host since gone).
  const prepare = [
    "ip tuntap add ul0 mode tap && ovs-vsctl add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy ul0 && ip link set br-phy up && ip address add 10.10.10.1/24 dev br-phy",
    "ip link add br0 type bridge && ip address add 10.10.20.1/24 dev br0",
    "ip tuntap add nic1 mode tap && ip link add br1 type bridge && ip link set nic1 master br1",
    "ip link add br6 type bridge && ip address add 2001:db8:1::1/64 dev br6",
    "ip tuntap add eth9 mode tap && ip tuntap add ul9 mode tap",
    "ovs-vsctl add-br old -- set bridge old datapath_type=netdev -- add-port old gre-b -- set interface gre-b type=gre options:remote_ip=192.0.2.2 -- add-port old gre-z -- set interface gre-z type=gre options:remote_ip=192.0.2.9",
  ].join("\n");
  const show = "ovs-vsctl get bridge br-phy external_ids other_config; ovs-vsctl get interface br-phy mtu_request; ip -o -4 address show dev br0 | awk '{print \"br0\", $4}'; ip -o link show dev nic1 | grep -o 'master [^ ]*'; ip -o link show dev eth9 | grep -o 'mtu [0-9]*'; ip -o link show dev ul9 | grep -c master || true; echo \"old: $(ovs-vsctl list-ports old | xargs)\"";
  const scripts = [
    await script("uplink", "  ovs_bridge: br-phy\n"),
    await script("addressed", "  bridge: br0\n"),
    await script("ported", "  bridge: br1\n"),
    await script("device", "  bridge: eth9\n"),
    await script("ipv6", "  bridge: br6\n"),
    await script("not-ovs", "  ovs_bridge: ul9\n"),
    await script("earlier", "  ovs_bridge: old\n"),
    // Another overlay's tunnel with the same remote, local address and (no) key: OVS cannot make it.
    await script("duplicate", "  name: dup\n  bridge: br-dup\n  ovs_bridge: ovs-dup\n", "  a:\n    underlay_ip: 192.0.2.1\n    tunnel_port: dup-a\n  b:\n    underlay_ip: 192.0.2.2\n    tunnel_port: dup-b\n"),
  ];
  const result = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), ...scripts], { env: { PREPARE: prepare, SHOW: show } });
  expect(result.code, result.stderr).toBe(0);
  const untouched = ["{}", "{}", "[]", "br0 10.10.20.1/24", "master br1", "mtu 1500", "0"];
  const refused = (run: number) => [`run ${run} failed`, "bridge br-phy ", "bridge old ", ...untouched, "old: gre-b gre-z"];
  const adopted = ["bridge br-phy ", "bridge old main", 'gre-b "192.0.2.2"  true', "address 10.11.12.1/24", ...untouched, "old: gre-b"];
  expect(result.stdout).toBe(
    [...refused(1), ...refused(2), ...refused(3), ...refused(4), ...refused(5), ...refused(6), "after run 7", ...adopted, "run 8 failed", "bridge br-phy ", "bridge old main", "bridge ovs-dup dup", 'dup-b "192.0.2.2"  true', 'gre-b "192.0.2.2"  true', "address 10.11.12.1/24", ...untouched, "old: gre-b", ""].join("\n"),
  );
  expect(result.stderr).toContain("gre-gen-ovs-setup: the Open vSwitch bridge br-phy holds ul0, which is not a tunnel: it is not this overlay's; give ovs_bridge another name; nothing changed");
  expect(result.stderr).toContain("gre-gen-ovs-setup: the bridge br0 holds 10.10.20.1/24, which is not in the overlay's subnet 10.11.12.0/24: it is not this overlay's; give the overlay's bridge another name; nothing changed");
  expect(result.stderr).toContain("gre-gen-ovs-setup: the bridge br1 holds nic1, which is neither ovs_bridge nor a container's");
  expect(result.stderr).toContain("gre-gen-ovs-setup: eth9 is a network device that is not a bridge; give the overlay's bridge another name; nothing changed");
  expect(result.stderr).toContain("gre-gen-ovs-setup: the bridge br6 holds 2001:db8:1::1/64, which is not in the overlay's subnet");
  expect(result.stderr).toContain("gre-gen-ovs-setup: ul9 is a network device that is not an Open vSwitch bridge; give ovs_bridge another name; nothing changed");
  expect(result.stderr).toMatch(/gre-gen-ovs-setup: Open vSwitch could not make dup-b: ".+"/);
});

it("a loaded underlay firewall is loaded again with the new peers; one that is not loaded stays so", async (ctx) => {
  needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "nft", "unshare"] });
  const dir = tempDir();
  const build = async (names: string[]) => {
    writeFileSync(join(dir, "topology.yml"), `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  ovs_datapath: netdev\nhosts:\n${hosts(names)}`);
    expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"))).code).toBe(0);
    const fragment = sh("cat", [join(dir, "out/a/etc/nftables.d/gre-gen-underlay.nft")]).stdout;
    const script = join(dir, `script-${names.length}`);
    writeFileSync(script, sh("cat", [join(dir, "out/a/usr/local/sbin/gre-gen-ovs-setup")]).stdout);
    return { fragment, script };
  };
  const before = await build(["a", "b"]);
  const after = await build(["a", "b", "c"]);
  const etc = join(dir, "etc");
  sh("mkdir", ["-p", join(etc, "nftables.d")]);
  writeFileSync(join(etc, "nftables.d/gre-gen-underlay.nft"), after.fragment);
  const show = "nft list set inet gre_gen_underlay peers 2>/dev/null | grep -o 'elements = .*' || echo 'no table'";
  const loaded = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), after.script], {
    env: { PREPARE: `nft -f - <<'NFT'\n${before.fragment}NFT`, SHOW: show, ETC: etc },
  });
  expect(loaded.code, loaded.stderr).toBe(0);
  expect(loaded.stdout).toContain("after run 1\n");
  expect(loaded.stdout).toContain("elements = { 192.0.2.2, 192.0.2.3 }\n");
  const unloaded = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), after.script], { env: { SHOW: show, ETC: etc } });
  expect(unloaded.code, unloaded.stderr).toBe(0);
  expect(unloaded.stdout).toContain("after run 1\n");
  expect(unloaded.stdout).toContain("no table\n");
});

it("converges when bridge takes ovs_bridge's old name, and when the overlay's name and the bridge address change at once", async (ctx) => {
  needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl"] });
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  const scripts: string[] = [];
  const step = async (overlay: string, address = "") => {
    writeFileSync(topology, `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  ovs_datapath: netdev\n${overlay}hosts:\n${hosts(["a", "b"]).replace("  a:\n", `  a:\n${address}`)}`);
    const diff = await run("diff", "--json", topology, "-o", join(dir, "out"));
    expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
    // The host's steps, as a script: each run step in order, with the new setup script in place.
    const steps = (JSON.parse(diff.stdout) as { hosts: { host: string; steps: { run?: string }[] }[] }).hosts.find((h) => h.host === "a")!.steps;
    const copy = join(dir, `script-${scripts.length}`);
    writeFileSync(copy, sh("cat", [join(dir, "out/a/usr/local/sbin/gre-gen-ovs-setup")]).stdout);
    const runs = steps.flatMap((s) => (s.run === undefined ? [] : [s.run === "/usr/local/sbin/gre-gen-ovs-setup" ? `bash ${copy}` : s.run])).filter((line) => /^(bash |ovs-vsctl )/.test(line));
    const file = join(dir, `steps-${scripts.length}`);
    writeFileSync(file, `set -e\n${runs.join("\n")}\n`);
    scripts.push(file);
  };
  await step("");
  await step("  bridge: ovs_bridge\n  ovs_bridge: ovs2\n");
  await step("  name: green\n  bridge: ovs_bridge\n  ovs_bridge: ovs2\n", "    bridge_ip: 10.11.12.9\n");
  const show = "for b in newbridge ovs_bridge; do if ip link show dev $b >/dev/null 2>&1; then ip -o -4 address show dev $b | awk -v b=$b '{print b, $4}'; fi; done";
  const result = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), ...scripts], { env: { SHOW: show } });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toBe(
    [
      "after run 1", "bridge ovs_bridge main", 'gre-b "192.0.2.2"  true', "address 10.11.12.1/24", "newbridge 10.11.12.1/24",
      "after run 2", "bridge ovs2 main", 'gre-b "192.0.2.2"  true', "ovs_bridge 10.11.12.1/24",
      "after run 3", "bridge ovs2 green", 'gre-b "192.0.2.2"  true', "ovs_bridge 10.11.12.9/24",
      "",
    ].join("\n"),
  );
});
