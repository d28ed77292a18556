// Allocation, stability and MTU (SPEC §1): absent addresses get the lowest free ones, the lock
// keeps them when hosts come and go, and the MTU follows the GRE overhead.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../src/pipeline.js";
import { readTree, run, tempDir } from "./helpers.js";

function topology(hosts: string[], overlay = "") {
  const lines = hosts.map((name, i) => `  ${name}:\n    underlay_ip: 192.0.2.${i + 10}\n`);
  return `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n${overlay}hosts:\n${lines.join("")}`;
}

/** Underlay addresses follow the name, so a host keeps its own wherever it stands in the list. */
function topologyByName(hosts: string[]) {
  const lines = hosts.map((name) => `  ${name}:\n    underlay_ip: 192.0.2.${Number(name.replace(/\D/g, "")) + 10}\n`);
  return `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  host_prefix: 28\nhosts:\n${lines.join("")}`;
}

function planOf(text: string, dir = tempDir()) {
  writeFileSync(join(dir, "topology.yml"), text);
  return compile(join(dir, "topology.yml")).plan;
}

describe("allocation", () => {
  it("gives absent bridge addresses the lowest free ones and ranges the lowest free aligned blocks", () => {
    const plan = planOf(topology(["a", "b", "c"]));
    expect(plan.hosts.map((h) => [h.bridgeAddress, h.fixedCidr])).toEqual([
      ["10.11.12.1/24", "10.11.12.64/26"],
      ["10.11.12.2/24", "10.11.12.128/26"],
      ["10.11.12.3/24", "10.11.12.192/26"],
    ]);
  });

  it("works around explicit values, and says how many more ranges a full subnet needed", async () => {
    const explicitA = (hosts: string[]) => topology(hosts).replace("  a:\n", "  a:\n    bridge_ip: 10.11.12.70\n    fixed_cidr: 10.11.12.128/26\n");
    const plan = planOf(explicitA(["a", "b"]));
    // 0/26 holds b's bridge address and 64/26 holds a's, so b's range is the last block.
    expect(plan.hosts.map((h) => [h.bridgeIp, h.fixedCidr])).toEqual([
      ["10.11.12.70", "10.11.12.128/26"],
      ["10.11.12.1", "10.11.12.192/26"],
    ]);
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), explicitA(["a", "b", "c", "d"]));
    const result = await run("plan", join(dir, "topology.yml"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: 10.11.12.0/24 has no room left for c: 2 more /26 ranges needed");
  });
});

describe("stability", () => {
  const perHost = (out: string, host: string) => {
    const tree = readTree(join(out, host));
    return { stanza: tree.get("etc/network/interfaces.d/newbridge")?.content, dropIn: tree.get("etc/systemd/system/docker.service.d/gre-gen.conf")?.content, script: tree.get("usr/local/sbin/gre-gen-ovs-setup")?.content };
  };
  const before = ["h1", "h2", "h3", "h4", "h5"];
  const changes: [string, string[]][] = [
    ["a host added first", ["h6", ...before]],
    ["a host added in the middle", ["h1", "h2", "h6", "h3", "h4", "h5"]],
    ["a host added last", [...before, "h6"]],
    ["a host removed", ["h1", "h2", "h4", "h5"]],
    ["the list reordered", [...before].reverse()],
  ];

  it.each(changes)("%s changes no other host's address, range, stanza or drop-in", async (_, after) => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    const out = join(dir, "out");
    writeFileSync(file, topologyByName(before));
    expect((await run("build", file, "-o", out)).code).toBe(0);
    const old = Object.fromEntries(before.map((h) => [h, perHost(out, h)]));
    const oldPlan = compile(file).plan;
    writeFileSync(file, topologyByName(after));
    expect((await run("build", file, "-o", out)).code).toBe(0);
    const newPlan = compile(file).plan;
    for (const host of before.filter((h) => after.includes(h))) {
      const was = oldPlan.hosts.find((h) => h.name === host)!;
      const is = newPlan.hosts.find((h) => h.name === host)!;
      expect([is.bridgeIp, is.fixedCidr], host).toEqual([was.bridgeIp, was.fixedCidr]);
      const now = perHost(out, host);
      expect(now.stanza, host).toBe(old[host]!.stanza);
      expect(now.dropIn, host).toBe(old[host]!.dropIn);
      const peersChanged = after.length !== before.length || after.some((h) => !before.includes(h));
      if (peersChanged) expect(now.script, host).not.toBe(old[host]!.script);
      else expect(now.script, host).toBe(old[host]!.script);
    }
  });

  it("refuses an explicit value that would take a locked host's range", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topologyByName(["h1", "h2"]));
    await run("build", file, "-o", join(dir, "out"));
    const taken = compile(file).plan.hosts[0]!.fixedCidr;
    writeFileSync(file, topologyByName(["h1", "h2", "h3"]).replace("  h3:\n", `  h3:\n    fixed_cidr: ${taken}\n`));
    const result = await run("build", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: fixed_cidr overlaps ${taken}, h1's range recorded in topology.lock; choose another so h1 keeps its range`);
  });

  it("reports a damaged lock at its line", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topologyByName(["h1", "h2"]));
    await run("build", file, "-o", join(dir, "out"));
    writeFileSync(join(dir, "topology.lock"), readFileSync(join(dir, "topology.lock"), "utf8").replace(/bridge_ip: \S+/, "bridge_ip: nowhere"));
    const result = await run("check", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/topology\.lock:7:16: error: damaged lock file/);
  });
});

describe("MTU", () => {
  const cases: [string, string, number][] = [
    ["a 1500 underlay", "", 1462],
    ["a 1500 underlay with a GRE key", "  gre_key: 1001\n", 1458],
    ["a 9000 underlay", "  underlay_mtu: 9000\n", 8962],
    ["a 9000 underlay with a GRE key", "  underlay_mtu: 9000\n  gre_key: 0\n", 8958],
    ["an explicit MTU below the limit", "  mtu: 1400\n", 1400],
  ];
  it.each(cases)("%s gives %s", async (_, overlay, mtu) => {
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), topology(["a", "b"], overlay));
    await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
    const files = readTree(join(dir, "out", "a"));
    expect(files.get("etc/network/interfaces.d/newbridge")?.content).toContain(`    mtu ${mtu}\n`);
    expect(files.get("etc/systemd/system/docker.service.d/gre-gen.conf")?.content).toContain(` --mtu=${mtu}\n`);
    const script = files.get("usr/local/sbin/gre-gen-ovs-setup")!.content;
    expect(script).toMatch(new RegExp(`mtu_request=${mtu}$`, "m"));
    expect(script).toContain(`ip link set dev "$bridge" mtu ${mtu}\n`);
  });
});
