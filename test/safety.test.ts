// Hostile output folders and hostile input files: all-or-nothing writes, nothing written or
// removed outside what gre-gen owns, and resource limits that end in a clear, positioned error.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { removeEmptyFolders } from "../src/files.js";
import { readTree, ROOT, run, tempDir, treeEntries } from "./helpers.js";

const RECIPE = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8");

const entries = (dir: string) => treeEntries(dir);

async function built() {
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  writeFileSync(topology, RECIPE);
  expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
  return { dir, topology, out: join(dir, "out") };
}

describe("the output folder", () => {
  it("a failure before the renames leaves the previous output as it was", async () => {
    const w = await built();
    const before = readTree(w.out);
    // Something in the way of one file: the build must fail before it replaces any other.
    const blocked = join(w.out, "docker3/usr/local/sbin/gre-gen-ovs-setup");
    rmSync(blocked);
    mkdirSync(blocked);
    writeFileSync(w.topology, RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 9000"));
    const result = await run("build", w.topology, "-o", w.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("gre-gen-ovs-setup:1:1: error: expected a file here; move it away and build again");
    const after = readTree(w.out);
    for (const [path, file] of before) if (!path.startsWith("docker3/usr")) expect(after.get(path), path).toEqual(file);
    expect(readdirSync(w.out).filter((n) => n.includes("staging"))).toEqual([]);
  });

  it("never removes what its manifest names outside the folder, nor a file it did not write", async () => {
    const w = await built();
    writeFileSync(join(w.dir, "victim"), "keep\n");
    mkdirSync(join(w.out, "docker7"), { recursive: true });
    writeFileSync(join(w.out, "docker7/notes"), "not generated\n");
    const manifest = join(w.out, ".gre-gen-manifest");
    writeFileSync(manifest, readFileSync(manifest, "utf8") + "../victim\n/etc/hostname\ndocker7/notes\n");
    expect((await run("check", w.topology, "-o", w.out)).stdout).not.toMatch(/extra:/);
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    expect(readFileSync(join(w.dir, "victim"), "utf8")).toBe("keep\n");
    expect(readFileSync(join(w.out, "docker7/notes"), "utf8")).toBe("not generated\n");
  });

  it("never removes a generated-looking file through a symbolic link in place of a removed host", async () => {
    const w = await built();
    const elsewhere = tempDir();
    const lookalike = readFileSync(join(w.out, "docker3/etc/network/interfaces.d/newbridge"), "utf8");
    mkdirSync(join(elsewhere, "etc/network/interfaces.d"), { recursive: true });
    writeFileSync(join(elsewhere, "etc/network/interfaces.d/newbridge"), lookalike);
    rmSync(join(w.out, "docker3"), { recursive: true });
    symlinkSync(elsewhere, join(w.out, "docker3"));
    const target = entries(elsewhere);
    writeFileSync(w.topology, RECIPE.replace(/ {2}docker3:\n(?: {4}.*\n)+/, "  docker4:\n    underlay_ip: 10.10.10.104\n"));
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    expect(entries(elsewhere)).toEqual(target);
  });

  it("never follows a symbolic link planted deeper in the folder, nor replaces the lock through one", async () => {
    const w = await built();
    const elsewhere = tempDir();
    rmSync(join(w.out, "docker1/etc/network"), { recursive: true });
    symlinkSync(elsewhere, join(w.out, "docker1/etc/network"));
    const result = await run("build", w.topology, "-o", w.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("network:1:1: error: refusing to write through a symbolic link in the output folder");
    expect(entries(elsewhere)).toEqual({});

    const v = await built();
    const target = join(tempDir(), "target");
    writeFileSync(target, "precious\n");
    rmSync(join(v.dir, "topology.lock"));
    symlinkSync(target, join(v.dir, "topology.lock"));
    expect((await run("build", v.topology, "-o", v.out)).code).toBe(2);
    expect(readFileSync(target, "utf8")).toBe("precious\n");
  });
});

describe("the output folder, continued", () => {
  it("a user's folder named like gre-gen's staging folder is left alone", async () => {
    const w = await built();
    mkdirSync(join(w.out, ".gre-gen-staging-backup"));
    writeFileSync(join(w.out, ".gre-gen-staging-backup", "0"), "keep\n");
    writeFileSync(w.topology, RECIPE.replace("underlay_mtu: 1500", "underlay_mtu: 9000"));
    expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
    expect(readFileSync(join(w.out, ".gre-gen-staging-backup", "0"), "utf8")).toBe("keep\n");
  });

  it("a folder the machine refuses is a positioned error, not a stack trace", async () => {
    const w = await built();
    writeFileSync(join(w.dir, "a-file"), "");
    const result = await run("build", w.topology, "-o", join(w.dir, "a-file", "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^\S+\/a-file\/out\/\S+:1:1: error: cannot l?stat: a part of the path is not a folder\n$/);
  });
});

describe("resource limits", () => {
  async function check(bytes: Uint8Array | string) {
    const dir = tempDir();
    writeFileSync(join(dir, "t.yml"), bytes);
    const result = await run("check", join(dir, "t.yml"), "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(existsSync(join(dir, "out"))).toBe(false);
    return result.stderr.replaceAll(dir + "/", "");
  }

  it("a file over 1 MiB", async () => {
    expect(await check("#".repeat(1024 * 1024 + 1))).toBe("t.yml:1:1: error: file is larger than 1048576 bytes, the most a topology or lock may hold\n");
  });

  it("an alias bomb", async () => {
    const levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++) levels.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
    expect(await check(levels.join("\n") + "\n")).toBe(
      "t.yml:1:1: error: the YAML expands aliases more than 100 times; write the values out\n  a0: &a0 [x, x, x, x, x, x, x, x, x]\n  ^\n",
    );
  });

  it("deep nesting", async () => {
    expect((await check("a: " + "[".repeat(100_000) + "]".repeat(100_000) + "\n")).split("\n")[0]).toMatch(/^t\.yml:1:\d+: error: the YAML is nested too deeply$/);
  });

  it("bytes that are not UTF-8", async () => {
    expect(await check(new Uint8Array([...Buffer.from("version: 1\nhosts: caf"), 0xe9, 0x0a]))).toBe(
      "t.yml:2:11: error: file is not UTF-8 text (invalid byte 0xe9 at byte offset 21)\n  hosts: caf\uFFFD\n            ^\n",
    );
  });

  it("a stray continuation byte is reported at that byte, not the one before it", async () => {
    expect(await check(new Uint8Array([...Buffer.from("version: 1\nab"), 0x80, ...Buffer.from("cd\n")]))).toBe(
      "t.yml:2:3: error: file is not UTF-8 text (invalid byte 0x80 at byte offset 13)\n  ab\uFFFDcd\n    ^\n",
    );
  });

  it("binary input", async () => {
    expect(await check(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))).toBe("t.yml:1:1: error: file holds a control character (U+007f); is it binary?\n   ELF    \n  ^\n");
  });

  it("more hosts than a mesh supports", async () => {
    const hosts = Array.from({ length: 1001 }, (_, i) => `  h${i}: { underlay_ip: 172.16.${i >> 8}.${i & 255} }\n`).join("");
    const stderr = await check(`version: 1\noverlay:\n  subnet: 10.0.0.0/8\n  host_prefix: 20\nhosts:\n${hosts}`);
    expect(stderr.split("\n")[0]).toBe("t.yml:5:1: error: hosts lists 1001 hosts; a full mesh of more than 1000 (999000 tunnel ends) is not supported");
    const dir = tempDir();
    writeFileSync(join(dir, "t.yml"), `version: 1\noverlay:\n  subnet: 10.0.0.0/8\n  host_prefix: 20\nhosts:\n${hosts}`);
    const json = await run("check", join(dir, "t.yml"), "--format", "json");
    expect((JSON.parse(json.stdout) as { code: string }[]).map((d) => d.code)).toEqual(["too-many-hosts"]);
  });
});

describe("values systemd would drop", () => {
  it("an ExecStart= line of 1 MiB or more is refused with the limit in the message", async () => {
    const dir = tempDir();
    // 600 arguments of 1000 '$', each doubled in the unit file: 1.2 MB of ExecStart=.
    const args = Array.from({ length: 600 }, () => `"${"$".repeat(1000)}"`).join(", ");
    writeFileSync(join(dir, "topology.yml"), RECIPE.replace(/ {2}args: .*\n/, () => `  args: [${args}]\n`));
    const result = await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr.replaceAll(dir + "/", "")).toMatch(/^topology\.yml:\d+:9: error: docker args come to 1201800 bytes in the drop-in's ExecStart= line; systemd ignores a line of 1048576 bytes or more, and Docker would not start\n/);
    expect(existsSync(join(dir, "out"))).toBe(false);
    const json = await run("check", join(dir, "topology.yml"), "--format", "json");
    expect((JSON.parse(json.stdout) as { code: string }[]).map((d) => d.code)).toEqual(["exec-start-too-long"]);
  });

  it("the longest ExecStart= line systemd reads builds; one byte pair more is refused", async () => {
    const dir = tempDir();
    // 522 arguments of 1000 '$' and one of n, each doubled and quoted: with ExecStart=, dockerd and
    // gre-gen's own flags counted as 1224 bytes, n = 891 comes to 1048575 bytes, the most systemd reads.
    const withDollars = (n: number) => {
      const args = [...Array.from({ length: 522 }, () => "$".repeat(1000)), "$".repeat(n)].map((a) => `"${a}"`).join(", ");
      return RECIPE.replace(/ {2}args: .*\n/, () => `  args: [${args}]\n`);
    };
    writeFileSync(join(dir, "topology.yml"), withDollars(891));
    expect(await run("check", join(dir, "topology.yml"), "-o", join(dir, "out"))).toMatchObject({ code: 1, stderr: "" });
    writeFileSync(join(dir, "topology.yml"), withDollars(892));
    const result = await run("check", join(dir, "topology.yml"), "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: docker args come to 1047353 bytes in the drop-in's ExecStart= line;");
  });
});

describe("the folders a failed build made", () => {
  it("go where they are empty, the last made first; one that holds a file stays, and keeps no other from going", () => {
    const dir = tempDir();
    const made = ["h1", "h1/usr", "h2", "h2/etc", "h2/etc/network"].map((folder) => join(dir, folder));
    for (const folder of made) mkdirSync(folder);
    writeFileSync(join(dir, "h2/etc/network/interfaces"), "someone's\n");
    removeEmptyFolders(made);
    expect(Object.keys(treeEntries(dir))).toEqual(["h2", "h2/etc", "h2/etc/network", "h2/etc/network/interfaces"]);
  });
});
