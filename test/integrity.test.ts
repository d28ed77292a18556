// The build's integrity against crashes, neighbours and hostile names: the output folder and the
// lock change together or not at all (kill -9 at any instant, a full disk, a read-only folder,
// two builds at once), nothing is written through a planted link or over a user's file, and no
// byte of a file name reaches a generated file unescaped.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, needs, readTree, ROOT, runExecutable, sh, tempDir } from "./helpers.js";

const RECIPE = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8");

/** A topology of `count` hosts named h<first>..; addresses allocated. */
function fleet(hosts: number[], overlay = "") {
  const lines = hosts.map((i) => `  h${i}:\n    underlay_ip: 172.16.${i >> 8}.${i & 255}\n`).join("");
  return `version: 1\noverlay:\n  subnet: 10.0.0.0/16\n  host_prefix: 26\n  ovs_datapath: netdev\n${overlay}hosts:\n${lines}`;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The output folder and the lock as one snapshot. */
function snapshot(dir: string) {
  const lock = join(dir, "topology.lock");
  return { out: readTree(join(dir, "out")), lock: existsSync(lock) ? readFileSync(lock, "utf8") : undefined };
}

function buildIn(dir: string, topology: string) {
  writeFileSync(join(dir, "topology.yml"), topology);
  return runExecutable(["build"], dir);
}

/** Runs `test` with a tmpfs (mount `options`) at `dir/folder`, made for it and unmounted after. */
function onTmpfs(dir: string, folder: string, options: string, test: () => void) {
  mkdirSync(join(dir, folder));
  expect(sh("mount", ["-t", "tmpfs", "-o", options, "tmpfs", join(dir, folder)]).code).toBe(0);
  try {
    test();
  } finally {
    sh("umount", [join(dir, folder)]);
  }
}

describe("kill -9 at any instant", () => {
  it("leaves the old state, the new state, or a build the next one completes", { timeout: 600_000 }, async () => {
    // Old: 300 hosts. New: 20 removed, 20 added, every file changed (a new MTU).
    // In memory (/dev/shm where there is one): the kill instants then fall on gre-gen's own work.
    const memory = existsSync("/dev/shm") ? "/dev/shm" : undefined;
    const before = fleet(range(0, 200));
    const after = fleet(range(20, 220), "  underlay_mtu: 1400\n");
    const reference = tempDir(undefined, memory);
    expect(buildIn(reference, before).code).toBe(0);
    const oldState = snapshot(reference);
    const started = Date.now();
    expect(buildIn(reference, after).code).toBe(0);
    const duration = Date.now() - started;
    const newState = snapshot(reference);

    const runs = Number(process.env.KILL_RUNS ?? 40);
    const outcomes = { old: 0, new: 0, completed: 0 };
    for (let k = 0; k < runs; k++) {
      const dir = tempDir(undefined, memory);
      writeFileSync(join(dir, "topology.lock"), oldState.lock!);
      for (const [path, file] of oldState.out) {
        mkdirSync(dirname(join(dir, "out", path)), { recursive: true });
        writeFileSync(join(dir, "out", path), file.content, { mode: file.executable ? 0o755 : 0o644 });
      }
      writeFileSync(join(dir, "topology.yml"), after);
      // Most instants in the second half, where the build stages, decides and renames.
      const delay = Math.floor(duration * (0.3 + Math.random() * 1.0));
      const child = spawn(process.execPath, [CLI, "build"], { cwd: dir, stdio: "ignore" });
      const closed = new Promise((resolve) => child.on("close", resolve));
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill("SIGKILL");
      await closed;
      const state = snapshot(dir);
      const same = (a: typeof state, b: typeof state) => a.lock === b.lock && JSON.stringify([...a.out]) === JSON.stringify([...b.out]);
      if (same(state, oldState)) outcomes.old++;
      else if (same(state, newState)) outcomes.new++;
      else {
        // Neither: the build was decided, so check must say so, and the next build completes it.
        const check = runExecutable(["check"], dir);
        expect(check.code, `killed after ${delay} ms: a mixed state that check calls up to date`).toBe(1);
        expect(runExecutable(["build"], dir).code).toBe(0);
        expect(same(snapshot(dir), newState), `killed after ${delay} ms: the next build did not complete it`).toBe(true);
        outcomes.completed++;
      }
      expect(runExecutable(["check"], dir).code === 0 || same(snapshot(dir), oldState)).toBe(true);
    }
    console.log(`kill -9 during a 200-host build (${duration} ms): ${outcomes.old} left the old state, ${outcomes.new} the new, ${outcomes.completed} completed by the next build`);
  });
});

describe("a decided build that was cut short", () => {
  it("is reported by check and diff (refused with --json), and completed by the next build", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    // What a build killed after its decision leaves: a staged file, a journal naming it.
    const staging = join(dir, "out/.gre-gen-staging");
    mkdirSync(staging, { mode: 0o700 });
    const stanza = "docker1/etc/network/interfaces.d/newbridge";
    const newer = readFileSync(join(dir, "out", stanza), "utf8").replace("mtu 1462", "mtu 1400");
    writeFileSync(join(staging, "0"), newer);
    writeFileSync(join(staging, "journal"), JSON.stringify({ writes: [stanza], removals: ["docker3/usr/local/sbin/gre-gen-ovs-setup"] }));
    for (const command of ["check", "diff"]) {
      const result = runExecutable([command], dir);
      expect(result.stdout).toMatch(/^interrupted: out holds a build that was cut short after it was decided; run gre-gen build to complete it\n/);
      expect(result.code).toBe(1);
      // As data, half a change's steps would deploy half of it: refused, nothing on stdout.
      const json = runExecutable([command, "--json"], dir);
      expect(json).toMatchObject({ code: 2, stdout: "" });
      expect(json.stderr).toMatch(/^out:1:1: error: holds a build that was cut short after it was decided, so some hosts' files are already the new ones/);
    }
    const build = runExecutable(["build"], dir);
    expect(build.code).toBe(0);
    // Completed, then brought to what the topology says: the file the journal removed is back.
    expect(runExecutable(["check"], dir).code).toBe(0);
    expect(existsSync(staging)).toBe(false);
    expect(build.stdout).toContain("created out/docker3/usr/local/sbin/gre-gen-ovs-setup\n");
  });
});

describe("a staging folder gre-gen did not leave (committed to the repository, or damaged)", () => {
  /** A build of the recipe, then `journal` and a payload planted in its staging folder. */
  function planted(journal: (dir: string) => string) {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const staging = join(dir, "out/.gre-gen-staging");
    mkdirSync(staging, { mode: 0o700 });
    writeFileSync(join(staging, "payload"), "#!/bin/sh\necho owned\n");
    writeFileSync(join(dir, "victim"), "precious\n");
    writeFileSync(join(staging, "journal"), journal(dir));
    return { dir, staging, before: snapshot(dir) };
  }

  it.each([
    ["names another file as the lock", (dir: string) => JSON.stringify({ writes: [], removals: [], lock: { temp: join(dir, "out/.gre-gen-staging/payload"), path: join(dir, "victim") } })],
    ["names a relative path as the lock", () => JSON.stringify({ writes: [], removals: [], lock: { temp: "out/.gre-gen-staging/payload", path: "victim" } })],
    ["names this lock, with another file as its new content", (dir: string) => JSON.stringify({ writes: [], removals: [], lock: { temp: join(dir, "out/.gre-gen-staging/payload"), path: join(dir, "topology.lock") } })],
    ["is not JSON", () => "garbage"],
    ["is JSON null", () => "null"],
    ["is empty", () => ""],
  ])("a journal that %s is refused at the journal: exit 2, nothing moved", (_label, journal) => {
    const { dir, staging, before } = planted(journal);
    const result = runExecutable(["build"], dir);
    expect(result).toMatchObject({ code: 2, stdout: "" });
    expect(result.stderr).toBe("out/.gre-gen-staging/journal:1:1: error: is not a journal gre-gen wrote for this topology; move the staging folder away and build again\n");
    expect(snapshot(dir)).toEqual(before);
    expect(readFileSync(join(dir, "victim"), "utf8")).toBe("precious\n");
    expect(readFileSync(join(staging, "payload"), "utf8")).toBe("#!/bin/sh\necho owned\n");
  });

  it("a lock-temp record naming another file leaves that file; one naming this lock's temporary file removes it", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const staging = join(dir, "out/.gre-gen-staging");
    mkdirSync(staging, { mode: 0o700 });
    writeFileSync(join(dir, ".victim.0123456789abcdef"), "precious\n");
    writeFileSync(join(staging, "lock-temp"), join(dir, ".victim.0123456789abcdef"));
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(readFileSync(join(dir, ".victim.0123456789abcdef"), "utf8")).toBe("precious\n");
    // What a build killed after writing the new lock, before its decision, leaves beside the topology.
    const temp = join(dir, ".topology.lock.0123456789abcdef");
    mkdirSync(staging, { mode: 0o700 });
    writeFileSync(temp, "half a lock\n");
    writeFileSync(join(staging, "lock-temp"), temp);
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(staging)).toBe(false);
  });
});

