// The commands of SPEC §3 against real files: what build writes and removes, what check and diff
// report, their exit codes, and byte-for-byte determinism across machines' working folders.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, needs, readTree, ROOT, run, runExecutable, tempDir } from "./helpers.js";

const RECIPE = join(ROOT, "examples/recipe/topology.yml");

/** A temp folder holding the recipe's topology (no lock yet), and paths into it. */
function workspace() {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), readFileSync(RECIPE, "utf8"));
  return { dir, topology: join(dir, "topology.yml"), out: join(dir, "out"), lock: join(dir, "topology.lock") };
}

const SCRIPT = "docker1/usr/local/sbin/gre-gen-ovs-setup";

describe("build", () => {
  it("writes the five files per host, the manifest, and the lock beside the topology", async () => {
    const w = workspace();
    const result = await run("build", w.topology, "-o", w.out);
    expect(result.code).toBe(0);
    expect([...readTree(w.out).keys()]).toEqual([
      ".gre-gen-manifest",
      "docker1/etc/network/interfaces.d/newbridge",
      "docker1/etc/nftables.d/gre-gen-underlay.nft",
      "docker1/etc/systemd/system/docker.service.d/gre-gen.conf",
      "docker1/usr/local/sbin/gre-gen-ovs-setup",
      "docker1/usr/local/sbin/gre-gen-verify",
      "docker3/etc/network/interfaces.d/newbridge",
      "docker3/etc/nftables.d/gre-gen-underlay.nft",
      "docker3/etc/systemd/system/docker.service.d/gre-gen.conf",
      "docker3/usr/local/sbin/gre-gen-ovs-setup",
      "docker3/usr/local/sbin/gre-gen-verify",
    ]);
    expect(readTree(w.out).get(SCRIPT)?.executable).toBe(true);
    expect(readTree(w.out).get("docker1/usr/local/sbin/gre-gen-verify")?.executable).toBe(true);
    expect(readFileSync(w.lock, "utf8")).toMatch(/docker1:\n {4}bridge_ip: 10\.11\.12\.1\n {4}fixed_cidr: 10\.11\.12\.128\/26\n/);
    expect((await run("build", w.topology, "-o", w.out)).stdout).toMatch(/up to date/);
  });

  it("removes the files of a removed host and the folders they leave, and nothing else", async () => {
    const w = workspace();
    const text = readFileSync(w.topology, "utf8");
    writeFileSync(w.topology, text.replace("hosts:\n", "hosts:\n  docker9:\n    underlay_ip: 10.10.10.109\n"));
    await run("build", w.topology, "-o", w.out);
    writeFileSync(join(w.out, "docker9", "notes.txt"), "mine\n");
    writeFileSync(join(w.out, "README"), "mine too\n");
    writeFileSync(w.topology, text);

    const check = await run("check", w.topology, "-o", w.out);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`extra: ${join(w.out, "docker9/usr/local/sbin/gre-gen-ovs-setup")}`);
    expect(check.stdout).toContain(`stale: ${join(w.out, SCRIPT)}`);

    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    const tree = readTree(w.out);
    expect([...tree.keys()].filter((p) => p.startsWith("docker9/"))).toEqual(["docker9/notes.txt"]);
    expect(tree.get("README")?.content).toBe("mine too\n");
    expect(existsSync(join(w.out, "docker9/etc"))).toBe(false);
    // Its values stay reserved, retired, until released: its containers may still run.
    expect(readFileSync(w.lock, "utf8")).toMatch(/\nretired:\n {2}docker9:\n {4}bridge_ip: 10\.11\.12\.3\n/);
  });

  it("never follows a symbolic link planted in the output folder", async () => {
    const w = workspace();
    const elsewhere = tempDir();
    mkdirSync(w.out);
    symlinkSync(elsewhere, join(w.out, "docker1"));
    const result = await run("build", w.topology, "-o", w.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/docker1:1:1: error: refusing to write through a symbolic link/);
    expect(readTree(elsewhere).size).toBe(0);
    expect(existsSync(w.lock)).toBe(false);
  });

  it("writes nothing when the topology is invalid", async () => {
    const w = workspace();
    writeFileSync(w.topology, readFileSync(w.topology, "utf8").replace("subnet: 10.11.12.0/24", "subnet: 10.11.12.1/24"));
    const result = await run("build", w.topology, "-o", w.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("did you mean 10.11.12.0/24?");
    expect(existsSync(w.out)).toBe(false);
    expect(existsSync(w.lock)).toBe(false);
  });
});

