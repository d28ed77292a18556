// Read-only commands (SPEC §3): check and diff write nothing, neither the output folder nor the
// lock, whatever they find; diff, like check, exits 1 when only the lock would change.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run, tempDir, treeEntries } from "./helpers.js";

const RECIPE = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8");

function workspace(text = RECIPE) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  return { dir, topology: join(dir, "topology.yml"), lock: join(dir, "topology.lock"), out: join(dir, "out") };
}

/** Every entry below `dir` (folders too), with its kind, mode, content and modification time. */
const snapshot = (dir: string) => treeEntries(dir, { times: true });

describe("check and diff write nothing", () => {
  it("with a changed topology: the folder, the output and the lock stay as they were", async () => {
    const w = workspace(RECIPE.replace(/ {4}bridge_ip: 10\.11\.12\.2\n {4}fixed_cidr: 10\.11\.12\.192\/26\n/, ""));
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    // A new host and a new MTU: every file and the lock would change.
    writeFileSync(w.topology, readFileSync(w.topology, "utf8").replace("underlay_mtu: 1500", "underlay_mtu: 9000") + "  docker5:\n    underlay_ip: 10.10.10.105\n");
    const before = snapshot(w.dir);
    for (const command of ["check", "diff"]) {
      const result = await run(command, w.topology, "-o", w.out);
      expect(result.code, command).toBe(1);
      expect(result.stdout, command).toContain("topology.lock");
      expect(snapshot(w.dir), command).toEqual(before);
    }
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    expect(readFileSync(w.lock, "utf8")).toContain("  docker5:\n    bridge_ip: 10.11.12.3\n");
  });

  it("before the first build: no output folder and no lock appear", async () => {
    const w = workspace();
    for (const command of ["check", "diff"]) {
      const result = await run(command, w.topology, "-o", w.out);
      expect(result.code, command).toBe(1);
      expect(readdirSync(w.dir), command).toEqual(["topology.yml"]);
    }
  });

  it("with an invalid topology: exit 2 and nothing written", async () => {
    const w = workspace();
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    writeFileSync(w.topology, RECIPE.replace("subnet: 10.11.12.0/24", "subnet: 10.11.12.0/33"));
    const before = snapshot(w.dir);
    for (const command of ["check", "diff", "build"]) {
      expect((await run(command, w.topology, "-o", w.out)).code, command).toBe(2);
      expect(snapshot(w.dir), command).toEqual(before);
    }
  });
});

describe("a change to the lock alone", () => {
  it("an edited lock: diff shows its diff only and exits 1; build restores it and nothing else", async () => {
    const w = workspace();
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    const lock = readFileSync(w.lock, "utf8");
    writeFileSync(w.lock, lock.replace("version: 1\n", "version: 1\n# noted by hand\n"));
    const result = await run("diff", w.topology, "-o", w.out);
    expect(result.code).toBe(1);
    const lines = lock.split("\n");
    const at = lines.indexOf("version: 1");
    const context = (from: number, to: number) => lines.slice(from, to).map((l) => ` ${l}\n`).join("");
    expect(result.stdout).toBe(`--- a/${w.lock}\n+++ b/${w.lock}\n@@ -${at - 1},7 +${at - 1},6 @@\n${context(at - 2, at + 1)}-# noted by hand\n${context(at + 1, at + 4)}`);
    const output = snapshot(w.out);
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    expect(readFileSync(w.lock, "utf8")).toBe(lock);
    expect(snapshot(w.out)).toEqual(output);
    expect(await run("diff", w.topology, "-o", w.out)).toEqual({ code: 0, stdout: `${w.out}: up to date (2 hosts)\n`, stderr: "" });
  });
});