describe("what a build cut short before its decision left", () => {
  it.each([
    ["its staging folder", (out: string) => (mkdirSync(join(out, ".gre-gen-staging"), { mode: 0o700 }), writeFileSync(join(out, ".gre-gen-staging/0"), "half\n"))],
    ["the lock of a process that is gone", (out: string) => writeFileSync(join(out, ".gre-gen-busy"), `${spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim()} 1\n`)],
    ["a claim on the lock its builder was killed holding", (out: string) => {
      const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
      writeFileSync(join(out, `.gre-gen-busy.${gone}.0123456789abcdef`), `${gone} 1\n`);
    }],
  ])("%s: check and diff say so, build clears it", (_label, leave) => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const before = readTree(join(dir, "out"));
    leave(join(dir, "out"));
    for (const command of ["check", "diff"]) {
      const result = runExecutable([command], dir);
      expect(result.stdout).toMatch(/^interrupted: out holds what a build cut short left behind \(its files are the previous build's\); run gre-gen build to clear it\n/);
      expect(result.code).toBe(1);
    }
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(runExecutable(["check"], dir).code).toBe(0);
    expect(readTree(join(dir, "out"))).toEqual(before);
  });
});

describe("the folder lock", () => {
  it("serializes builds into one folder: each waits its turn, none is half done", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    expect(buildIn(dir, fleet(range(0, 150))).code).toBe(0);
    const variants = [fleet(range(0, 150), "  underlay_mtu: 1400\n"), fleet(range(10, 160)), fleet(range(0, 150), "  underlay_mtu: 9000\n")];
    // Three topologies take turns in one folder (--adopt), each with the allocations of the first.
    variants.forEach((_, i) => copyFileSync(join(dir, "topology.lock"), join(dir, `t${i}.lock`)));
    for (let k = 0; k < 4; k++) {
      const children = variants.map((text, i) => {
        writeFileSync(join(dir, `t${i}.yml`), text);
        return spawn(process.execPath, [CLI, "build", `t${i}.yml`, "--adopt"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
      });
      const results = await Promise.all(
        children.map((child) => new Promise<{ code: number; stderr: string }>((resolve) => {
          let stderr = "";
          child.stderr!.on("data", (d) => (stderr += d));
          child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
        })),
      );
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      // Whichever ran last, the folder is exactly its output.
      const last = readFileSync(join(dir, "out/.gre-gen-manifest"), "utf8").match(/^topology: \.\.\/(t\d)\.yml$/m)![1];
      expect(runExecutable(["check", `${last}.yml`], dir).code).toBe(0);
    }
  });

  it("gives up after a bounded wait with a clear message while another build holds the folder", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const holder = spawn("sleep", ["30"]);
    writeFileSync(join(dir, "out/.gre-gen-busy"), `${holder.pid} \n`);
    writeFileSync(join(dir, "topology.yml"), RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 1400"));
    const before = snapshot(dir);
    const result = spawnSync(process.execPath, [CLI, "build"], { cwd: dir, encoding: "utf8", env: { ...process.env, GRE_GEN_BUSY_WAIT_MS: "500" } });
    holder.kill();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^out:1:1: error: another gre-gen \\(process ${holder.pid}\\) is writing this output folder; waited 0.5 s`));
    expect(snapshot(dir)).toEqual(before);
  });

  it("release waits for a build that holds the folder too, so the build cannot undo it", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const holder = spawn("sleep", ["30"]);
    writeFileSync(join(dir, "out/.gre-gen-busy"), `${holder.pid} \n`);
    const before = snapshot(dir);
    const result = spawnSync(process.execPath, [CLI, "release", "docker3"], { cwd: dir, encoding: "utf8", env: { ...process.env, GRE_GEN_BUSY_WAIT_MS: "500" } });
    holder.kill();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^out:1:1: error: another gre-gen \\(process ${holder.pid}\\) is writing this output folder; waited 0.5 s`));
    expect(snapshot(dir)).toEqual(before);
    rmSync(join(dir, "out/.gre-gen-busy"));
    const released = spawnSync(process.execPath, [CLI, "release", "docker3"], { cwd: dir, encoding: "utf8" });
    expect(released.status, released.stderr).toBe(0);
    expect(readFileSync(join(dir, "topology.lock"), "utf8")).not.toContain("docker3");
  });

  it("takes over a lock whose builder was killed", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(dir, "out/.gre-gen-busy"), `${gone} 1\n`);
    writeFileSync(join(dir, "topology.yml"), RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 1400"));
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(existsSync(join(dir, "out/.gre-gen-busy"))).toBe(false);
  });

  it("two builds that find the same stale lock: the one that acts on it second leaves the other's live lock alone", async (ctx) => {
    needs(ctx, { tools: ["strace"] });
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(join(dir, "out/.gre-gen-busy"), `${gone} 1\n`);
    writeFileSync(join(dir, "topology.yml"), RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 1400"));
    /** A build under strace, held `ms` after its `nth` call of `calls` on `path` (relative to the folder). */
    const held = (path: string, calls: string, nth: number, ms: number) => {
      const inject = `inject=${calls}:delay_exit=${ms * 1000}:when=${nth}`;
      const child = spawn("strace", ["-f", "-qq", "-o", "/dev/null", "-P", path, "-e", `trace=${calls}`, "-e", inject, process.execPath, CLI, "build"], { cwd: dir });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      return new Promise<{ code: number | null; stderr: string; at: number }>((done) => child.on("exit", (code) => done({ code, stderr, at: Date.now() })));
    };
    // The first build reads the lock twice: before it validates (to report a cut-short build),
    // then when its claim finds the lock taken. It is held 1 s after that second read, before
    // acting on it. Meanwhile the second takes the stale lock over and holds it 2 s (at its
    // decision). The first must find the lock live, and wait.
    const first = held("out/.gre-gen-busy", "close", 2, 1000);
    await new Promise((wait) => setTimeout(wait, 400));
    const second = held("out/.gre-gen-staging/journal.new", "rename,renameat,renameat2", 1, 2000);
    const [a, b] = await Promise.all([first, second]);
    expect(b.code, b.stderr).toBe(0);
    expect(a.code, a.stderr).toBe(0);
    expect(a.at).toBeGreaterThan(b.at);
    expect(runExecutable(["check"], dir).code).toBe(0);
    expect(readdirSync(join(dir, "out")).filter((name) => name.startsWith(".gre-gen"))).toEqual([".gre-gen-manifest"]);
  });
});

