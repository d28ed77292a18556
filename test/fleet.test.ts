// Large fleets (issue 16): rendered, compared and written host by host, each tunnel's text
// rendered once for the fleet and shared by the hosts that have that tunnel.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../src/pipeline.js";
import { CLI, readTree, ROOT, runExecutable, tempDir } from "./helpers.js";

const underlayOf = (i: number) => `172.${16 + (i >> 8)}.${i & 255}.10`;

function fleet(names: string[], underlay = underlayOf, overlay = "") {
  const hosts = names.map((name, i) => `  ${name}:\n    underlay_ip: ${underlay(i)}\n`).join("");
  return `version: 1\noverlay:\n  subnet: 10.0.0.0/14\n  host_prefix: 24\n${overlay}hosts:\n${hosts}`;
}

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `h${i}`);

function builtFleet(topology: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), topology);
  expect(runExecutable(["build"], dir).code).toBe(0);
  return dir;
}

/** Runs Node with `args` in `dir`; returns its exit code and peak resident memory in MiB. */
function runMeasured(args: string[], dir: string): { code: number; mib: number } {
  const peakFile = join(dir, "peak");
  const env = { ...process.env, GRE_GEN_PEAK_FILE: peakFile };
  const result = spawnSync(process.execPath, ["--require", join(ROOT, "test/support/peak-memory.cjs"), ...args], { cwd: dir, env, stdio: "ignore" });
  return { code: result.status ?? -1, mib: Number(readFileSync(peakFile, "utf8")) / 1024 };
}

/** The files of `a` and `b` whose content or executable bit differ, or that only one holds. */
function differing(a: string, b: string): string[] {
  const [left, right] = [readTree(a), readTree(b)];
  const paths = new Set([...left.keys(), ...right.keys()]);
  return [...paths].filter((p) => JSON.stringify(left.get(p)) !== JSON.stringify(right.get(p))).sort();
}

