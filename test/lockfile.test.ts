// The lock file (SPEC §1 "Allocation and stability") across builds: what happens to recorded
// allocations when the overlay's prefix or subnet changes, its order, and how it is replaced.
import { existsSync, linkSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseLock } from "../src/lock.js";
import { readLockLines } from "../src/lock-lines.js";
import { compileBytes } from "../src/pipeline.js";
import { parse } from "yaml";
import { HOST_NAME } from "../src/schema.js";
import { yamlKey } from "../src/templates.js";
import { run, tempDir } from "./helpers.js";
import { validTopology } from "./support/topologies.js";

function topology(overlay: string, names = ["a", "b", "c"]) {
  return `version: 1\noverlay:\n${overlay}hosts:\n${names.map((n, i) => `  ${n}:\n    underlay_ip: 192.0.2.${i + 10}\n`).join("")}`;
}

async function build(dir: string, text: string) {
  writeFileSync(join(dir, "topology.yml"), text);
  const result = await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
  expect(result.code, result.stderr).toBe(0);
  return readFileSync(join(dir, "topology.lock"), "utf8");
}

/** The lock's hosts, in its order: name, bridge address, range. */
function entries(lock: string): string[][] {
  return [...lock.matchAll(/^ {2}(\S+):\n {4}bridge_ip: (\S+)\n {4}fixed_cidr: (\S+)\n/gm)].map((m) => m.slice(1));
}

describe("the lock file itself", () => {
  it("lists hosts in byte order of their names, whatever the topology's order", async () => {
    const dir = tempDir();
    const lock = await build(dir, topology("  subnet: 10.11.12.0/24\n  host_prefix: 28\n", ["zeta", "beta-2", "Mid", "beta", "alpha", "B1"]));
    expect(entries(lock).map((e) => e[0])).toEqual(["B1", "Mid", "alpha", "beta", "beta-2", "zeta"]);
    // Allocation itself follows the topology's order.
    expect(entries(lock).find((e) => e[0] === "zeta")![1]).toBe("10.11.12.1");
  });

  it("is replaced by a rename, never rewritten in place, and leaves no temporary file", async () => {
    const dir = tempDir();
    const first = await build(dir, topology("  subnet: 10.11.12.0/24\n"));
    // A second name for the old file: an in-place write would change it too.
    linkSync(join(dir, "topology.lock"), join(dir, "old.lock"));
    const second = await build(dir, topology("  subnet: 10.11.12.0/24\n", ["a", "b", "c", "d"]).replace("  subnet: 10.11.12.0/24\n", "  subnet: 10.11.12.0/24\n  host_prefix: 27\n"));
    expect(second).not.toBe(first);
    expect(readFileSync(join(dir, "old.lock"), "utf8")).toBe(first);
    expect(readdirSync(dir).sort()).toEqual(["old.lock", "out", "topology.lock", "topology.yml"]);
  });

  it("release replaces it by a rename too, and leaves no temporary file", async () => {
    const dir = tempDir();
    const first = await build(dir, topology("  subnet: 10.11.12.0/24\n"));
    linkSync(join(dir, "topology.lock"), join(dir, "old.lock"));
    const released = await run("release", "b", join(dir, "topology.yml"));
    expect(released.code, released.stderr).toBe(0);
    expect(readFileSync(join(dir, "old.lock"), "utf8")).toBe(first);
    expect(entries(readFileSync(join(dir, "topology.lock"), "utf8")).map((e) => e[0])).toEqual(["a", "c"]);
    expect(readdirSync(dir).sort()).toEqual(["old.lock", "out", "topology.lock", "topology.yml"]);
  });

  it("is not rewritten when nothing changed", async () => {
    const dir = tempDir();
    const first = await build(dir, topology("  subnet: 10.11.12.0/24\n"));
    linkSync(join(dir, "topology.lock"), join(dir, "same.lock"));
    writeFileSync(join(dir, "same.lock"), first);
    const result = await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
    expect(result.stdout).not.toContain("topology.lock");
    expect(existsSync(join(dir, "same.lock"))).toBe(true);
  });
});