describe("refusals leave the old state", () => {
  it("a full disk while staging: a positioned error, exit 2, nothing changed", (ctx) => {
    needs(ctx, { root: true, tools: ["mount"] });
    const dir = tempDir();
    onTmpfs(dir, "out", "size=4m", () => {
      expect(buildIn(dir, fleet(range(0, 20))).code).toBe(0);
      const before = snapshot(dir);
      const result = buildIn(dir, fleet(range(0, 120), "  underlay_mtu: 1400\n"));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^out\/\.gre-gen-staging\S*:1:1: error: .*no space left on the device\n$/);
      expect(snapshot(dir)).toEqual(before);
      expect(readdirSync(join(dir, "out")).sort()).toEqual([".gre-gen-manifest", ...range(0, 20).map((i) => `h${i}`)].sort());
    });
  });

  it("a first build on a full disk: no output folder and no lock are left behind", (ctx) => {
    needs(ctx, { root: true, tools: ["mount"] });
    const dir = tempDir();
    onTmpfs(dir, "disk", "size=1m", () => {
      writeFileSync(join(dir, "topology.yml"), fleet(range(0, 40)));
      const result = runExecutable(["build", "-o", "disk/site/out"], dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^disk\/site\/out\/\.gre-gen-staging\S*:1:1: error: .*no space left on the device\n$/);
      expect(readdirSync(join(dir, "disk"))).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual(["disk", "topology.yml"]);
    });
  });

  it("no inode left for the new hosts' folders: refused before the decision, the old state kept", (ctx) => {
    needs(ctx, { root: true, tools: ["mount"] });
    const dir = tempDir();
    // Room for a 2-host build (about 40 inodes), not for 20 hosts' folders and files.
    onTmpfs(dir, "out", "size=8m,nr_inodes=80", () => {
      expect(buildIn(dir, fleet(range(0, 2))).code).toBe(0);
      const before = snapshot(dir);
      const result = buildIn(dir, fleet(range(0, 20)));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^out\/\.gre-gen-staging\S*:1:1: error: cannot stage the build: no space left on the device\n$/);
      expect(snapshot(dir)).toEqual(before);
      expect(readdirSync(join(dir, "out")).sort()).toEqual([".gre-gen-manifest", "h0", "h1"]);
    });
  });

  it("a topology folder where the lock cannot be written: nothing changes in the output either", (ctx) => {
    needs(ctx, { root: true, tools: ["mount"] });
    const dir = tempDir();
    const site = join(dir, "site");
    mkdirSync(site);
    writeFileSync(join(site, "topology.yml"), RECIPE);
    expect(runExecutable(["build", "site/topology.yml"], dir).code).toBe(0);
    writeFileSync(join(site, "topology.yml"), RECIPE.replace(/ {4}bridge_ip: 10.11.12.2\n/, "").replace("  docker1:", "  docker0:\n    underlay_ip: 10.10.10.100\n  docker1:"));
    const before = { out: readTree(join(dir, "out")), lock: readFileSync(join(site, "topology.lock"), "utf8") };
    expect(sh("mount", ["--bind", site, site]).code).toBe(0);
    try {
      expect(sh("mount", ["-o", "remount,bind,ro", site]).code).toBe(0);
      const result = runExecutable(["build", "site/topology.yml"], dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^site\/topology\.lock:1:1: error: cannot write the lock file: read-only file system\n$/);
      expect({ out: readTree(join(dir, "out")), lock: readFileSync(join(site, "topology.lock"), "utf8") }).toEqual(before);
      expect(readdirSync(join(dir, "out"))).not.toContain(".gre-gen-staging");
    } finally {
      sh("umount", [site]);
    }
  });

  it("a user's file where a new host's file goes is never overwritten", async () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    mkdirSync(join(dir, "out/docker5/etc/network/interfaces.d"), { recursive: true });
    writeFileSync(join(dir, "out/docker5/etc/network/interfaces.d/newbridge"), "mine\n");
    const before = snapshot(dir);
    const result = buildIn(dir, RECIPE + "  docker5:\n    underlay_ip: 10.10.10.105\n");
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("out/docker5/etc/network/interfaces.d/newbridge:1:1: error: a file gre-gen did not write is where it would write one; move it away and build again\n");
    expect({ ...snapshot(dir), lock: before.lock }).toEqual(before);
  });

  it("check and diff read a huge file at a generated path without loading it", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const huge = join(dir, "out/docker1/etc/systemd/system/docker.service.d/gre-gen.conf");
    truncateSync(huge, 8 * 1024 * 1024 * 1024);
    const check = spawnSync(process.execPath, ["--max-old-space-size=256", CLI, "check"], { cwd: dir, encoding: "utf8" });
    expect(check.stdout).toContain("stale: out/docker1/etc/systemd/system/docker.service.d/gre-gen.conf\n");
    expect(check.status).toBe(1);
    const diff = spawnSync(process.execPath, ["--max-old-space-size=256", CLI, "diff"], { cwd: dir, encoding: "utf8" });
    expect(diff.stdout).toContain("-(a file of more than 67108864 bytes, not shown)\n");
    expect(diff.status).toBe(1);
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(statSync(huge).size).toBeLessThan(4096);
  });
});

