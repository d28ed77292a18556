// The setup script reconciles Open vSwitch with the topology on a real ovs-vswitchd: a peer that
// leaves loses its tunnel, a key that is dropped leaves the tunnel's options, a changed bridge
// address replaces the old one, and a second run changes nothing. On every platform.
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
      'gre-b "192.0.2.2" "7" true',
      'gre-c "192.0.2.3" "7" true',
      "address 10.11.12.1/24",
      "after run 2",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.1/24",
      "after run 3",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.9/24",
      "after run 4",
      'gre-b "192.0.2.2"  true',
      "address 10.11.12.9/24",
      "",
    ].join("\n"),
  );
});