describe("file modes", () => {
  it("every file gets its mode whatever the umask: the scripts 0755, the rest and the lock 0644", () => {
    for (const umask of ["077", "022", "000"]) {
      const w = workspace();
      const built = spawnSync("sh", ["-c", `umask ${umask} && exec "$0" "$1" build topology.yml`, process.execPath, CLI], { cwd: w.dir, encoding: "utf8" });
      expect(built.status, built.stderr).toBe(0);
      const modes = Object.fromEntries([...readTree(w.out).keys()].map((path) => [path, (statSync(join(w.out, path)).mode & 0o777).toString(8)]));
      for (const [path, mode] of Object.entries(modes)) expect(mode, `umask ${umask}: ${path}`).toBe(/\/usr\/local\/sbin\//.test(path) ? "755" : "644");
      expect(Object.keys(modes).filter((path) => path.endsWith("/gre-gen-verify") || path.endsWith("/gre-gen-ovs-setup"))).toHaveLength(4);
      expect(statSync(w.lock).mode & 0o777, `umask ${umask}: the lock`).toBe(0o644);
    }
  });

  it("a default ACL on the topology's folder or on the output folder takes no bit from the lock or the files", (ctx) => {
    needs(ctx, { tools: ["setfacl"] });
    for (const restricted of ["site", "out"]) {
      const w = workspace();
      const site = join(w.dir, "site");
      mkdirSync(site);
      writeFileSync(join(site, "topology.yml"), readFileSync(RECIPE));
      mkdirSync(w.out);
      // Files made in that folder get no group or other bits, whatever the umask says.
      expect(spawnSync("setfacl", ["-d", "-m", "u::rwx,g::-,o::-", join(w.dir, restricted)]).status).toBe(0);
      const built = runExecutable(["build", "site/topology.yml", "-o", "out"], w.dir);
      expect(built.code, built.stderr).toBe(0);
      expect(statSync(join(site, "topology.lock")).mode & 0o777, `${restricted}: the lock`).toBe(0o644);
      for (const path of readTree(w.out).keys()) expect(statSync(join(w.out, path)).mode & 0o777, `${restricted}: ${path}`).toBe(/\/usr\/local\/sbin\//.test(path) ? 0o755 : 0o644);
    }
  });
});

describe("check and diff", () => {
  it("exit 0 when fresh; 1 listing stale, missing and mode changes; 2 when invalid", async () => {
    const w = workspace();
    expect((await run("check", w.topology, "-o", w.out)).code).toBe(1);
    await run("build", w.topology, "-o", w.out);
    expect(await run("check", w.topology, "-o", w.out)).toMatchObject({ code: 0, stderr: "" });

    writeFileSync(join(w.out, "docker3/etc/network/interfaces.d/newbridge"), "edited\n");
    rmSync(join(w.out, "docker1/etc/systemd/system/docker.service.d/gre-gen.conf"));
    chmodSync(join(w.out, SCRIPT), 0o644);
    const result = await run("check", w.topology, "-o", w.out);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`stale: ${join(w.out, "docker3/etc/network/interfaces.d/newbridge")}`);
    expect(result.stdout).toContain(`missing: ${join(w.out, "docker1/etc/systemd/system/docker.service.d/gre-gen.conf")}`);
    expect(result.stdout).toContain(`stale: ${join(w.out, SCRIPT)}`);
    expect(readFileSync(join(w.out, "docker3/etc/network/interfaces.d/newbridge"), "utf8")).toBe("edited\n");

    writeFileSync(w.topology, "version: 3\n");
    expect((await run("check", w.topology, "-o", w.out)).code).toBe(2);
  });

  it("reports a stale lock", async () => {
    const w = workspace();
    await run("build", w.topology, "-o", w.out);
    writeFileSync(w.lock, readFileSync(w.lock, "utf8").replace("# The allocations", "# Edited. The allocations"));
    const result = await run("check", w.topology, "-o", w.out);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`stale: ${w.lock}`);
  });

  it("diff prints a unified diff of what build would change", async () => {
    const w = workspace();
    await run("build", w.topology, "-o", w.out);
    writeFileSync(w.topology, readFileSync(w.topology, "utf8").replace("underlay_mtu: 1500", "underlay_mtu: 9000"));
    const result = await run("diff", w.topology, "-o", w.out);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`--- a/${join(w.out, "docker1/etc/network/interfaces.d/newbridge")}`);
    expect(result.stdout).toContain("-    mtu 1462\n+    mtu 8962\n");
    expect(result.stdout).toContain("--mtu=8962");
    expect(await run("diff", RECIPE, "-o", join(ROOT, "out"))).toEqual({ code: 0, stdout: `${join(ROOT, "out")}: up to date (2 hosts)\n`, stderr: "" });
  });
});

