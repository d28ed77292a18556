// Changing the encapsulation converges on a real ovs-vswitchd (issue: any underlay): each run of
// the new setup script leaves exactly the new encapsulation's tunnel ports, the old ones deleted
// by the sweep (their names differ), with the key each topology gives.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { needs, ROOT, run, sh, tempDir } from "../helpers.js";

it("gre, vxlan, geneve and back: each script leaves only its own tunnels", async (ctx) => {
  needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl"] });
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  const scripts: string[] = [];
  for (const overlay of ["  key: 7\n", "  encapsulation: vxlan\n  key: 7\n  dst_port: 4790\n", "  encapsulation: geneve\n", "  key: 7\n"]) {
    writeFileSync(topology, `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  ovs_datapath: netdev\n${overlay}hosts:\n  a:\n    underlay_ip: 192.0.2.1\n  b:\n    underlay_ip: 192.0.2.2\n  c:\n    underlay_ip: 192.0.2.3\n`);
    expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
    const copy = join(dir, `script-${scripts.length}`);
    writeFileSync(copy, readFileSync(join(dir, "out/a/usr/local/sbin/gre-gen-ovs-setup")));
    scripts.push(copy);
  }
  const result = sh("bash", [join(ROOT, "test/e2e/reconcile.sh"), ...scripts]);
  expect(result.code, result.stderr).toBe(0);
  const runs = result.stdout.split(/after run \d+\n/).slice(1).map((block) => block.split("\n").filter((l) => !l.startsWith("address") && !l.startsWith("bridge ")).join("\n").trim());
  expect(runs).toEqual([
    'gre-b "192.0.2.2" "7" true\ngre-c "192.0.2.3" "7" true',
    'vxlan-b "192.0.2.2" "7" true\nvxlan-c "192.0.2.3" "7" true',
    'geneve-b "192.0.2.2"  true\ngeneve-c "192.0.2.3"  true',
    'gre-b "192.0.2.2" "7" true\ngre-c "192.0.2.3" "7" true',
  ]);
});