/** A lock written by hand: host → [bridge_ip, fixed_cidr]. */
function lockText(hosts: Record<string, [string, string]>): string {
  return `version: 1\nhosts:\n${Object.entries(hosts).map(([n, [ip, cidr]]) => `  ${n}:\n    bridge_ip: ${ip}\n    fixed_cidr: ${cidr}\n`).join("")}`;
}

async function planWithLock(text: string, lock: string) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  writeFileSync(join(dir, "topology.lock"), lock);
  const result = await run("plan", join(dir, "topology.yml"), "--json");
  return { ...result, hosts: result.code === 0 ? (JSON.parse(result.stdout).hosts as { name: string; bridge_ip: string; fixed_cidr: string }[]).map((h) => [h.name, h.bridge_ip, h.fixed_cidr]) : [] };
}

describe("explicit values and the lock", () => {
  it("an explicit fixed_cidr replaces the recorded range; the other hosts keep theirs", async () => {
    const lock = lockText({ a: ["10.11.12.1", "10.11.12.64/26"], b: ["10.11.12.2", "10.11.12.128/26"] });
    const { hosts } = await planWithLock(topology("  subnet: 10.11.12.0/24\n", ["a", "b"]).replace("  a:\n", "  a:\n    fixed_cidr: 10.11.12.192/26\n"), lock);
    expect(hosts).toEqual([
      ["a", "10.11.12.1", "10.11.12.192/26"],
      ["b", "10.11.12.2", "10.11.12.128/26"],
    ]);
  });

  it("an explicit bridge_ip replaces the recorded one", async () => {
    const lock = lockText({ a: ["10.11.12.1", "10.11.12.64/26"], b: ["10.11.12.2", "10.11.12.128/26"] });
    const { hosts } = await planWithLock(topology("  subnet: 10.11.12.0/24\n", ["a", "b"]).replace("  a:\n", "  a:\n    bridge_ip: 10.11.12.9\n"), lock);
    expect(hosts).toEqual([
      ["a", "10.11.12.9", "10.11.12.64/26"],
      ["b", "10.11.12.2", "10.11.12.128/26"],
    ]);
  });
});

