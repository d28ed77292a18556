// gre-gen is a static compiler: nothing under src/ may run a command (the brief, "Fixed choices").
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./helpers.js";

it("src/ never imports child_process or spawns anything", () => {
  const dir = join(ROOT, "src");
  const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) {
    const text = readFileSync(join(dir, file), "utf8");
    expect(text, file).not.toMatch(/child_process|\bspawn(Sync)?\b|(?<!\.)\bexec(Sync|File)?\s*\(|\bfork\s*\(|worker_threads|process\.binding/);
  }
});
