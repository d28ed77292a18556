// Hosts converge through every kind of change by the steps gre-gen prints (README "Deploying a
// host"): each build's `diff --json` is taken against the previous build, and test/e2e/change.sh
// applies exactly those steps on real Open vSwitch, ifupdown and dockerd, then checks
// reachability, the MTU, leftovers, duplicate addresses and which dockerd restarted.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { needs, ROOT, runExecutable, sh, tempDir } from "../helpers.js";

const TOOLS = ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ifup", "ifdown", "ifquery", "brctl", "dockerd", "docker", "nsenter", "ethtool", "busybox", "ping", "python3"];

const host = (name: string, n: number) => `  ${name}:\n    underlay_ip: 10.1.${n}.2\n`;
const topology = (overlay: string, hosts: string) => `version: 1\noverlay:\n  subnet: 10.11.0.0/16\n  ovs_datapath: netdev\n${overlay}hosts:\n${hosts}`;
const abc = host("a", 1) + host("b", 2) + host("c", 3);

/** The first topology, then one change each, as an operator would make them one after another. */
const BUILDS: [string, string][] = [
  ["first deployment", topology("", abc)],
  ["add a host", topology("", abc + host("d", 4))],
  ["remove a host", topology("", host("a", 1) + host("c", 3) + host("d", 4))],
  ["rename bridge", topology("  bridge: br-ctr\n", host("a", 1) + host("c", 3) + host("d", 4))],
  ["rename ovs_bridge", topology("  bridge: br-ctr\n  ovs_bridge: ovs-ovl\n", host("a", 1) + host("c", 3) + host("d", 4))],
  ["add a gre_key", topology("  bridge: br-ctr\n  ovs_bridge: ovs-ovl\n  gre_key: 42\n", host("a", 1) + host("c", 3) + host("d", 4))],
  ["change underlay_mtu", topology("  bridge: br-ctr\n  ovs_bridge: ovs-ovl\n  gre_key: 42\n  underlay_mtu: 1400\n", host("a", 1) + host("c", 3) + host("d", 4))],
  ["narrow host_prefix", topology("  bridge: br-ctr\n  ovs_bridge: ovs-ovl\n  gre_key: 42\n  underlay_mtu: 1400\n  host_prefix: 27\n", host("a", 1) + host("c", 3) + host("d", 4))],
];

it("hosts converge through every change by applying only the steps of diff --json", { timeout: 900_000 }, (ctx) => {
  needs(ctx, { root: true, tools: TOOLS });
  const dir = tempDir();
  const steps: string[] = [];
  BUILDS.forEach(([, text], index) => {
    writeFileSync(join(dir, "topology.yml"), text);
    const diff = runExecutable(["diff", "--json"], dir);
    expect(diff.code, diff.stderr).toBe(1);
    expect(runExecutable(["build"], dir).code).toBe(0);
    const step = join(dir, `build-${index}`);
    mkdirSync(step);
    writeFileSync(join(step, "steps.json"), diff.stdout);
    writeFileSync(join(step, "plan.json"), runExecutable(["plan", "--json"], dir).stdout);
    cpSync(join(dir, "out"), join(step, "out"), { recursive: true });
    steps.push(step);
  });
  const started = Date.now();
  const result = sh("bash", [join(ROOT, "test/e2e/change.sh"), ...steps]);
  const lines = result.stdout.split("\n").filter((l) => /^(ok|FAIL|metric|summary) /.test(l));
  console.log(`${BUILDS.map(([name], i) => `build ${i}: ${name}`).join("; ")} (${((Date.now() - started) / 1000).toFixed(1)} s):\n${lines.join("\n")}`);
  expect(lines.filter((l) => l.startsWith("FAIL")), result.stderr.slice(-3000)).toEqual([]);
  expect(lines).toContain("summary 0 failure(s)");
  for (let i = 0; i < BUILDS.length; i++) expect(lines.filter((l) => l.startsWith(`ok build ${i}: `)).length, `build ${i}`).toBeGreaterThan(10);
  expect(result.code).toBe(0);
});
