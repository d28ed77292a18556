// The command line in this process (the executable's own tests spawn the bundle): exit codes of
// --version, --help and usage errors, and what plan prints for a keyed overlay.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run } from "./helpers.js";

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
