// Hosts converge through every kind of change by the steps gre-gen prints (README "Deploying a
// host"): each build's `diff --json` is taken against the previous build, and test/e2e/change.sh
// applies exactly those steps on real Open vSwitch, ifupdown and dockerd, then checks
// reachability, the MTU, leftovers, duplicate addresses and which dockerd restarted.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
  ["rename the overlay", topology("  name: blue\n  bridge: br-ctr\n  ovs_bridge: ovs-ovl\n  gre_key: 42\n  underlay_mtu: 1400\n  host_prefix: 27\n", host("a", 1) + host("c", 3) + host("d", 4))],
];

/** Builds the first `count` topologies one after another; each step folder holds its diff --json, plan and output. */
function buildSteps(count: number): string[] {
  const dir = tempDir();
  return BUILDS.slice(0, count).map(([, text], index) => {
    writeFileSync(join(dir, "topology.yml"), text);
    const diff = runExecutable(["diff", "--json"], dir);
    expect(diff.code, diff.stderr).toBe(1);
    expect(runExecutable(["build"], dir).code).toBe(0);
    const step = join(dir, `build-${index}`);
    mkdirSync(step);
    writeFileSync(join(step, "steps.json"), diff.stdout);
    writeFileSync(join(step, "plan.json"), runExecutable(["plan", "--json"], dir).stdout);
    cpSync(join(dir, "out"), join(step, "out"), { recursive: true });
    return step;
  });
}

function runChanges(steps: string[], env: NodeJS.ProcessEnv = {}): void {
  const started = Date.now();
  const result = sh("bash", [join(ROOT, "test/e2e/change.sh"), ...steps], { env });
  const lines = result.stdout.split("\n").filter((l) => /^(ok|FAIL|metric|summary) /.test(l));
  console.log(`${BUILDS.slice(0, steps.length).map(([name], i) => `build ${i}: ${name}`).join("; ")} (${((Date.now() - started) / 1000).toFixed(1)} s):\n${lines.join("\n")}`);
  expect(lines.filter((l) => l.startsWith("FAIL")), result.stderr.slice(-3000)).toEqual([]);
  expect(lines).toContain("summary 0 failure(s)");
  for (let i = 0; i < steps.length; i++) expect(lines.filter((l) => l.startsWith(`ok build ${i}: `)).length, `build ${i}`).toBeGreaterThan(10);
  expect(result.code).toBe(0);
}

describe.sequential("changes on namespaces", { timeout: 900_000 }, () => {
  it("hosts converge through every change by applying only the steps of diff --json", (ctx) => {
    needs(ctx, { root: true, tools: TOOLS });
    runChanges(buildSteps(BUILDS.length));
  });

  it("docs/ansible/deploy.yml applies the same steps: a first deployment, a host added, one removed", (ctx) => {
    needs(ctx, { root: true, tools: [...TOOLS, "ansible-playbook", "unshare"] });
    runChanges(buildSteps(3), { E2E_APPLY: "ansible" });
  });
});
