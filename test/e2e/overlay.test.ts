// End to end on the real tools (issue: any number of hosts): each topology is built with the
// bundled CLI, then test/e2e/overlay.sh brings every host up in its own network namespace with
// Open vSwitch, ifupdown and dockerd, and checks reachability, MTU, loops, idempotence and a reboot.
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, ROOT, runExecutable, sh, tempDir } from "../helpers.js";

const TOOLS = ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ifup", "brctl", "dockerd", "docker", "nsenter", "unshare", "iptables", "ethtool", "curl", "busybox", "ping"];
const topologies = readdirSync(join(ROOT, "test/e2e/topologies")).sort();

describe.sequential("overlay on namespaces", { timeout: 600_000 }, () => {
  it.for(topologies)("%s", (name, ctx) => {
    needs(ctx, { root: true, tools: TOOLS });
    const dir = tempDir();
    copyFileSync(join(ROOT, "test/e2e/topologies", name), join(dir, "topology.yml"));
    expect(runExecutable(["build"], dir).code).toBe(0);
    const plan = JSON.parse(runExecutable(["plan", "--json"], dir).stdout);
    type Host = { name: string; underlay_ip: string; fixed_cidr: string; underlay_mtu: number };
    writeFileSync(join(dir, "hosts"), plan.hosts.map((h: Host) => `${h.name} ${h.underlay_ip} ${h.fixed_cidr} ${h.underlay_mtu}\n`).join(""));
    const started = Date.now();
    const result = sh("bash", [join(ROOT, "test/e2e/overlay.sh"), join(dir, "out"), join(dir, "hosts")], {
      env: { BRIDGE: plan.bridge, OVS_BRIDGE: plan.ovs_bridge, MTU: String(plan.mtu), ENCAPSULATION: plan.encapsulation, DST_PORT: String(plan.dst_port ?? "") },
    });
    const lines = result.stdout.split("\n").filter((l) => /^(ok|FAIL|metric|summary) /.test(l));
    console.log(`${name} (${plan.hosts.length} hosts, ${((Date.now() - started) / 1000).toFixed(1)} s):\n${lines.join("\n")}`);
    expect(lines.filter((l) => l.startsWith("FAIL")), result.stderr.slice(-3000)).toEqual([]);
    expect(lines).toContain("summary 0 failure(s)");
    expect(lines.filter((l) => l.startsWith("ok ")).length).toBeGreaterThan(10 * plan.hosts.length);
    expect(result.code).toBe(0);
  });
});
