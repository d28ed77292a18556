// The command line in this process (the executable's own tests spawn the bundle): exit codes of
// --version, --help and usage errors, and what plan prints for a keyed overlay.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run, tempDir } from "./helpers.js";

describe("exit codes", () => {
  it("--version and --help exit 0 and print to stdout", async () => {
    const version = await run("--version");
    expect(version).toMatchObject({ code: 0, stderr: "" });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+(-\S+)?\n$/);
    const help = await run("--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: gre-gen \[options\] \[command\]\n/);
    for (const command of ["build", "check", "diff", "plan", "graph", "init", "schema"]) expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, "m"));
  });

  it("an unknown command, option or format value exits 2 with the reason on stderr", async () => {
    for (const args of [["bogus"], ["build", "--bogus"], ["check", "--format", "xml"]]) {
      const result = await run(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout, args.join(" ")).toBe("");
      expect(result.stderr, args.join(" ")).toMatch(/^error: /);
    }
  });
});

describe("plan", () => {
  it("names the GRE key and its 4 bytes in the MTU's reason", async () => {
    const result = await run("plan", join(ROOT, "examples/three-hosts-key/topology.yml"));
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n").slice(0, 2)).toEqual([
      "overlay 10.11.12.0/24 on bridge newbridge, OVS bridge ovs_bridge (system datapath), GRE key 1001",
      "MTU 1458: underlay 1500 minus 42 bytes of GRE; Docker, both bridges and the stanza use it",
    ]);
    const recipe = await run("plan", join(ROOT, "examples/recipe/topology.yml"));
    expect(recipe.stdout.split("\n")[0]).toBe("overlay 10.11.12.0/24 on bridge newbridge, OVS bridge ovs_bridge (system datapath), no GRE key");
  });
});

describe("what build says", () => {
  it("each file it created, updated or removed, then a count; nothing but 'up to date' when nothing changed", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    const out = join(dir, "out");
    const recipe = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8");
    writeFileSync(topology, recipe);
    const files = (host: string) => ["etc/network/interfaces.d/newbridge", "etc/nftables.d/gre-gen-underlay.nft", "etc/systemd/system/docker.service.d/gre-gen.conf", "usr/local/sbin/gre-gen-ovs-setup", "usr/local/sbin/gre-gen-verify"].map((f) => join(out, host, f));
    const first = await run("build", topology, "-o", out);
    expect(first.stdout.split("Impact")[0]).toBe(
      [...files("docker1"), ...files("docker3"), join(out, ".gre-gen-manifest"), join(dir, "topology.lock")].map((f) => `created ${f}\n`).join("") + `${out}: 2 hosts, 11 file(s) written\n`,
    );
    expect(await run("build", topology, "-o", out)).toEqual({ code: 0, stdout: `${out}: up to date (2 hosts)\n`, stderr: "" });
    writeFileSync(topology, recipe.replace(/ {2}docker3:\n(?: {4}.*\n)+/, "") + "  docker4:\n    underlay_ip: 10.10.10.104\n");
    const second = await run("build", topology, "-o", out);
    const lines = second.stdout.split("\n");
    expect(lines.filter((l) => l.startsWith("removed ")).sort()).toEqual(files("docker3").map((f) => `removed ${f}`).sort());
    expect(lines.filter((l) => l.startsWith("created ")).sort()).toEqual(files("docker4").map((f) => `created ${f}`).sort());
    // docker1's peer changed: its firewall fragment, its setup script and its verify command.
    const updated = [join(out, ".gre-gen-manifest"), files("docker1")[1], files("docker1")[3], files("docker1")[4], join(dir, "topology.lock")];
    expect(lines.filter((l) => l.startsWith("updated ")).sort()).toEqual(updated.map((f) => `updated ${f}`).sort());
    expect(lines).toContain(`${out}: 2 hosts, 14 file(s) written`);
  });
});