describe("the executable", () => {
  it("is byte-for-byte deterministic from any working folder", () => {
    const a = tempDir();
    const b = tempDir(a);
    writeFileSync(join(a, "topology.yml"), readFileSync(RECIPE));
    mkdirSync(join(b, "deeper"));
    writeFileSync(join(b, "deeper", "topology.yml"), readFileSync(RECIPE));
    expect(runExecutable(["build"], a).code).toBe(0);
    expect(runExecutable(["build", "deeper/topology.yml", "-o", "deeper/out"], b).code).toBe(0);
    expect(readTree(join(b, "deeper"))).toEqual(readTree(a));
    for (const [path, file] of readTree(a)) expect(file.content, path).not.toMatch(/\/tmp|gre-gen-test|\d{4}-\d\d-\d\dT/);
  });

  it("runs through a link to it, also under --preserve-symlinks-main", () => {
    const link = join(tempDir(), "gre-gen");
    symlinkSync(CLI, link);
    for (const flags of [[], ["--preserve-symlinks-main"]]) {
      const result = spawnSync(process.execPath, [...flags, link, "plan", RECIPE], { encoding: "utf8" });
      expect(result.status, `${flags} ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain("docker1");
    }
  });

  it("answers --version (-v, -V) and --help, and exits 2 on a usage error", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-v", "-V"]) expect(runExecutable([flag]), flag).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    const help = runExecutable(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["build", "check", "diff", "plan"]) expect(help.stdout).toContain(command);
    expect(runExecutable(["build", "--bogus"]).code).toBe(2);
  });

  it("says where a missing topology should come from, without a stack trace", () => {
    const result = runExecutable(["check", "nowhere.yml"], tempDir());
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("nowhere.yml:1:1: error: cannot read the topology file: no such file or folder (gre-gen init writes a starter)\n");
  });
});

describe("the first run", () => {
  it("check and diff say the folder is up to date, with its host count", async () => {
    const w = workspace();
    await run("build", w.topology, "-o", w.out);
    for (const command of ["check", "diff"])
      expect(await run(command, w.topology, "-o", w.out), command).toEqual({ code: 0, stdout: `${w.out}: up to date (2 hosts)\n`, stderr: "" });
  });

  it("plan --json carries its format version", async () => {
    const plan = JSON.parse((await run("plan", "--json", RECIPE)).stdout) as Record<string, unknown>;
    expect(Object.keys(plan)[0]).toBe("format_version");
    expect(plan.format_version).toBe(1);
  });

  it("init creates a missing folder, and the starter it writes builds", () => {
    const dir = tempDir();
    const init = runExecutable(["init", "site-b/topology.yml"], dir);
    expect(init).toMatchObject({ code: 0, stderr: "" });
    expect(init.stdout).toMatch(/^wrote site-b\/topology\.yml: .*\nwrote site-b\/topology\.schema\.json\n$/);
    expect(runExecutable(["build", "site-b/topology.yml", "-o", "site-b/out"], dir).code).toBe(0);
    expect(existsSync(join(dir, "site-b/out/docker3/usr/local/sbin/gre-gen-ovs-setup"))).toBe(true);
  });

  it("init keeps an existing schema file, and warns when it is not this version's", async () => {
    const dir = tempDir();
    const schema = join(dir, "topology.schema.json");
    writeFileSync(schema, (await run("schema")).stdout);
    const current = await run("init", join(dir, "topology.yml"));
    expect(current).toMatchObject({ code: 0, stderr: "" });
    expect(current.stdout).not.toContain("schema");

    rmSync(join(dir, "topology.yml"));
    writeFileSync(schema, "{}\n");
    const stale = await run("init", join(dir, "topology.yml"));
    expect(stale.code).toBe(0);
    expect(stale.stderr).toBe(`${schema}:1:1: warning: kept, but it is not this gre-gen's schema; \`gre-gen schema > ${schema}\` replaces it\n`);
    expect(readFileSync(schema, "utf8")).toBe("{}\n");
  });

  it("init with something other than a file where the schema goes: an error there, and nothing written", async () => {
    const dir = tempDir();
    const site = join(dir, "site");
    mkdirSync(join(site, "topology.schema.json"), { recursive: true });
    const result = await run("init", join(site, "topology.yml"));
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toBe(`${join(site, "topology.schema.json")}:1:1: error: is in the way of the schema file and is not a file; move it away and run gre-gen init again\n`);
    expect(readdirSync(site)).toEqual(["topology.schema.json"]);
  });
});
