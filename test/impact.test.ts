// The impact summary's decisions (issue: pull-request workflow): per host, which generated file
// changed decides what must run there; a host is new only when none of its files exist yet.
import { readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run, tempDir } from "./helpers.js";

const RECIPE = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8").replace("  mtu: auto\n", "  mtu: 1400\n");
const SCRIPT = "usr/local/sbin/gre-gen-ovs-setup";
const STANZA = "etc/network/interfaces.d/newbridge";
const DROP_IN = "etc/systemd/system/docker.service.d/gre-gen.conf";

const SETUP = "run gre-gen-ovs-setup";
const BRIDGE = "ifdown newbridge && ifup newbridge";
const DOCKER = "systemctl daemon-reload && systemctl restart docker";

/** Builds the recipe, applies `change`, and returns check's impact lines (both check and diff show the same). */
async function impactOf(change: (w: { topology: string; out: string }) => void): Promise<string[]> {
  const dir = tempDir();
  const w = { topology: join(dir, "topology.yml"), out: join(dir, "out") };
  writeFileSync(w.topology, RECIPE);
  expect((await run("build", w.topology, "-o", w.out)).code).toBe(0);
  change(w);
  const check = await run("check", w.topology, "-o", w.out);
  expect(check.code, check.stderr).toBe(1);
  const diff = await run("diff", w.topology, "-o", w.out);
  const lines = (text: string) => (text.split("Impact, per host (in this order):\n")[1] ?? "").split("\n").filter(Boolean);
  expect(lines(diff.stdout)).toEqual(lines(check.stdout));
  return lines(check.stdout);
}

const edit = (from: string, to: string) => (w: { topology: string }) => writeFileSync(w.topology, readFileSync(w.topology, "utf8").replace(from, to));

describe("what a change makes each host do", () => {
  it("a docker argument: restart Docker, nothing else", async () => {
    expect(await impactOf(edit('args: ["-H", "fd://",', 'args: ["-H", "fd://", "--debug",'))).toEqual([`  docker1: ${DOCKER}`, `  docker3: ${DOCKER}`]);
  });

  it("a host's range: restart Docker on that host only", async () => {
    expect(await impactOf(edit("fixed_cidr: 10.11.12.128/26", "fixed_cidr: 10.11.12.64/26"))).toEqual([`  docker1: ${DOCKER}`]);
  });

  it("a host's bridge address: its setup script, then its bridge, then Docker", async () => {
    expect(await impactOf(edit("bridge_ip: 10.11.12.1\n", "bridge_ip: 10.11.12.5\n"))).toEqual([`  docker1: ${SETUP}; ${BRIDGE}; ${DOCKER}`]);
  });

  it("a peer's underlay address: the other hosts rerun their setup script; nothing restarts", async () => {
    expect(await impactOf(edit("underlay_ip: 192.168.50.101", "underlay_ip: 192.168.50.102"))).toEqual([`  docker1: ${SETUP}`]);
  });

  it("a GRE key beside a fixed MTU, or another datapath: every setup script reruns; nothing restarts", async () => {
    expect(await impactOf(edit("  mtu: 1400\n", "  mtu: 1400\n  gre_key: 5\n"))).toEqual([`  docker1: ${SETUP}`, `  docker3: ${SETUP}`]);
    expect(await impactOf(edit("  mtu: 1400\n", "  mtu: 1400\n  ovs_datapath: netdev\n"))).toEqual([`  docker1: ${SETUP}`, `  docker3: ${SETUP}`]);
  });

  it("the MTU: every step on every host", async () => {
    expect(await impactOf(edit("  mtu: 1400\n", "  mtu: 1300\n"))).toEqual([`  docker1: ${SETUP}; ${BRIDGE}; ${DOCKER}`, `  docker3: ${SETUP}; ${BRIDGE}; ${DOCKER}`]);
  });

  it("a setup script that lost its executable bit: rerun it, restart nothing", async () => {
    expect(await impactOf((w) => chmodSync(join(w.out, "docker3", SCRIPT), 0o644))).toEqual([`  docker3: ${SETUP}`]);
  });

  it("a stanza edited by hand: the bridge restarts, and Docker after it", async () => {
    expect(await impactOf((w) => writeFileSync(join(w.out, "docker3", STANZA), "# edited\n"))).toEqual([`  docker3: ${BRIDGE}; ${DOCKER}`]);
  });

  it("only the manifest: no host has anything to do", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), RECIPE);
    await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
    rmSync(join(dir, "out/.gre-gen-manifest"));
    const check = await run("check", join(dir, "topology.yml"), "-o", join(dir, "out"));
    expect(check.code).toBe(1);
    expect(check.stdout).toBe(`missing: ${join(dir, "out/.gre-gen-manifest")}\n${join(dir, "out")}: 2 hosts, 1 file(s) out of date; run gre-gen build\n`);
  });
});

describe("when a host counts as new", () => {
  it("none of its files there: install them, set up, bring the bridge up (no ifdown), start Docker", async () => {
    expect(await impactOf((w) => rmSync(join(w.out, "docker1"), { recursive: true }))).toEqual([`  docker1 (new): install its files; ${SETUP}; ifup newbridge; ${DOCKER}`]);
  });

  it("one of its files still there, even stale: not new; every step for an existing host", async () => {
    const lines = await impactOf((w) => {
      rmSync(join(w.out, "docker1", SCRIPT));
      rmSync(join(w.out, "docker1", DROP_IN));
      writeFileSync(join(w.out, "docker1", STANZA), "# edited\n");
    });
    expect(lines).toEqual([`  docker1: ${SETUP}; ${BRIDGE}; ${DOCKER}`]);
  });
});

describe("the summary's lines", () => {
  it("one per host in name order, whatever the topology's order; a removed host says how to take it down", async () => {
    const lines = await impactOf((w) =>
      writeFileSync(w.topology, readFileSync(w.topology, "utf8").replace(/ {2}docker1:\n(?: {4}.*\n)+/, "").replace('"fd://",', '"fd://", "--debug",') + "  alpha:\n    underlay_ip: 10.10.10.110\n"),
    );
    expect(lines).toEqual([
      `  alpha (new): install its files; ${SETUP}; ifup newbridge; ${DOCKER}`,
      "  docker1: gone from the topology; delete its generated files, then `ovs-vsctl del-br` and `ip link del newbridge` there",
      `  docker3: ${SETUP}; ${DOCKER}`,
    ]);
  });
});
