// The lock file (SPEC §1 "Allocation and stability") across builds: what happens to recorded
// allocations when the overlay's prefix or subnet changes, its order, and how it is replaced.
import { existsSync, linkSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, tempDir } from "./helpers.js";

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

describe("the lock when the overlay changes", () => {
  it("a new host_prefix re-allocates every range at the new size and keeps the bridge addresses", async () => {
    const dir = tempDir();
    const first = await build(dir, topology("  subnet: 10.11.12.0/24\n  host_prefix: 26\n"));
    expect(entries(first)).toEqual([
      ["a", "10.11.12.1", "10.11.12.64/26"],
      ["b", "10.11.12.2", "10.11.12.128/26"],
      ["c", "10.11.12.3", "10.11.12.192/26"],
    ]);
    const second = await build(dir, topology("  subnet: 10.11.12.0/24\n  host_prefix: 27\n"));
    expect(entries(second)).toEqual([
      ["a", "10.11.12.1", "10.11.12.32/27"],
      ["b", "10.11.12.2", "10.11.12.64/27"],
      ["c", "10.11.12.3", "10.11.12.96/27"],
    ]);
    expect(readFileSync(join(dir, "out/a/etc/systemd/system/docker.service.d/gre-gen.conf"), "utf8")).toContain("--fixed-cidr=10.11.12.32/27");
  });

  it("a wider subnet keeps every allocation; a different one allocates anew inside it", async () => {
    const dir = tempDir();
    // b's range is not the lowest free one any more once a leaves: the lock must keep it.
    await build(dir, topology("  subnet: 10.11.12.0/24\n"));
    const kept = await build(dir, topology("  subnet: 10.11.12.0/24\n", ["b", "c"]));
    expect(entries(kept)).toEqual([
      ["b", "10.11.12.2", "10.11.12.128/26"],
      ["c", "10.11.12.3", "10.11.12.192/26"],
    ]);
    const wider = await build(dir, topology("  subnet: 10.11.12.0/23\n", ["b", "c"]));
    expect(entries(wider)).toEqual(entries(kept));
    const moved = await build(dir, topology("  subnet: 10.99.0.0/24\n", ["b", "c"]));
    expect(entries(moved)).toEqual([
      ["b", "10.99.0.1", "10.99.0.64/26"],
      ["c", "10.99.0.2", "10.99.0.128/26"],
    ]);
    expect(readFileSync(join(dir, "out/b/etc/network/interfaces.d/newbridge"), "utf8")).toContain("address 10.99.0.1/24");
  });

  it("a narrower subnet keeps what still fits and moves only what falls outside", async () => {
    const dir = tempDir();
    await build(dir, topology("  subnet: 10.11.12.0/23\n", ["a", "b", "c", "d"]));
    const narrow = await build(dir, topology("  subnet: 10.11.12.0/24\n", ["a", "b", "d"]));
    // d's range 10.11.13.0/26 left the subnet: it takes the block c freed; its bridge address stays.
    expect(entries(narrow)).toEqual([
      ["a", "10.11.12.1", "10.11.12.64/26"],
      ["b", "10.11.12.2", "10.11.12.128/26"],
      ["d", "10.11.12.4", "10.11.12.192/26"],
    ]);
    const result = await run("check", join(dir, "topology.yml"), "-o", join(dir, "out"));
    expect(result.code).toBe(0);
  });
});

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
    const second = await build(dir, topology("  subnet: 10.11.12.0/24\n", ["a", "b", "d"]));
    expect(second).not.toBe(first);
    expect(readFileSync(join(dir, "old.lock"), "utf8")).toBe(first);
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
