/** Shared test helpers: running the CLI in-process or as the built executable, temp folders, tools. */
import { spawnSync } from "node:child_process";
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, type TestContext } from "vitest";
import { main } from "../src/cli.js";

export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const CLI = join(ROOT, "dist/gre-gen.cjs");
export const UPDATE = process.env.UPDATE_GOLDEN === "1";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process (fast; the same code the executable bundles). */
export async function run(...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Runs the bundled executable as a user would, in `cwd`. */
export function runExecutable(args: string[], cwd = ROOT): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder, removed after the test; optionally a copy of `from`, optionally under `parent`. */
export function tempDir(from?: string, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, "gre-gen-test-"));
  temporary.push(dir);
  if (from) cpSync(from, dir, { recursive: true });
  return dir;
}

/**
 * Every entry below `dir`, folders and links too, with its kind, mode and content (and, with
 * `times`, its modification time): a whole tree to compare, where readTree sees files only.
 */
export function treeEntries(dir: string, { times = false } = {}): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (at: string) => {
    for (const name of readdirSync(at).sort()) {
      const full = join(at, name);
      const stat = lstatSync(full);
      const kind = stat.isDirectory() ? "folder" : stat.isSymbolicLink() ? "link" : "file";
      found[relative(dir, full)] = `${kind} ${stat.mode.toString(8)}${times ? ` ${stat.mtimeMs}` : ""} ${kind === "file" ? readFileSync(full, "utf8") : ""}`;
      if (kind === "folder") walk(full);
    }
  };
  walk(dir);
  return found;
}

/** Every file below `dir` (relative paths, sorted), with its content and executable bit. */
export function readTree(dir: string): Map<string, { content: string; executable: boolean }> {
  const files = new Map<string, { content: string; executable: boolean }>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(relative(dir, full), { content: readFileSync(full, "utf8"), executable: (statSync(full).mode & 0o111) !== 0 });
    }
  };
  walk(dir);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function installed(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/**
 * A real-consumer test's prerequisites. In CI (CI=true) a missing one fails the test; elsewhere
 * the test is skipped, saying what is missing.
 */
export function needs(context: TestContext, what: { root?: boolean; tools?: string[] }): void {
  const missing = [...(what.root && process.getuid?.() !== 0 ? ["root (for network namespaces)"] : []), ...(what.tools ?? []).filter((t) => !installed(t))];
  if (missing.length === 0) return;
  const reason = `needs ${missing.join(", ")}; .ci/run installs them`;
  if (process.env.CI === "true") throw new Error(`${reason}, and CI must have them`);
  context.skip(reason);
}

/** For the part of a test that needs a tool, after parts that do not: true when it is here. */
export function hasTool(tool: string): boolean {
  if (installed(tool)) return true;
  if (process.env.CI === "true") throw new Error(`${tool} is required in CI (.ci/run installs it)`);
  console.warn(`not checked here: ${tool} is not installed (CI installs it)`);
  return false;
}

export function sh(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options, env: { ...process.env, ...options.env } });
  return { code: result.status ?? -1, stdout: result.stdout ?? "", stderr: result.stderr ?? "", output: (result.stdout ?? "") + (result.stderr ?? "") };
}