describe("a fleet rendered host by host", () => {
  it("gives every host exactly its own peers, whatever the order of the file, with a key and long names", () => {
    const names = ["mike", "a-very-long-host-name-0", "alpha", "zulu.example.net", "bravo", "a", "a-b", "charlie-with-a-long-name"];
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), fleet(names, underlayOf, "  key: 77\n"));
    const compilation = compile(join(dir, "topology.yml"));
    const files = new Map([...compilation.outputs()].map((f) => [f.path, f.content]));
    for (const host of compilation.plan.hosts) {
      const script = files.get(`${host.name}/usr/local/sbin/gre-gen-ovs-setup`)!;
      const firewall = files.get(`${host.name}/etc/nftables.d/gre-gen-underlay.nft`)!;
      const peers = compilation.plan.hosts.filter((h) => h !== host).sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(peers.map((p) => p.name)).toEqual(host.tunnels.map((t) => t.peer));
      expect(script).toContain(`\nlocal_ip=${host.underlayIp}\n`);
      expect(script).toContain(`\nwanted_ports=(${host.tunnels.map((t) => t.port).join(" ")})\n`);
      expect(firewall).toContain(`elements = { ${peers.map((p) => p.underlayIp).join(", ")} }`);
      const steps = [...script.matchAll(/^ {2}-- set interface (\S+) type=gre "options=\{remote_ip=\\"([\d.]+)\\", local_ip=\\"\$local_ip\\", key=\\"77\\" \}" \\$/gm)];
      expect(steps.map((m) => [m[1], m[2]])).toEqual(host.tunnels.map((t) => [t.port, t.remoteIp]));
      expect(script).not.toContain(`external_ids:gre-gen-peer=${host.name} `);
    }
  });

  it("finds a file changed by hand at the same size, and build puts it back", () => {
    const dir = builtFleet(fleet(numbered(30)));
    const script = join(dir, "out/h7/usr/local/sbin/gre-gen-ovs-setup");
    const original = readFileSync(script, "utf8");
    writeFileSync(script, original.replace("set -euo pipefail", "set -euo pipefaiL"));
    const check = runExecutable(["check"], dir);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^stale: out\/h7\/usr\/local\/sbin\/gre-gen-ovs-setup\nout: 30 hosts, 1 file\(s\) out of date/);
    expect(runExecutable(["diff"], dir).stdout).toContain("-set -euo pipefaiL\n+set -euo pipefail\n");
    expect(runExecutable(["build"], dir).stdout).toMatch(/^updated out\/h7\/usr\/local\/sbin\/gre-gen-ovs-setup\n/);
    expect(readFileSync(script, "utf8")).toBe(original);
    expect(runExecutable(["check"], dir).code).toBe(0);
  });

  it("lists exactly the files a moved host changes, and builds them as a fresh build writes them", () => {
    const dir = builtFleet(fleet(numbered(30)));
    const moved = fleet(numbered(30), (i) => (i === 11 ? "192.0.2.11" : underlayOf(i)));
    writeFileSync(join(dir, "topology.yml"), moved);
    const fresh = tempDir();
    writeFileSync(join(fresh, "topology.yml"), moved);
    writeFileSync(join(fresh, "topology.lock"), readFileSync(join(dir, "topology.lock")));
    expect(runExecutable(["build"], fresh).code).toBe(0);
    const expected = differing(join(dir, "out"), join(fresh, "out"));
    // Every peer's script and firewall name h11's new address, and h11's own script its local_ip.
    expect(expected).toHaveLength(59);
    const check = runExecutable(["check"], dir);
    expect(check.code).toBe(1);
    expect([...check.stdout.matchAll(/^stale: out\/(.+)$/gm)].map((m) => m[1]!).sort()).toEqual(expected);
    expect(runExecutable(["build"], dir).code).toBe(0);
    expect(differing(join(dir, "out"), join(fresh, "out"))).toEqual([]);
  });

  it("builds and checks a fleet in less memory than its output takes", { timeout: 300_000 }, () => {
    // In memory where the machine has it: the disk's speed is not what this measures.
    const dir = tempDir(undefined, existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
    writeFileSync(join(dir, "topology.yml"), fleet(numbered(600)));
    const build = runMeasured([CLI, "build"], dir);
    expect(build.code).toBe(0);
    const out = join(dir, "out");
    const outputMib = readdirSync(out, { recursive: true }).reduce((sum, path) => sum + statSync(join(out, String(path))).size, 0) / 1024 / 1024;
    // 600 hosts write about 115 MiB; held at once, as builds did, it took several times that.
    expect(outputMib).toBeGreaterThan(110);
    const check = runMeasured([CLI, "check"], dir);
    expect(check.code).toBe(0);
    const bare = runMeasured(["-e", "0"], dir);
    for (const { mib } of [build, check]) expect(mib - bare.mib).toBeLessThan(outputMib);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("a fleet's lock", () => {
  it("reads the same written by gre-gen and restyled by hand, retired hosts and all", () => {
    const dir = builtFleet(fleet(numbered(12)));
    writeFileSync(join(dir, "topology.yml"), fleet(numbered(12).filter((name) => name !== "h4")));
    expect(runExecutable(["build"], dir).code).toBe(0);
    const written = readFileSync(join(dir, "topology.lock"), "utf8");
    expect(written).toContain("\nretired:\n  h4:\n");
    const restyled = written
      .replace(/^version: 1\n/m, "")
      .replace(/^hosts:\n/m, "version: 1\n\nhosts:\n")
      .replace(/bridge_ip: (\S+)\n(\s+)fixed_cidr: (\S+)/g, 'fixed_cidr: "$3"\n$2bridge_ip: \'$1\'');
    const plans = [written, restyled].map((lock) => {
      writeFileSync(join(dir, "topology.lock"), lock);
      return compile(join(dir, "topology.yml")).plan;
    });
    expect(plans[1]).toEqual(plans[0]);
    expect(plans[0]!.retired.map((r) => r.name)).toEqual(["h4"]);
  });

  it("places a conflict between two entries gre-gen wrote at their lines", () => {
    const dir = builtFleet(fleet(numbered(12)));
    const lock = readFileSync(join(dir, "topology.lock"), "utf8");
    const h3 = /^ {2}h3:\n {4}bridge_ip: (\S+)\n/m.exec(lock)![1]!;
    writeFileSync(join(dir, "topology.lock"), lock.replace(/^( {2}h5:\n {4}bridge_ip: )\S+$/m, `$1${h3}`));
    const check = runExecutable(["check"], dir);
    expect(check.code).toBe(2);
    const line = lock.split("\n").indexOf("  h5:") + 1;
    expect(check.stderr).toMatch(new RegExp(`^topology\\.lock:${line}:3: error: h5 and h3 \\(lines \\d+-\\d+\\) hold the same addresses: bridge address ${h3.replace(/\./g, "\\.")}`));
  });
});