describe("the lock file", () => {
  it("is never read through a link, and its target's content is never shown", () => {
    const dir = tempDir();
    const secret = join(tempDir(), "secret");
    writeFileSync(secret, "root:SECRET-HASH:19000:0:99999:7:::\n");
    writeFileSync(join(dir, "topology.yml"), RECIPE);
    symlinkSync(secret, join(dir, "topology.lock"));
    for (const command of ["build", "check", "diff", "plan"]) {
      const result = runExecutable([command], dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe("topology.lock:1:1: error: cannot read the lock file: it is a symbolic link; gre-gen never reads or replaces a lock file through a link\n");
      expect(result.stdout + result.stderr).not.toContain("SECRET");
    }
    expect(readFileSync(secret, "utf8")).toBe("root:SECRET-HASH:19000:0:99999:7:::\n");
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("is replaced through an unpredictable temporary file: links planted beside it are never followed", () => {
    const dir = tempDir();
    expect(buildIn(dir, RECIPE).code).toBe(0);
    const victim = join(tempDir(), "victim");
    writeFileSync(victim, "precious\n");
    for (let pid = 1; pid < 400; pid++) symlinkSync(victim, join(dir, `.gre-gen-${pid}.tmp`));
    symlinkSync(victim, join(dir, ".topology.lock.tmp"));
    const lockBefore = statSync(join(dir, "topology.lock")).ino;
    writeFileSync(join(dir, "topology.yml"), RECIPE + "  docker5:\n    underlay_ip: 10.10.10.105\n");
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(statSync(join(dir, "topology.lock")).ino).not.toBe(lockBefore);
    expect(readdirSync(dir).filter((name) => /^\.topology\.lock\.[0-9a-f]{16}$/.test(name))).toEqual([]);
  });
});

describe("the topology's file name", () => {
  const NAMES = [
    "evil\ntouch PWNED\n.yml",
    "evil\r\n[Service]\nExecStartPre=false\n.yml",
    "evil\niface evil0 inet manual\n.yml",
    "evil\\\ntouch PWNED\\\n.yml",
    "evil\u2028touch PWNED\u0085.yml",
    "back\\.yml",
  ];

  it.each(NAMES.map((name) => [JSON.stringify(name), name]))("%s is cited escaped, and every consumer reads only gre-gen's lines", (_label, name) => {
    const dir = tempDir();
    writeFileSync(join(dir, name), RECIPE);
    const result = runExecutable(["build", name], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lockName = readdirSync(dir).find((entry) => entry.endsWith(".lock"))!;
    for (const [path, file] of [...readTree(join(dir, "out")), [lockName, { content: readFileSync(join(dir, lockName), "utf8") }] as const]) {
      const header = file.content.split("\n").filter((line) => line.includes("Generated by gre-gen"));
      expect(header, path).toHaveLength(1);
      // The name's only line is the header: nothing of it starts a line of its own.
      for (const line of file.content.split("\n")) expect(line, path).not.toMatch(/^(touch|ExecStartPre=(?!\/usr\/local\/sbin\/gre-gen-ovs-setup$)|iface evil)/);
      expect(header[0], path).toMatch(/^# Generated by gre-gen from [\x20-\x7e]+\. Do not edit/);
      expect(header[0]!.endsWith("\\"), path).toBe(false);
      // The whole name is cited, each escape standing for its character.
      const cited = /^# Generated by gre-gen from (.*)\. Do not edit/.exec(header[0]!)![1]!;
      const unescaped = cited.replace(/\\x([0-9a-f]{2})|\\u\{([0-9a-f]+)\}/g, (_m, byte?: string, point?: string) => String.fromCodePoint(parseInt(byte ?? point!, 16)));
      expect(unescaped, path).toBe(name);
    }
    // bash runs the script with stand-ins for ovs-vsctl and ip (which shows docker1's underlay
    // address, so the script finds itself on its own host, and no bridge yet): the name runs nothing.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "ovs-vsctl"), '#!/bin/sh\n[ "$1" = br-exists ] && exit 2\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(bin, "ip"), "#!/bin/sh\ncase \"$*\" in *'address show to'*) echo '2: eth0    inet 10.10.10.101/24 scope global eth0' ;; 'link show'*) exit 1 ;; esac\n", { mode: 0o755 });
    const script = sh("bash", [join(dir, "out/docker1/usr/local/sbin/gre-gen-ovs-setup")], { cwd: dir, env: { PATH: `${bin}:/usr/bin:/bin` } });
    expect(script.code, script.output).toBe(0);
    expect(existsSync(join(dir, "PWNED"))).toBe(false);
  });

  it("diagnostics show a hostile name escaped: it cannot forge a line or drive the terminal", () => {
    const dir = tempDir();
    const name = "t\u001b[2J\nfake.yml:1:1: error: forged\n.yml";
    writeFileSync(join(dir, name), "version: 2\n");
    const result = runExecutable(["check", name], dir);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toMatch(/^t\\x1b\[2J\\x0afake\.yml:1:1: error: forged\\x0a\.yml:\d+:\d+: error: /);
  });

  it("systemd and ifupdown read nothing of a hostile name", (ctx) => {
    needs(ctx, { tools: ["systemd-analyze", "ifquery"] });
    const dir = tempDir();
    const name = "evil\n[Service]\nExecStartPre=nonexistent-evil\niface evil0 inet manual\n.yml";
    writeFileSync(join(dir, name), RECIPE);
    expect(runExecutable(["build", name], dir).code).toBe(0);
    const units = join(dir, "units");
    mkdirSync(join(units, "docker.service.d"), { recursive: true });
    writeFileSync(join(units, "dockerd"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(join(units, "docker.service"), `[Service]\nType=notify\nExecStart=${units}/dockerd\n`);
    const dropIn = readFileSync(join(dir, "out/docker1/etc/systemd/system/docker.service.d/gre-gen.conf"), "utf8");
    const script = join(dir, "out/docker1/usr/local/sbin/gre-gen-ovs-setup");
    writeFileSync(join(units, "docker.service.d/gre-gen.conf"), dropIn.replace("ExecStart=/usr/bin/dockerd", `ExecStart=${units}/dockerd`).replace("ExecStartPre=/usr/local/sbin/gre-gen-ovs-setup", `ExecStartPre=${script}`));
    const verify = sh("systemd-analyze", ["verify", "--man=no", join(units, "docker.service")]);
    expect(verify.output).toBe("");
    const stanza = join(dir, "out/docker1/etc/network/interfaces.d/newbridge");
    const listed = sh("ifquery", ["-i", stanza, "--state-dir", join(dir, "state"), "--list", "--allow=auto"]);
    // ifquery always lists lo; the name's "iface evil0" line must not be read as a stanza.
    expect(listed.stdout.split("\n").filter((name) => name !== "lo" && name !== "")).toEqual(["newbridge"]);
  });
});

describe("folders the machine refuses", () => {
  it("an output folder where the file system refuses to create one ends in an error, never a hang", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), RECIPE);
    for (const args of [["build", "-o", "/proc/gre-gen-out"], ["init", "/proc/gre-gen/topology.yml"]]) {
      const result = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", timeout: 20_000 });
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^\/proc\/gre-gen\S*:1:1: error: cannot create the (output )?folder: no such file or folder\n$/);
    }
  });
});

describe("input limits while reading", () => {
  it("a never-ending input ends in a clear error, not in gigabytes", () => {
    const result = spawnSync(process.execPath, ["--max-old-space-size=128", CLI, "plan", "/dev/zero"], { encoding: "utf8", timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("/dev/zero:1:1: error: file is larger than 1048576 bytes, the most a topology or lock may hold\n");
  });

  it("a FIFO fed forever ends in the same error", (ctx) => {
    needs(ctx, { tools: ["mkfifo", "yes"] });
    const dir = tempDir();
    const fifo = join(dir, "topology.yml");
    expect(sh("mkfifo", [fifo]).code).toBe(0);
    const writer = spawn("sh", ["-c", `yes '# filler' > ${fifo}`]);
    const result = spawnSync(process.execPath, ["--max-old-space-size=128", CLI, "plan", fifo], { encoding: "utf8", timeout: 30_000 });
    writer.kill();
    expect(result.stderr).toBe(`${fifo}:1:1: error: file is larger than 1048576 bytes, the most a topology or lock may hold\n`);
    expect(result.status).toBe(2);
  });
});

describe("output folders belong to one topology", () => {
  it("two sites, two folders: building one into the other's is refused and deletes nothing", () => {
    const repo = tempDir();
    for (const site of ["a", "b"]) {
      mkdirSync(join(repo, "sites", site), { recursive: true });
      writeFileSync(join(repo, "sites", site, "topology.yml"), site === "a" ? RECIPE : RECIPE.replace(/docker(\d):/g, "b$1:"));
      expect(runExecutable(["build", `sites/${site}/topology.yml`, "-o", `sites/${site}/out`], repo).code).toBe(0);
      expect(existsSync(join(repo, "sites", site, "topology.lock"))).toBe(true);
    }
    const before = readTree(join(repo, "sites"));
    for (const command of ["build", "check", "diff"]) {
      const result = runExecutable([command, "sites/b/topology.yml", "-o", "sites/a/out"], repo);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        "sites/a/out/.gre-gen-manifest:1:1: error: sites/a/out holds the output of ../topology.yml, not of ../../b/topology.yml (paths relative to sites/a/out); give each topology its own folder with -o, or, if you moved or renamed that topology file, build with --adopt\n",
      );
    }
    expect(readTree(join(repo, "sites"))).toEqual(before);
    // A moved topology takes its folder over with --adopt.
    renameSync(join(repo, "sites/a/topology.yml"), join(repo, "sites/a/site-a.yml"));
    renameSync(join(repo, "sites/a/topology.lock"), join(repo, "sites/a/site-a.lock"));
    expect(runExecutable(["build", "sites/a/site-a.yml", "-o", "sites/a/out"], repo).code).toBe(2);
    expect(runExecutable(["build", "sites/a/site-a.yml", "-o", "sites/a/out", "--adopt"], repo).code).toBe(0);
    expect(runExecutable(["check", "sites/a/site-a.yml", "-o", "sites/a/out"], repo).code).toBe(0);
  });
});

it("no temporary, staging or lock file is left after builds that fail and succeed", () => {
  const dir = tempDir();
  expect(buildIn(dir, RECIPE).code).toBe(0);
  expect(buildIn(dir, RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 1400")).code).toBe(0);
  rmSync(join(dir, "out/docker3/usr/local/sbin/gre-gen-ovs-setup"));
  mkdirSync(join(dir, "out/docker3/usr/local/sbin/gre-gen-ovs-setup"));
  expect(buildIn(dir, RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 1300")).code).toBe(2);
  expect(readdirSync(join(dir, "out")).sort()).toEqual([".gre-gen-manifest", "docker1", "docker3"]);
  expect(readdirSync(dir).sort()).toEqual(["out", "topology.lock", "topology.yml"]);
});