describe("the lock's name", () => {
  it.each([
    ["topology.yml", "topology.lock"],
    ["site.yaml", "site.lock"],
    ["Site.YML", "Site.lock"],
    ["plain", "plain.lock"],
    ["two.yml.yml", "two.yml.lock"],
  ])("%s keeps its allocations in %s beside it", async (name, lockName) => {
    const dir = tempDir();
    writeFileSync(join(dir, name), topology("  subnet: 10.11.12.0/24\n", ["a", "b"]));
    expect((await run("build", join(dir, name), "-o", join(dir, "out"))).code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([lockName, name, "out"].sort());
  });
});

describe("reading a lock", () => {
  const encoder = new TextEncoder();
  const write = (text: string, lock?: string) =>
    compileBytes({ topologyPath: "topology.yml", topology: encoder.encode(text), lockPath: "topology.lock", lock: lock === undefined ? undefined : encoder.encode(lock) }).lock.content;
  /** What the YAML parser reads: a comment with a non-ASCII letter first keeps the line reader out, and means nothing. */
  const parsed = (text: string) => {
    const lock = parseLock("topology.lock", encoder.encode(`# é\n${text}`));
    return Array.isArray(lock) ? lock.map((d) => d.message) : { subnet: lock.subnet, hostPrefix: lock.hostPrefix, entries: lock.entries };
  };
  const withRetired = () => {
    const all = topology("  subnet: 10.11.12.0/24\n  host_prefix: 28\n", ["b", "a", "zz", "m"]);
    return write(all.replace(/ {2}zz:\n.*\n/, "").replace(/ {2}a:\n.*\n/, ""), write(all));
  };

  it("every lock gre-gen writes is read line by line, to what the YAML parser reads", () => {
    const written = [...fc.sample(validTopology, { seed: 17, numRuns: 40 }).map((text) => write(text)), withRetired()];
    expect(withRetired()).toContain("retired:\n  a:\n");
    for (const text of written) {
      const lines = readLockLines(text);
      expect(lines, text).toBeDefined();
      expect(lines, text).toEqual(parsed(text));
    }
  });

  it("a lock edited by hand is read line by line only when that reads what the YAML parser reads", () => {
    const base = withRetired();
    const edits: [RegExp | string, string][] = [
      ["  b:\n", "  true:\n"], ["  b:\n", "  null:\n"], ["  b:\n", "  false:\n"], ["  b:\n", "  B:\n"], ["  b:\n", "  1b:\n"], ["  b:\n", "  b_1:\n"], ["  b:\n", "  a:\n"], ["  b:\n", "  m:\n"], ["  b:\n", "  'b':\n"], ["  b:\n", "  b: \n"], ["  b:\n", "  b :\n"],
      ["version: 1\n", "version: 2\n"], ["version: 1\n", "version: 01\n"], ["version: 1\n", ""], ["version: 1\n", "version:  1\n"], ["version: 1\n", "version: 11\n"], ["version: 1\n", "version: 1x\n"], ["host_prefix: 28\n", "host_prefix: x28\n"], ["host_prefix: 28\n", "host_prefix: 28x\n"],
      ["subnet: 10.11.12.0/24\n", "subnet: 10.11.12.1/24\n"], ["subnet: 10.11.12.0/24\n", ""], ["subnet: 10.11.12.0/24\n", "subnet: 10.11.12.0/33\n"], ["subnet: 10.11.12.0/24\n", "subnet: x10.11.12.0/24\n"],
      ["host_prefix: 28\n", ""], ["host_prefix: 28\n", "host_prefix: 028\n"], ["host_prefix: 28\n", "host_prefix: 280\n"], ["host_prefix: 28\n", "host_prefix: x\n"], ["host_prefix: 28\n", "host_prefix: 0\n"],
      ["hosts:\n", "hosts: \n"], ["hosts:\n", "host:\n"], [/hosts:\n(?: .*\n)*/, "hosts:\n"], [/retired:\n(?: .*\n)*/, "retired:\n"], [/retired:\n(?: .*\n)*/, ""], ["retired:\n", "retired: \n"],
      [/fixed_cidr: 10\.11\.12\.(\d+)\/28/, "fixed_cidr: 10.11.12.$1/27"], [/fixed_cidr: 10\.11\.12\.16\/28/, "fixed_cidr: 10.11.12.17/28"], [/fixed_cidr: (\S+)\n/, "fixed_cidr: $1x\n"], [/ {4}fixed_cidr: .*\n/, ""], [/ {4}fixed_cidr: /, "    fixed_cidr:  "],
      [/bridge_ip: 10\.11\.12\.(\d+)/, "bridge_ip: 10.11.12.0$1"], [/bridge_ip: (\S+)/, "bridge_ip: x$1"], [/ {4}bridge_ip: .*\n/, ""], [/ {4}bridge_ip: /, "     bridge_ip: "],
      [/(\n)$/, "$1other: 1\n"], [/\n$/, ""], [/\n$/, "\n\n"], [/\n/, "\r\n"], [/\n/g, "\r\n"], ["version: 1\n", "version: 1\n# a note\n"], ["version: 1\n", "version: 1\n  # a note\n"], [/ {4}bridge_ip/, "\tbridge_ip"],
    ];
    let read = 0;
    for (const [from, to] of edits) {
      const text = base.replace(from, to);
      expect(text, String(from)).not.toBe(base);
      const lines = readLockLines(text);
      if (lines === undefined) continue;
      read++;
      expect(lines, text).toEqual(parsed(text));
    }
    // Some edits keep a lock the line reader takes: a comment, an omitted overlay, another name.
    expect(read).toBeGreaterThanOrEqual(4);
  });
});

describe("a lock edited by hand into another YAML form", () => {
  const flow = "version: 1\nsubnet: 10.11.12.0/24\nhost_prefix: 26\nhosts:\n  a: { bridge_ip: 10.11.12.1, fixed_cidr: 10.11.12.64/26 }\n  b: { bridge_ip: 10.11.12.1, fixed_cidr: 10.11.12.128/26 }\nretired:\n  z: { bridge_ip: 10.11.12.9, fixed_cidr: 10.11.12.192/26 }\n";
  const site = () => {
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), topology("  subnet: 10.11.12.0/24\n", ["a", "b"]));
    writeFileSync(join(dir, "topology.lock"), flow);
    return { file: join(dir, "topology.yml"), lock: join(dir, "topology.lock"), out: join(dir, "out") };
  };

  it("names an entry written on one line by that line", async () => {
    const s = site();
    const result = await run("check", s.file, "-o", s.out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${s.lock}:6:3: error: b and a (line 5) hold the same addresses: bridge address 10.11.12.1 (two branches that each added a host?); keep the entry of the host already deployed and delete the other one's (b: line 6, a: line 5)`);
  });

  it("release reads it, says what it lists when the host is not in it, and writes the rest back in gre-gen's own form", async () => {
    const s = site();
    expect(await run("release", "x", s.file)).toEqual({ code: 2, stdout: "", stderr: `${s.lock}:1:1: error: x has no entry in topology.lock (it lists a, b, z)\n` });
    expect(readFileSync(s.lock, "utf8")).toBe(flow);
    expect((await run("release", "b", s.file)).code).toBe(0);
    const rest = readFileSync(s.lock, "utf8");
    expect(rest.replace(/^#.*\n/gm, "")).toBe("version: 1\nsubnet: 10.11.12.0/24\nhost_prefix: 26\nhosts:\n  a:\n    bridge_ip: 10.11.12.1\n    fixed_cidr: 10.11.12.64/26\nretired:\n  z:\n    bridge_ip: 10.11.12.9\n    fixed_cidr: 10.11.12.192/26\n");
    expect(readLockLines(rest)).toBeDefined();
  });
});

describe("retired hosts", () => {
  it("are listed in name order whatever the lock's order, in plan, its JSON and the lock a build writes", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topology("  subnet: 10.11.12.0/24\n", ["a", "b"]));
    writeFileSync(join(dir, "topology.lock"), `${lockText({ a: ["10.11.12.1", "10.11.12.64/26"], b: ["10.11.12.2", "10.11.12.128/26"] })}retired:\n  z:\n    bridge_ip: 10.11.12.9\n    fixed_cidr: 10.11.12.192/26\n  y:\n    bridge_ip: 10.11.12.8\n    fixed_cidr: 10.11.12.32/27\n`);
    const json = await run("plan", "--json", file);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout).retired as { name: string }[]).map((r) => r.name)).toEqual(["y", "z"]);
    expect((await run("plan", file)).stdout).toMatch(/^y \(retired\) .*\nz \(retired\) /m);
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    expect(readFileSync(join(dir, "topology.lock"), "utf8")).toMatch(/retired:\n {2}y:\n.*\n.*\n {2}z:\n/);
  });
});

describe("host names as lock keys", () => {
  it("every valid host name reads back from the lock as itself, quoted only where YAML would read it as something else", () => {
    const label = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,6}[A-Za-z0-9])?$/);
    const words = fc.constantFrom("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "tRUE", "nULL", "yes", "no", "on", "off", "y", "n", "inf", "nan", "e5", "0x1f", "0o17", "1e3", "01", "1", "1.5");
    fc.assert(
      fc.property(fc.array(fc.oneof(label, words), { minLength: 1, maxLength: 3 }), (labels) => {
        const name = labels.join(".");
        fc.pre(HOST_NAME.test(name));
        const key = yamlKey(name);
        expect(Object.keys(parse(`${key}: 1\n`) as object)).toEqual([name]);
        // Bare exactly where the bare name already reads as itself.
        expect(key === name).toBe(parse(name) === name);
      }),
      { numRuns: 2000 },
    );
  });
});
