// Installing as the README says, for real: from a fresh clone, and from the tarball `npm pack` makes
// there, into a throw-away prefix, then running the installed `gre-gen`. The tarball installs
// offline with an empty npm cache (the package needs nothing but Node.js); the clone's build tools
// come from the cache `npm ci` filled when it can.
import { cpSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, sh, tempDir } from "./helpers.js";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string; license: string };

/** npm as a user runs it: without the settings of the `npm test` that runs this file. */
function npm(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  return sh("npm", [...args, "--no-audit", "--no-fund", "--no-update-notifier"], { cwd, env: { ...env, npm_config_loglevel: "warn" } });
}

/** The installed executable writes a starter topology and builds it, as the quick start does. */
function expectWorkingInstall(prefix: string) {
  const gregen = join(prefix, "bin", "gre-gen");
  expect(sh(gregen, ["-v"]).stdout).toBe(`${pkg.version}\n`);
  const site = tempDir();
  expect(sh(gregen, ["init"], { cwd: site }).code).toBe(0);
  const build = sh(gregen, ["build"], { cwd: site });
  expect(build).toMatchObject({ code: 0, stderr: "" });
  expect(build.stdout).toContain("out: 2 hosts, 11 file(s) written\n");
  expect(existsSync(join(site, "out/docker1/usr/local/sbin/gre-gen-ovs-setup"))).toBe(true);
}

/** A fresh clone of this working tree: every file git tracks or would track; no node_modules, no dist. */
function freshClone(): string {
  const clone = join(tempDir(), "gre-gen");
  const files = sh("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT }).stdout.split("\0").filter(Boolean);
  for (const file of files) if (existsSync(join(ROOT, file))) cpSync(join(ROOT, file), join(clone, file));
  expect(existsSync(join(clone, "node_modules"))).toBe(false);
  expect(existsSync(join(clone, "dist"))).toBe(false);
  return clone;
}

describe("install", () => {
  it("has the LICENSE package.json names", () => {
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
  });

  it("npm ci in a fresh clone runs and warns of no install script; npm pack's tarball then installs with nothing but Node.js", { timeout: 300_000 }, () => {
    const clone = freshClone();
    const ci = npm(["ci", "--prefer-offline"], clone);
    expect(ci.code, ci.output).toBe(0);
    expect(ci.output).not.toMatch(/install-scripts|npm warn/);
    // The quick start's first command, in the clone: the committed output is current.
    expect(sh(process.execPath, ["dist/gre-gen.cjs", "build", "examples/recipe/topology.yml"], { cwd: clone })).toMatchObject({ code: 0, stdout: "out: up to date (2 hosts)\n" });
    const work = tempDir();
    const pack = npm(["pack", "--pack-destination", work], clone);
    expect(pack.code, pack.output).toBe(0);
    const tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
    const listing = sh("tar", ["-tzf", tarball]).stdout.split("\n");
    expect(listing).toEqual(expect.arrayContaining(["package/LICENSE", "package/dist/gre-gen.cjs", "package/dist/gre-gen-bundle.cjs"]));
    // An empty cache and no network: the package must need nothing it does not hold.
    const emptyCache = join(work, "cache");
    mkdirSync(emptyCache);
    const install = npm(["install", "--global", "--prefix", join(work, "prefix"), "--offline", "--cache", emptyCache, tarball], work);
    expect(install.code, install.output).toBe(0);
    expect(install.output).not.toMatch(/npm error|Error:|\n\s+at /);
    expectWorkingInstall(join(work, "prefix"));
  });

  it("from a fresh clone with npm install --global .", { timeout: 300_000 }, () => {
    const work = tempDir();
    const clone = freshClone();
    const install = npm(["install", "--global", "--prefix", join(work, "prefix"), "--prefer-offline", "."], clone);
    expect(install.code, install.output).toBe(0);
    expect(install.output).not.toMatch(/npm error|Error:|\n\s+at /);
    expectWorkingInstall(join(work, "prefix"));
    expect(npm(["uninstall", "--global", "--prefix", join(work, "prefix"), "gre-gen"], work).code).toBe(0);
    expect(existsSync(join(work, "prefix", "bin", "gre-gen"))).toBe(false);
    expect(existsSync(join(clone, "dist", "gre-gen.cjs"))).toBe(true);
  });
});
