// End to end on the real tools (issue: any number of hosts), on every platform of platforms.ts:
// each topology is built with the bundled CLI, then test/e2e/overlay.sh brings every host up in
// its own network namespace with Open vSwitch, ifupdown and dockerd, and checks reachability,
// MTU, loops, idempotence and a reboot, and that gre-gen-verify passes on every host and catches
// each planted fault (test/e2e/verify.sh). Each platform prints the versions it ran and its times.
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, runExecutable, tempDir } from "../helpers.js";
import { matchesReadme, onPlatform, PLATFORMS, preparePlatform, type PlatformVersions } from "./platforms.js";

const TOOLS = ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ifup", "brctl", "dockerd", "docker", "nsenter", "unshare", "iptables", "ethtool", "curl", "busybox", "ping"];
const topologies = readdirSync(join(ROOT, "test/e2e/topologies")).sort();

for (const platform of PLATFORMS) {
  describe.sequential(`overlay on ${platform}`, { timeout: 600_000 }, () => {
    let versions: PlatformVersions | undefined;
    let seconds = 0;

    it("platform: root file system and versions", { timeout: 900_000 }, (ctx) => {
      versions = preparePlatform(ctx, platform, TOOLS);
      // Unstable moves daily: a README row that no longer matches is reported, not failed.
      versions.readme = matchesReadme(versions) ? "matches" : "differs";
      ctx.task.meta.platform = versions;
      console.log(`platform ${platform}: ${JSON.stringify(versions)}`);
      expect(versions.docker).not.toBe("missing");
    });

    it.for(topologies)("%s", (name, ctx) => {
      if (!versions) {
        const reason = `the ${platform} platform is not prepared (see its first test)`;
        if (process.env.CI === "true") throw new Error(reason);
        ctx.skip(reason);
      }
      const dir = tempDir();
      copyFileSync(join(ROOT, "test/e2e/topologies", name), join(dir, "topology.yml"));
      expect(runExecutable(["build"], dir).code).toBe(0);
      const plan = JSON.parse(runExecutable(["plan", "--json"], dir).stdout);
      type Host = { name: string; underlay_ip: string; fixed_cidr: string; underlay_mtu: number };
      writeFileSync(join(dir, "hosts"), plan.hosts.map((h: Host) => `${h.name} ${h.underlay_ip} ${h.fixed_cidr} ${h.underlay_mtu}\n`).join(""));
      const started = Date.now();
      const result = onPlatform(platform, ["bash", join(ROOT, "test/e2e/overlay.sh"), join(dir, "out"), join(dir, "hosts")], {
        binds: [dir],
        env: { BRIDGE: plan.bridge, OVS_BRIDGE: plan.ovs_bridge, MTU: String(plan.mtu), ENCAPSULATION: plan.encapsulation, DST_PORT: String(plan.dst_port ?? "") },
      });
      const took = (Date.now() - started) / 1000;
      seconds += took;
      const lines = result.stdout.split("\n").filter((l) => /^(ok|FAIL|metric|seen|summary) /.test(l));
      console.log(`${name} on ${platform} (${plan.hosts.length} hosts, ${took.toFixed(1)} s):\n${lines.join("\n")}`);
      expect(lines.filter((l) => l.startsWith("FAIL")), result.stderr.slice(-3000)).toEqual([]);
      expect(lines).toContain("summary 0 failure(s)");
      expect(lines.filter((l) => l.startsWith("ok ")).length).toBeGreaterThan(10 * plan.hosts.length);
      expect(result.code).toBe(0);
      // Each host's gre-gen-verify --json on the healthy overlay: every check passed, a reach and a
      // BFD check per peer, a tunnel check per tunnel of the plan.
      type Report = { host: string; status: string; checks: { check: string; subject: string; status: string }[] };
      const reports: Report[] = result.stdout.split("\n").filter((l) => l.startsWith("verify-json 0 ")).map((l) => JSON.parse(l.slice("verify-json 0 ".length)));
      expect(reports.map((r) => r.host)).toEqual(plan.hosts.map((h: Host) => h.name));
      for (const [n, report] of reports.entries()) {
        const host = plan.hosts[n] as Host & { tunnels: { peer: string; port: string }[] };
        expect(report.status).toBe("ok");
        expect(report.checks.filter((c) => c.status !== "ok")).toEqual([]);
        const subjects = (check: string) => report.checks.filter((c) => c.check === check).map((c) => c.subject);
        expect(subjects("tunnel")).toEqual(host.tunnels.map((t) => t.port));
        expect(subjects("reach")).toEqual(host.tunnels.map((t) => t.peer));
        expect(subjects("bfd")).toEqual(host.tunnels.map((t) => t.peer));
      }
    });

    afterAll(() => {
      if (versions) console.log(`platform ${platform}: root ${versions.root}; ${topologies.length} topologies in ${seconds.toFixed(1)} s`);
    });
  });
}
