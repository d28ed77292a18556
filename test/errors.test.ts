// Every validation rule (SPEC §1) has a bad input in test/errors/ beside its exact expected
// output: each error's file, line, column, message and caret. UPDATE_GOLDEN=1 rewrites them.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, UPDATE } from "./helpers.js";

const DIR = "test/errors";
const cases = readdirSync(DIR).filter((f) => f.endsWith(".yml")).map((f) => f.slice(0, -4));

describe("error fixtures", () => {
  it.each(cases)("%s", async (name) => {
    const file = join(DIR, `${name}.yml`);
    // A case about an earlier build has it beside it, in NAME.out/ (check only reads it).
    const out = existsSync(join(DIR, `${name}.out`)) ? join(DIR, `${name}.out`) : join(DIR, "never-written");
    const result = await run("check", file, "-o", out);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
    const expectedFile = join(DIR, `${name}.txt`);
    if (UPDATE || !existsSync(expectedFile)) writeFileSync(expectedFile, result.stderr);
    expect(result.stderr).toBe(readFileSync(expectedFile, "utf8"));
    expect(existsSync(join(DIR, "never-written"))).toBe(false);
  });

  it("reports every error of a file in one run", async () => {
    const result = await run("check", join(DIR, "bridge-ip.yml"));
    expect(result.stderr.match(/: error: /g)?.length).toBeGreaterThanOrEqual(5);
  });
});
