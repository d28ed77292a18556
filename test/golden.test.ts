// Golden files: each examples/*/topology.yml beside its committed output, lock and plan. The
// file set is asserted first, then every file's bytes and mode. UPDATE_GOLDEN=1 rewrites them.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readTree, ROOT, run, tempDir, UPDATE } from "./helpers.js";

const examples = readdirSync(join(ROOT, "examples"));
/** The recipe's output is the repository's own out/, which CI keeps fresh with `gre-gen check`. */
const goldenDir = (example: string) => (example === "recipe" ? join(ROOT, "out") : join(ROOT, "examples", example, "out"));

describe.each(examples)("example %s", (example) => {
  const dir = join(ROOT, "examples", example);

  it("builds exactly the committed files", async () => {
    if (UPDATE) {
      const result = await run("build", join(dir, "topology.yml"), "-o", goldenDir(example));
      expect(result.code).toBe(0);
      writeFileSync(join(dir, "plan.json"), (await run("plan", "--json", join(dir, "topology.yml"))).stdout);
    }
    // The repository's layout, mirrored: the manifest cites the topology relative to the output folder.
    const work = tempDir();
    const copy = join(work, relative(ROOT, dir));
    cpSync(dir, copy, { recursive: true });
    rmSync(join(copy, "out"), { recursive: true, force: true });
    const out = join(work, relative(ROOT, goldenDir(example)));
    const result = await run("build", join(copy, "topology.yml"), "-o", out);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const built = readTree(out);
    const golden = readTree(goldenDir(example));
    expect([...built.keys()]).toEqual([...golden.keys()]);
    for (const [path, file] of golden) expect(built.get(path), path).toEqual(file);
    expect(readFileSync(join(copy, "topology.lock"), "utf8")).toBe(readFileSync(join(dir, "topology.lock"), "utf8"));
  });

  it("plans as the committed plan.json", async () => {
    const result = await run("plan", "--json", join(dir, "topology.yml"));
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(join(dir, "plan.json"), "utf8"));
  });

  it("is up to date in the repository (gre-gen check)", async () => {
    const result = await run("check", join(dir, "topology.yml"), "-o", goldenDir(example));
    expect(result.stdout).toMatch(/up to date/);
    expect(result.code).toBe(0);
  });
});

it("every example has its golden output", () => {
  for (const example of examples) expect(existsSync(goldenDir(example)), example).toBe(true);
});
