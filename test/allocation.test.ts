// Allocation, stability and MTU (SPEC §1): absent addresses get the lowest free ones, the lock
// keeps them when hosts come and go, and the MTU follows the GRE overhead.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/diagnostics.js";
import { contains, formatCidr, overlaps, parseAddress, parseCidr, within, type Cidr } from "../src/ipv4.js";
import type { Plan } from "../src/model.js";
import { compile, compileBytes } from "../src/pipeline.js";
import { needs, readTree, run, sh, tempDir } from "./helpers.js";

function topology(hosts: string[], overlay = "") {
  const lines = hosts.map((name, i) => `  ${name}:\n    underlay_ip: 192.0.2.${i + 10}\n`);
  return `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n${overlay}hosts:\n${lines.join("")}`;
}

/** Underlay addresses follow the name, so a host keeps its own wherever it stands in the list. */
function topologyByName(hosts: string[]) {
  const lines = hosts.map((name) => `  ${name}:\n    underlay_ip: 192.0.2.${Number(name.replace(/\D/g, "")) + 10}\n`);
  return `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n  host_prefix: 28\nhosts:\n${lines.join("")}`;
}

function planOf(text: string, dir = tempDir()) {
  writeFileSync(join(dir, "topology.yml"), text);
  return compile(join(dir, "topology.yml")).plan;
}

describe("allocation", () => {
  it("gives absent bridge addresses the lowest free ones and ranges the lowest free aligned blocks", () => {
    const plan = planOf(topology(["a", "b", "c"]));
    expect(plan.hosts.map((h) => [h.bridgeAddress, h.fixedCidr])).toEqual([
      ["10.11.12.1/24", "10.11.12.64/26"],
      ["10.11.12.2/24", "10.11.12.128/26"],
      ["10.11.12.3/24", "10.11.12.192/26"],
    ]);
  });

  it("works around explicit values, and says how many more ranges a full subnet needed", async () => {
    const explicitA = (hosts: string[]) => topology(hosts).replace("  a:\n", "  a:\n    bridge_ip: 10.11.12.70\n    fixed_cidr: 10.11.12.128/26\n");
    const plan = planOf(explicitA(["a", "b"]));
    // 0/26 holds b's bridge address and 64/26 holds a's, so b's range is the last block.
    expect(plan.hosts.map((h) => [h.bridgeIp, h.fixedCidr])).toEqual([
      ["10.11.12.70", "10.11.12.128/26"],
      ["10.11.12.1", "10.11.12.192/26"],
    ]);
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), explicitA(["a", "b", "c", "d"]));
    const result = await run("plan", join(dir, "topology.yml"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: 10.11.12.0/24 has no room left for c: 2 more /26 ranges needed");
  });
});

describe("stability", () => {
  const perHost = (out: string, host: string) => {
    const tree = readTree(join(out, host));
    return { stanza: tree.get("etc/network/interfaces.d/newbridge")?.content, dropIn: tree.get("etc/systemd/system/docker.service.d/gre-gen.conf")?.content, script: tree.get("usr/local/sbin/gre-gen-ovs-setup")?.content };
  };
  const before = ["h1", "h2", "h3", "h4", "h5"];
  const changes: [string, string[]][] = [
    ["a host added first", ["h6", ...before]],
    ["a host added in the middle", ["h1", "h2", "h6", "h3", "h4", "h5"]],
    ["a host added last", [...before, "h6"]],
    ["a host removed", ["h1", "h2", "h4", "h5"]],
    ["the list reordered", [...before].reverse()],
  ];

  it.each(changes)("%s changes no other host's address, range, stanza or drop-in", async (_, after) => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    const out = join(dir, "out");
    writeFileSync(file, topologyByName(before));
    expect((await run("build", file, "-o", out)).code).toBe(0);
    const old = Object.fromEntries(before.map((h) => [h, perHost(out, h)]));
    const oldPlan = compile(file).plan;
    writeFileSync(file, topologyByName(after));
    expect((await run("build", file, "-o", out)).code).toBe(0);
    const newPlan = compile(file).plan;
    for (const host of before.filter((h) => after.includes(h))) {
      const was = oldPlan.hosts.find((h) => h.name === host)!;
      const is = newPlan.hosts.find((h) => h.name === host)!;
      expect([is.bridgeIp, is.fixedCidr], host).toEqual([was.bridgeIp, was.fixedCidr]);
      const now = perHost(out, host);
      expect(now.stanza, host).toBe(old[host]!.stanza);
      expect(now.dropIn, host).toBe(old[host]!.dropIn);
      const peersChanged = after.length !== before.length || after.some((h) => !before.includes(h));
      if (peersChanged) expect(now.script, host).not.toBe(old[host]!.script);
      else expect(now.script, host).toBe(old[host]!.script);
    }
  });

  it("refuses an explicit value that would take a locked host's range", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topologyByName(["h1", "h2"]));
    await run("build", file, "-o", join(dir, "out"));
    const taken = compile(file).plan.hosts[0]!.fixedCidr;
    writeFileSync(file, topologyByName(["h1", "h2", "h3"]).replace("  h3:\n", `  h3:\n    fixed_cidr: ${taken}\n`));
    const result = await run("build", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: fixed_cidr overlaps ${taken}, h1's range recorded in topology.lock; choose another so h1 keeps its range`);
  });

  it("host names YAML would read as numbers or null keep their values from build to build, quoted in the lock", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    const names = ['"01"', '"1e3"', '"0x10"', '"null"', '"1.10"', "web-1"];
    writeFileSync(file, topology(names, "  host_prefix: 28\n"));
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    const lock = readFileSync(join(dir, "topology.lock"), "utf8");
    for (const name of names) expect(lock).toContain(`\n  ${name}:\n`);
    expect(readFileSync(join(dir, "out/01/usr/local/sbin/gre-gen-ovs-setup"), "utf8")).toContain("this script is for 01,");
    expect(await run("check", file, "-o", join(dir, "out"))).toMatchObject({ code: 0, stdout: `${join(dir, "out")}: up to date (6 hosts)\n` });
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    expect(readFileSync(join(dir, "topology.lock"), "utf8")).toBe(lock);
  });

  it("a lock whose host name YAML reads as a number is refused at the name, saying to quote it", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topology(['"01"', '"02"']));
    expect((await run("build", file, "-o", join(dir, "out"))).code).toBe(0);
    const unquoted = readFileSync(join(dir, "topology.lock"), "utf8").replace('"02":', "02:");
    writeFileSync(join(dir, "topology.lock"), unquoted);
    const result = await run("build", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`topology.lock:12:3: error: damaged lock file: the host name 02 is read by YAML as the number 2; quote it ("02") to keep the name as written`);
    expect(readFileSync(join(dir, "topology.lock"), "utf8")).toBe(unquoted);
  });

  it("reports a damaged lock at its line", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    writeFileSync(file, topologyByName(["h1", "h2"]));
    await run("build", file, "-o", join(dir, "out"));
    writeFileSync(join(dir, "topology.lock"), readFileSync(join(dir, "topology.lock"), "utf8").replace(/bridge_ip: \S+/, "bridge_ip: nowhere"));
    const result = await run("check", file, "-o", join(dir, "out"));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/topology\.lock:10:16: error: damaged lock file/);
  });
});

describe("MTU", () => {
  const cases: [string, string, number][] = [
    ["a 1500 underlay", "", 1462],
    ["a 1500 underlay with a GRE key", "  gre_key: 1001\n", 1458],
    ["a 9000 underlay", "  underlay_mtu: 9000\n", 8962],
    ["a 9000 underlay with a GRE key", "  underlay_mtu: 9000\n  gre_key: 0\n", 8958],
    ["an explicit MTU below the limit", "  mtu: 1400\n", 1400],
  ];
  it.each(cases)("%s gives %s", async (_, overlay, mtu) => {
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), topology(["a", "b"], overlay));
    await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
    const files = readTree(join(dir, "out", "a"));
    expect(files.get("etc/network/interfaces.d/newbridge")?.content).toContain(`    mtu ${mtu}\n`);
    expect(files.get("etc/systemd/system/docker.service.d/gre-gen.conf")?.content).toContain(` --mtu=${mtu}\n`);
    const script = files.get("usr/local/sbin/gre-gen-ovs-setup")!.content;
    expect(script).toMatch(new RegExp(`mtu_request=${mtu}$`, "m"));
    expect(script).toContain(`ip link set dev "$bridge" mtu ${mtu}\n`);
  });
});

/** A topology of named hosts (underlay addresses follow the name), in a fresh folder with its paths. */
function site(hosts: string[], overlay: { subnet?: string; hostPrefix?: number } = {}, dir = tempDir()) {
  const file = join(dir, "topology.yml");
  const write = (names: string[], o = overlay) => {
    const lines = names.map((name) => `  ${name}:\n    underlay_ip: 192.0.2.${[...name].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 250}\n`);
    writeFileSync(file, `version: 1\noverlay:\n  subnet: ${o.subnet ?? "10.200.0.0/24"}\n  host_prefix: ${o.hostPrefix ?? 27}\nhosts:\n${lines.join("")}`);
  };
  write(hosts);
  const values = () => {
    const plan = compile(file).plan;
    return Object.fromEntries([...plan.hosts, ...plan.retired].map((h) => [h.name, `${h.bridgeIp} ${h.fixedCidr}`]));
  };
  return { dir, file, out: join(dir, "out"), lock: join(dir, "topology.lock"), write, values, build: (...args: string[]) => run("build", file, "-o", join(dir, "out"), ...args) };
}

describe("a network's whole life", () => {
  it("two branches each add a host: git merges the lock cleanly, build refuses it, and after release the first host keeps its values", async (ctx) => {
    needs(ctx, { tools: ["git"] });
    const s = site(["db-01", "web-01"]);
    const git = (...args: string[]) => sh("git", ["-c", "user.name=Ops", "-c", "user.email=ops@example.org", ...args], { cwd: s.dir });
    writeFileSync(join(s.dir, ".gitignore"), "out/\n");
    expect((await s.build()).code).toBe(0);
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-qm", "two hosts");
    for (const [branch, hosts] of [["alpha", ["alpha", "db-01", "web-01"]], ["zulu", ["db-01", "web-01", "zulu"]]] as const) {
      git("checkout", "-q", "-b", branch, "main");
      s.write([...hosts]);
      expect((await s.build()).code).toBe(0);
      git("commit", "-qam", `add ${branch}`);
    }
    git("checkout", "-q", "main");
    git("merge", "-q", "alpha");
    const alpha = s.values().alpha;
    const merge = git("merge", "--no-edit", "zulu");
    expect(merge.code, merge.output).toBe(0);
    const merged = readFileSync(s.lock, "utf8");
    expect(merged).toContain("  alpha:\n    bridge_ip: 10.200.0.3\n    fixed_cidr: 10.200.0.96/27\n");
    expect(merged).toContain("  zulu:\n    bridge_ip: 10.200.0.3\n    fixed_cidr: 10.200.0.96/27\n");
    const before = readTree(s.out);

    const refused = await s.build();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${s.lock}:18:3: error: zulu and alpha (lines 9-11) hold the same addresses: bridge address 10.200.0.3 and range 10.200.0.96/27 (two branches that each added a host?); keep the entry of the host already deployed and delete the other one's (zulu: lines 18-20, alpha: lines 9-11) or run gre-gen release HOST for it, then build again: that host is allocated anew, the other keeps its values\n`,
    );
    expect(readTree(s.out)).toEqual(before);
    expect(readFileSync(s.lock, "utf8")).toBe(merged);

    const release = await run("release", "zulu", s.file);
    expect(release).toEqual({ code: 0, stdout: `released zulu: its entry left ${s.lock}; the next build allocates it anew\n`, stderr: "" });
    expect((await s.build()).code).toBe(0);
    const after = s.values();
    expect(after.alpha).toBe(alpha);
    expect(after.zulu).toBe("10.200.0.4 10.200.0.128/27");
  });

  it("a removed host's values stay retired, taken by no new host, until released; a host that returns gets them back", async () => {
    const s = site(["a", "b", "c"]);
    await s.build();
    const b = s.values().b;
    s.write(["a", "c"]);
    const removed = await s.build();
    expect(removed.code).toBe(0);
    expect(readFileSync(s.lock, "utf8")).toContain(`retired:\n  b:\n    bridge_ip: ${b!.split(" ")[0]}\n    fixed_cidr: ${b!.split(" ")[1]}\n`);
    expect((await run("plan", s.file)).stdout).toMatch(new RegExp(`^b \\(retired\\) +- +${b!.replace(" ", " +")} +reserved until gre-gen release b$`, "m"));
    expect(JSON.parse((await run("plan", "--json", s.file)).stdout).retired).toEqual([{ name: "b", bridge_ip: b!.split(" ")[0], fixed_cidr: b!.split(" ")[1] }]);

    s.write(["a", "c", "d"]);
    await s.build();
    expect(s.values().d).not.toContain(b!.split(" ")[0]);
    expect(s.values().d!.split(" ")[1]).not.toBe(b!.split(" ")[1]);
    s.write(["a", "c", "d", "b"]);
    await s.build();
    expect(s.values().b).toBe(b);

    s.write(["a", "c", "d"]);
    await s.build();
    expect(await run("release", "b", s.file)).toEqual({ code: 0, stdout: `released b: ${b!.replace(" ", " and ")} are free for new hosts (${s.lock})\n`, stderr: "" });
    s.write(["a", "c", "d", "e"]);
    await s.build();
    expect(s.values().e).toBe(b);
  });

  it("a lock written before retired hosts and the overlay were recorded still loads, and every host keeps its values", async () => {
    const s = site(["a", "b"]);
    writeFileSync(
      s.lock,
      "# Generated by gre-gen from topology.yml. Do not edit: change topology.yml and run gre-gen build.\n" +
        "version: 1\nhosts:\n  a:\n    bridge_ip: 10.200.0.9\n    fixed_cidr: 10.200.0.64/27\n  b:\n    bridge_ip: 10.200.0.8\n    fixed_cidr: 10.200.0.32/27\n",
    );
    expect((await s.build()).code).toBe(0);
    expect(s.values()).toEqual({ a: "10.200.0.9 10.200.0.64/27", b: "10.200.0.8 10.200.0.32/27" });
    expect(readFileSync(s.lock, "utf8")).toContain("version: 1\nsubnet: 10.200.0.0/24\nhost_prefix: 27\nhosts:\n");
  });

  it("a deployed host whose lock entry is gone is allocated anew with a fleet-wide warning naming it; the others keep theirs", async () => {
    const s = site(["a", "b", "c"]);
    expect((await s.build()).code).toBe(0);
    const before = s.values();
    // A merge that took the other side's lock: b's entry is lost.
    writeFileSync(s.lock, readFileSync(s.lock, "utf8").replace(/  b:\n    bridge_ip: \S+\n    fixed_cidr: \S+\n/, ""));
    const check = await run("check", "--json", s.file, "-o", s.out);
    expect(check.code).toBe(1);
    const warnings = (JSON.parse(check.stdout) as { warnings: { change: string; message: string }[] }).warnings;
    expect(warnings).toEqual([
      {
        change: "allocation",
        message:
          "b was deployed by the previous build but has no entry in the lock (a merge may have dropped it): it gets a new bridge address and range, and its containers move; unless that is meant, restore the entries from version control before deploying",
      },
    ]);
    const build = await s.build();
    expect(build.code).toBe(0);
    expect(build.stdout).toContain("Fleet-wide: b was deployed by the previous build but has no entry in the lock");
    const after = s.values();
    expect([after.a, after.c]).toEqual([before.a, before.c]);
    // Once built, the new values are b's own: no warning again.
    expect(JSON.parse((await run("check", "--json", s.file, "-o", s.out)).stdout)).toMatchObject({ changed: false, warnings: [] });
  });

  it("a host whose lost entry the topology pins in full keeps its values without a warning; one value pinned is not enough", async () => {
    const s = site(["a", "b", "c"]);
    expect((await s.build()).code).toBe(0);
    const [bridge, range] = s.values().b!.split(" ");
    writeFileSync(s.lock, readFileSync(s.lock, "utf8").replace(/  b:\n    bridge_ip: \S+\n    fixed_cidr: \S+\n/, ""));
    const text = readFileSync(s.file, "utf8");
    const warnings = async (pin: string) => {
      writeFileSync(s.file, text.replace("  b:\n", `  b:\n${pin}`));
      const check = await run("check", "--json", s.file, "-o", s.out);
      return (JSON.parse(check.stdout) as { warnings: { change: string }[] }).warnings.map((w) => w.change);
    };
    expect(await warnings(`    bridge_ip: ${bridge}\n    fixed_cidr: ${range}\n`)).toEqual([]);
    expect(await warnings(`    bridge_ip: ${bridge}\n`)).toEqual(["allocation"]);
    expect(await warnings(`    fixed_cidr: ${range}\n`)).toEqual(["allocation"]);
  });

  it("a lost lock beside a build of many hosts names five of them and counts the rest", async () => {
    const s = site(["h1", "h2", "h3", "h4", "h5", "h6", "h7"], { hostPrefix: 28 });
    expect((await s.build()).code).toBe(0);
    rmSync(s.lock);
    const result = await s.build();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(": error: the lock file is missing, but the output folder holds a build of h1, h2, h3, h4, h5 and 2 more: without the lock");
    // Five exactly: no count.
    const five = site(["h1", "h2", "h3", "h4", "h5"], { hostPrefix: 28 });
    expect((await five.build()).code).toBe(0);
    rmSync(five.lock);
    expect((await five.build()).stderr).toContain("holds a build of h1, h2, h3, h4, h5: without the lock");
  });

  it("a retired host that returns after host_prefix narrowed gets its range back, narrowed inside its old block", async () => {
    const s = site(["a", "b", "c"], { hostPrefix: 26 });
    await s.build();
    const c = s.values().c!.split(" ");
    s.write(["a", "b"], { hostPrefix: 26 });
    await s.build();
    s.write(["a", "b"], { hostPrefix: 27 });
    await s.build();
    expect(readFileSync(s.lock, "utf8")).toContain(`host_prefix: 27\n`);
    expect(readFileSync(s.lock, "utf8")).toContain(`retired:\n  c:\n    bridge_ip: ${c[0]}\n    fixed_cidr: ${c[1]}\n`);
    s.write(["a", "b", "c"], { hostPrefix: 27 });
    const back = await s.build();
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain("Fleet-wide: host_prefix /27: the range of c shrinks inside its old block");
    expect(s.values().c).toBe(`${c[0]} ${c[1]!.replace("/26", "/27")}`);
  });

  it("release names what the lock lists when the host is not in it", async () => {
    const s = site(["a", "b"]);
    expect(await run("release", "a", s.file)).toMatchObject({ code: 2, stderr: `${s.lock}:1:1: error: cannot read the lock file: no such file or folder\n` });
    await s.build();
    expect(await run("release", "x", s.file)).toEqual({ code: 2, stdout: "", stderr: `${s.lock}:1:1: error: x has no entry in topology.lock (it lists a, b)\n` });
  });

  it("narrowing host_prefix keeps each range inside its old block, gives no new host a freed part at once, and says so fleet-wide", async () => {
    const s = site(["a", "b", "c"], { hostPrefix: 26 });
    await s.build();
    const old = s.values();
    s.write(["a", "b", "c", "d"], { hostPrefix: 27 });
    const check = await run("check", s.file, "-o", s.out);
    const result = await s.build();
    expect(check.stdout.slice(check.stdout.indexOf("Fleet-wide"))).toBe(result.stdout.slice(result.stdout.indexOf("Fleet-wide")));
    expect(result.code).toBe(0);
    const now = s.values();
    for (const host of ["a", "b", "c"]) {
      const [bridge, range] = old[host]!.split(" ");
      expect(now[host]).toBe(`${bridge} ${range!.replace("/26", "/27")}`);
    }
    // The upper halves of the old /26 blocks may still hold containers: d gets none of them.
    expect(now.d).toBe("10.200.0.4 10.200.0.32/27");
    expect(result.stdout).toContain(
      "Fleet-wide: host_prefix /27: the ranges of a, b, c shrink inside their old blocks, so no address changes hands; restart docker on them in any order, and finish the rollout before adding hosts (the freed addresses go to new hosts from the next build on)\n",
    );
  });

  it("fleet-wide warnings name six hosts and count the rest, and speak of one host in the singular", async () => {
    const many = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const s = site(many, { subnet: "10.200.0.0/22", hostPrefix: 26 });
    expect((await s.build()).code).toBe(0);
    s.write(many, { subnet: "10.200.0.0/22", hostPrefix: 27 });
    const narrowed = JSON.parse((await run("check", "--json", s.file, "-o", s.out)).stdout) as { warnings: { change: string; message: string }[] };
    expect(narrowed.warnings).toEqual([
      { change: "host_prefix", message: expect.stringMatching(/^host_prefix \/27: the ranges of a, b, c, d, e, f and 2 more shrink inside their old blocks, so no address changes hands; restart docker on them in any order/) },
    ]);
    // The lock loses six entries: all six are named, in the plural.
    writeFileSync(s.lock, readFileSync(s.lock, "utf8").replace(/  [b-g]:\n    bridge_ip: \S+\n    fixed_cidr: \S+\n/g, ""));
    s.write(many, { subnet: "10.200.0.0/22", hostPrefix: 26 });
    const lost = JSON.parse((await run("check", "--json", s.file, "-o", s.out)).stdout) as { warnings: { change: string; message: string }[] };
    expect(lost.warnings).toEqual([
      {
        change: "allocation",
        message:
          "b, c, d, e, f, g were deployed by the previous build but have no entry in the lock (a merge may have dropped them): each gets a new bridge address and range, and their containers move; unless that is meant, restore the entries from version control before deploying",
      },
    ]);

    // One host's range changes while the other's is pinned: the range of a, it.
    const one = site(["a", "b"], { hostPrefix: 26 });
    const pin = () => writeFileSync(one.file, readFileSync(one.file, "utf8").replace("  b:\n", "  b:\n    fixed_cidr: 10.200.0.192/26\n"));
    pin();
    expect((await one.build()).code).toBe(0);
    one.write(["a", "b"], { hostPrefix: 27 });
    pin();
    const shrunk = await one.build();
    expect(shrunk.stdout).toContain(
      "Fleet-wide: host_prefix /27: the range of a shrinks inside its old block, so no address changes hands; restart docker on it in any order, and finish the rollout before adding hosts (the freed addresses go to new hosts from the next build on)\n",
    );
    one.write(["a", "b"], { hostPrefix: 26 });
    pin();
    const json = JSON.parse((await run("check", "--json", one.file, "-o", one.out)).stdout) as { warnings: { change: string }[] };
    expect(json.warnings.map((w) => w.change)).toEqual(["host_prefix"]);
    const grown = await one.build();
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stdout).toContain("Fleet-wide: host_prefix /26: the range of a grows in place into addresses no host holds; restart docker on it in any order\n");
  });

  it("a pinned fixed_cidr stays as written when host_prefix changes; a changed subnet is flagged fleet-wide", async () => {
    const s = site(["a", "b"], { hostPrefix: 26 });
    const pin = () => writeFileSync(s.file, readFileSync(s.file, "utf8").replace("  b:\n", "  b:\n    fixed_cidr: 10.200.0.192/26\n"));
    pin();
    await s.build();
    s.write(["a", "b"], { hostPrefix: 27 });
    pin();
    await s.build();
    expect(s.values()).toEqual({ a: "10.200.0.1 10.200.0.64/27", b: "10.200.0.2 10.200.0.192/26" });
    s.write(["a", "b"], { hostPrefix: 27, subnet: "10.200.0.0/23" });
    pin();
    const json = JSON.parse((await run("check", "--json", s.file, "-o", s.out)).stdout) as { warnings: { change: string }[] };
    expect(json.warnings.map((w) => w.change)).toEqual(["subnet"]);
    const widened = await s.build();
    expect(widened.code).toBe(0);
    expect(s.values()).toEqual({ a: "10.200.0.1 10.200.0.64/27", b: "10.200.0.2 10.200.0.192/26" });
    expect(readFileSync(join(s.out, "a/etc/network/interfaces.d/newbridge"), "utf8")).toContain("address 10.200.0.1/23\n");
    expect(widened.stdout).toContain(
      "Fleet-wide: overlay.subnet 10.200.0.0/24 -> 10.200.0.0/23: every host's bridge takes the new prefix length; roll it out to the hosts already running first and to new hosts last, so every running container keeps reaching every other on the link\n",
    );
  });

  it("widening host_prefix grows each range in place, or names the host in the way", async () => {
    const s = site(["a", "b", "c"], { hostPrefix: 28 });
    const pinBridges = (hostPrefix: number, hosts = ["a", "b", "c"]) => {
      s.write(hosts, { hostPrefix });
      writeFileSync(s.file, readFileSync(s.file, "utf8").replace(/  (\w):\n(.*)\n/g, (_, h: string, line: string) => `  ${h}:\n${line}\n    bridge_ip: 10.200.0.${200 + h.charCodeAt(0) - 97}\n`));
    };
    pinBridges(28);
    await s.build();
    expect(s.values()).toEqual({ a: "10.200.0.200 10.200.0.0/28", b: "10.200.0.201 10.200.0.16/28", c: "10.200.0.202 10.200.0.32/28" });
    pinBridges(27, ["a", "c"]);
    const blocked = await s.build();
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toBe(
      `${s.file}:4:16: error: host_prefix /27 would grow a's 10.200.0.0/28 in place to 10.200.0.0/27, but b's range 10.200.0.16/28 is in the way; keep host_prefix /28, or set hosts.a.fixed_cidr to a free /27 (a moves)\n    host_prefix: 27\n                 ^~\n`,
    );
    pinBridges(28, ["a", "c"]);
    await s.build();
    await run("release", "b", s.file);
    pinBridges(27, ["a", "c"]);
    const grown = await s.build();
    expect(grown.code, grown.stderr).toBe(0);
    expect(s.values()).toEqual({ a: "10.200.0.200 10.200.0.0/27", c: "10.200.0.202 10.200.0.32/27" });
    expect(grown.stdout).toContain("Fleet-wide: host_prefix /27: the ranges of a, c grow in place into addresses no host holds; restart docker on them in any order\n");
  });

  it("a locked value outside a shrunk subnet is an error at the lock's line naming the host and the value", async () => {
    const s = site(["a", "b", "c", "d", "e"], { subnet: "10.200.0.0/23", hostPrefix: 26 });
    await s.build();
    expect(s.values().e).toBe("10.200.0.5 10.200.1.64/26");
    s.write(["a", "b", "c", "d", "e"], { subnet: "10.200.0.0/24", hostPrefix: 26 });
    const result = await s.build();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${s.lock}:20:17: error: d's range 10.200.1.0/26 lies outside overlay.subnet 10.200.0.0/24 (the lock's subnet was 10.200.0.0/23)`);
    expect(result.stderr).toContain(`${s.lock}:23:17: error: e's range 10.200.1.64/26 lies outside overlay.subnet 10.200.0.0/24`);
    expect(result.stderr).not.toContain("no room");
  });

  it("a lost or emptied lock beside an earlier build is refused; --reallocate asks for new addresses explicitly", async () => {
    const s = site(["a", "b"]);
    await s.build();
    const before = readTree(s.out);
    for (const lock of [undefined, "", "# nothing\n", "version: 1\nhosts: {}\n"]) {
      if (lock === undefined) rmSync(s.lock);
      else writeFileSync(s.lock, lock);
      const result = await s.build();
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `${s.lock}:1:1: error: the lock file is ${lock === undefined ? "missing" : "empty"}, but the output folder holds a build of a, b: without the lock every host would get new addresses; restore topology.lock from version control (git checkout -- topology.lock), or build with --reallocate to allocate every host anew\n`,
      );
      expect(readTree(s.out)).toEqual(before);
    }
    expect((await s.build("--reallocate")).code).toBe(0);
    expect(readFileSync(s.lock, "utf8")).toContain("  a:\n    bridge_ip: 10.200.0.1\n");
  });
});

describe("capacity", () => {
  it("init's starter says how many hosts it holds, and exactly that many fit", async () => {
    const dir = tempDir();
    const file = join(dir, "topology.yml");
    const init = await run("init", file);
    expect(init.stdout).toBe(
      `wrote ${file}: 2 hosts in 10.11.12.0/24 with /26 ranges, room for 1 more; for more hosts, widen overlay.subnet before the first deploy (a later change touches every host)\nwrote ${join(dir, "topology.schema.json")}\n`,
    );
    const starter = readFileSync(file, "utf8");
    expect(starter).toContain("# Capacity: as written, 10.11.12.0/24 holds 3 hosts");
    const withHosts = (count: number, subnet = "10.11.12.0/24") =>
      starter.replace("subnet: 10.11.12.0/24", `subnet: ${subnet}`) + Array.from({ length: count }, (_, i) => `  extra${i}:\n    underlay_ip: 192.168.60.${i + 1}\n`).join("");
    writeFileSync(file, withHosts(1));
    expect((await run("plan", file)).code).toBe(0);
    writeFileSync(file, withHosts(2));
    expect((await run("plan", file)).stderr).toContain("error: 10.11.12.0/24 has no room left for extra1: 1 more /26 range needed");
    // "a /22 holds 15 hosts as written, a /16 over 1000"
    writeFileSync(file, withHosts(0, "10.11.12.0/22"));
    expect(JSON.parse((await run("plan", "--json", file)).stdout).room).toBe(13);
    writeFileSync(file, withHosts(0, "10.11.0.0/16"));
    expect(JSON.parse((await run("plan", "--json", file)).stdout).room + 2).toBeGreaterThan(1000);
  });

  it("the advice widens the subnet by up to 8 bits; past that, or at host_prefix 30, it says to remove a host", () => {
    const crowd = (count: number) =>
      `version: 1\noverlay:\n  subnet: 10.0.0.0/29\n  host_prefix: 30\nhosts:\n${Array.from({ length: count }, (_, i) => `  h${i}:\n    underlay_ip: 172.16.${i >> 7}.${(i & 127) + 1}\n`).join("")}`;
    const refusal = (count: number) => {
      try {
        compileBytes({ topologyPath: "topology.yml", topology: Buffer.from(crowd(count)), lockPath: "topology.lock" });
      } catch (error) {
        if (error instanceof UserError) return error.diagnostics.map((d) => d.message);
        throw error;
      }
      return [];
    };
    expect(refusal(400)).toEqual(["10.0.0.0/29 has no room left for h6: 394 more bridge addresses needed; widen overlay.subnet to 10.0.0.0/21"]);
    expect(refusal(420)).toEqual(["10.0.0.0/29 has no room left for h6: 414 more bridge addresses needed; no longer host_prefix or wider subnet makes room: remove a host, or a pinned fixed_cidr"]);
  });

  it("plan --json carries room, a top-level integer: that many more hosts fit, one more does not", async () => {
    const s = site(["a", "b", "c", "d"], { hostPrefix: 28 });
    await s.build();
    s.write(["a", "c", "d"], { hostPrefix: 28 });
    await s.build();
    writeFileSync(s.file, readFileSync(s.file, "utf8").replace("  c:\n", "  c:\n    fixed_cidr: 10.200.0.96/27\n"));
    await s.build();
    const room = JSON.parse((await run("plan", "--json", s.file)).stdout).room;
    expect(room).toBe(10);
    expect((await run("plan", s.file)).stdout).toMatch(/\nroom for 10 more hosts at host_prefix \/28\n$/);
    const text = readFileSync(s.file, "utf8");
    const more = (count: number) => text + Array.from({ length: count }, (_, i) => `  new${i}:\n    underlay_ip: 198.51.100.${i + 1}\n`).join("");
    writeFileSync(s.file, more(room));
    expect((await run("plan", s.file)).code).toBe(0);
    writeFileSync(s.file, more(room + 1));
    expect((await run("plan", s.file)).stderr).toContain(`no room left for new${room}: 1 more /28 range needed`);
  });

  it.each(["out-of-room", "out-of-room-locked", "out-of-room-retired"])("each change the %s fixture's advice names makes room, on that same lock", async (name) => {
    const file = join("test/errors", `${name}.yml`);
    const text = readFileSync(file, "utf8");
    const lock = existsSync(file.replace(/\.yml$/, ".lock")) ? readFileSync(file.replace(/\.yml$/, ".lock")) : undefined;
    const message = readFileSync(join("test/errors", `${name}.txt`), "utf8").split("\n")[0]!;
    const changes = [...message.matchAll(/(lengthen overlay\.host_prefix to (\d+)|widen overlay\.subnet to (\S+?)|release the retired hosts? (\S+?))(?=[,( ]|$)/g)];
    expect(changes.length).toBeGreaterThan(0);
    const build = (topology: string, withLock = lock) => compileBytes({ topologyPath: "topology.yml", topology: Buffer.from(topology), lockPath: "topology.lock", lock: withLock });
    expect(() => build(text)).toThrow(/no room left/);
    for (const [advice, , prefix, subnet, retired] of changes) {
      if (prefix) expect(() => build(text.replace(/host_prefix: \d+/, `host_prefix: ${prefix}`)), advice).not.toThrow();
      if (subnet) expect(() => build(text.replace(/subnet: \S+/, `subnet: ${subnet}`)), advice).not.toThrow();
      if (retired) expect(() => build(text, Buffer.from(lock!.toString().replace(new RegExp(`^  ${retired}:\n.*\n.*\n`, "m"), ""))), advice).not.toThrow();
    }
  });
});

describe("allocation over a network's life (fast-check)", () => {
  const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
  /** A full fuzz run's FUZZ_RUNS is sized for single builds; a life is a dozen builds or more. */
  const RUNS = Math.ceil(Number(process.env.FUZZ_RUNS ?? 10_000) / 60);
  const NAMES = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9"];
  type Step =
    | { op: "add" | "release"; name: number }
    | { op: "remove"; at: number }
    | { op: "reorder"; seed: number }
    | { op: "narrow" | "widen" }
    | { op: "merge"; x: number; y: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constantFrom("add" as const, "release" as const), name: fc.nat(NAMES.length - 1) }),
    fc.record({ op: fc.constant("remove" as const), at: fc.nat() }),
    fc.record({ op: fc.constant("reorder" as const), seed: fc.nat() }),
    fc.record({ op: fc.constantFrom("narrow" as const, "widen" as const) }),
    fc.record({ op: fc.constant("merge" as const), x: fc.nat(NAMES.length - 1), y: fc.nat(NAMES.length - 1) }),
  );

  interface State {
    hosts: string[];
    hostPrefix: number;
    lock?: string;
    /** Every live and retired host's values after the last build. */
    values: Map<string, { bridgeIp: string; range: Cidr }>;
    room: number;
  }
  const topologyText = (hosts: string[], hostPrefix: number) =>
    `version: 1\noverlay:\n  subnet: 10.200.0.0/24\n  host_prefix: ${hostPrefix}\nhosts:\n${hosts.map((h) => `  ${h}:\n    underlay_ip: ${NAMES.includes(h) ? `192.0.2.${NAMES.indexOf(h) + 1}` : `198.51.100.${Number(h.slice(4)) + 1}`}\n`).join("")}`;
  const compileState = (hosts: string[], hostPrefix: number, lock: string | undefined) => {
    try {
      return compileBytes({ topologyPath: "topology.yml", topology: Buffer.from(topologyText(hosts, hostPrefix)), lockPath: "topology.lock", lock: lock === undefined ? undefined : Buffer.from(lock) });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      return new Set(error.diagnostics.map((d) => d.code));
    }
  };
  const valuesOf = (plan: Plan) => new Map([...plan.hosts, ...plan.retired].map((h) => [h.name, { bridgeIp: h.bridgeIp, range: parseCidr(h.fixedCidr)!.cidr }]));
  /** A lock without some entries, as deleting them by hand would leave it. */
  const withoutEntries = (lock: string, names: string[]) => lock.replace(/^ {2}(\S+):\n {4}bridge_ip: .*\n {4}fixed_cidr: .*\n/gm, (entry, name: string) => (names.includes(name) ? "" : entry));
  /** What git merges when two branches each added an entry at different places: both entries. */
  const mergeLocks = (ours: string, theirs: string, added: string) => {
    const entry = new RegExp(`^ {2}${added}:\\n {4}bridge_ip: .*\\n {4}fixed_cidr: .*\\n`, "m").exec(theirs)![0];
    const [head, rest] = [ours.slice(0, ours.indexOf("hosts:\n") + 7), ours.slice(ours.indexOf("hosts:\n") + 7)];
    const next = [...rest.matchAll(/^ {2}(\S+):\n/gm)].find((m) => m[1]! > added && m.index! < (rest.indexOf("\nretired:") + 1 || rest.length));
    const at = next ? next.index! : rest.indexOf("# Hosts removed") >= 0 ? rest.indexOf("# Hosts removed") : rest.length;
    return head + rest.slice(0, at) + entry + rest.slice(at);
  };

  /** After every build: nothing overlaps, and no host moved except in place or after its entry went. */
  function checkBuilt(state: State, plan: Plan, freed: Set<string>) {
    const all = [...plan.hosts.map((h) => ({ ...h, live: true })), ...plan.retired.map((h) => ({ ...h, live: false }))];
    const ranges = all.map((h) => parseCidr(h.fixedCidr)!.cidr);
    const bridges = all.map((h) => parseAddress(h.bridgeIp)!);
    expect(new Set(bridges).size, "bridge addresses unique").toBe(bridges.length);
    ranges.forEach((range, i) => {
      ranges.slice(i + 1).forEach((other, j) => expect(overlaps(range, other), `${all[i]!.name} and ${all[i + 1 + j]!.name}`).toBe(false));
      bridges.forEach((ip, j) => expect(contains(range, ip), `${all[j]!.name}'s bridge in ${all[i]!.name}'s range`).toBe(false));
    });
    for (const host of all) {
      const before = state.values.get(host.name);
      if (!before || freed.has(host.name)) continue;
      const range = parseCidr(host.fixedCidr)!.cidr;
      expect(host.bridgeIp, `${host.name} keeps its bridge address`).toBe(before.bridgeIp);
      const inPlace = range.prefix >= before.range.prefix ? range.network === before.range.network : within(before.range, range);
      expect(inPlace, `${host.name}: ${formatCidr(before.range)} -> ${host.fixedCidr} in place`).toBe(true);
      if (!host.live) expect(range, `retired ${host.name} unchanged`).toEqual(before.range);
    }
  }

  function apply(state: State, s: Step): State {
    const build = (hosts: string[], hostPrefix: number, lock: string | undefined, freed = new Set<string>()) => {
      const result = compileState(hosts, hostPrefix, lock);
      if (result instanceof Set) return result;
      checkBuilt(state, result.plan, freed);
      return { hosts, hostPrefix, lock: result.lock.content, values: valuesOf(result.plan), room: result.plan.room } satisfies State;
    };
    const expectBuilt = (next: State | Set<string>) => {
      expect(next instanceof Set ? [...next] : [], s.op).toEqual([]);
      return next as State;
    };
    const fresh = (name: string) => !state.values.has(name);
    switch (s.op) {
      case "add": {
        const name = NAMES[s.name]!;
        if (state.hosts.includes(name)) return state;
        // The plan's room is exact: that many more hosts fit at once, one more does not.
        const spare = (count: number) => Array.from({ length: count }, (_, i) => `room${i}`);
        expect(compileState([...state.hosts, ...spare(state.room)], state.hostPrefix, state.lock)).not.toBeInstanceOf(Set);
        expect(compileState([...state.hosts, ...spare(state.room + 1)], state.hostPrefix, state.lock)).toEqual(new Set(["out-of-room"]));
        const next = build([...state.hosts, name], state.hostPrefix, state.lock);
        if (next instanceof Set) expect([[...next], fresh(name) && state.room === 0]).toEqual([["out-of-room"], true]);
        else expect(fresh(name) && state.room === 0, `room ${state.room}, yet ${name} fit`).toBe(false);
        return next instanceof Set ? state : next;
      }
      case "remove":
        if (state.hosts.length <= 2) return state;
        return expectBuilt(build(state.hosts.filter((_, i) => i !== s.at % state.hosts.length), state.hostPrefix, state.lock));
      case "reorder": {
        const hosts = [...state.hosts].sort((a, b) => ((NAMES.indexOf(a) * 7919 + s.seed) % 13) - ((NAMES.indexOf(b) * 7919 + s.seed) % 13));
        return expectBuilt(build(hosts, state.hostPrefix, state.lock));
      }
      case "narrow":
        return state.hostPrefix === 30 ? state : expectBuilt(build(state.hosts, state.hostPrefix + 1, state.lock));
      case "widen": {
        if (state.hostPrefix === 25) return state;
        const next = build(state.hosts, state.hostPrefix - 1, state.lock);
        if (next instanceof Set) expect([...next]).toEqual(["cannot-grow"]);
        return next instanceof Set ? state : next;
      }
      case "release": {
        const name = NAMES[s.name]!;
        if (!state.values.has(name)) return state;
        const next = build(state.hosts, state.hostPrefix, withoutEntries(state.lock!, [name]), new Set([name]));
        if (next instanceof Set) expect([...next]).toEqual(["out-of-room"]);
        return next instanceof Set ? state : next;
      }
      case "merge": {
        const [x, y] = [NAMES[s.x]!, NAMES[s.y]!];
        if (x === y || state.hosts.includes(x) || state.hosts.includes(y) || !fresh(x) || !fresh(y)) return state;
        const branchX = build([...state.hosts, x], state.hostPrefix, state.lock);
        const branchY = build([...state.hosts, y], state.hostPrefix, state.lock);
        if (branchX instanceof Set || branchY instanceof Set) return state;
        // Both branches took the lowest free values: the merged lock holds them twice.
        const merged = mergeLocks(branchX.lock!, branchY.lock!, y);
        expect(compileState([...state.hosts, x, y], state.hostPrefix, merged)).toEqual(new Set(["lock-conflict"]));
        const resolved = build([...state.hosts, x, y], state.hostPrefix, withoutEntries(merged, [y]), new Set([y]));
        if (resolved instanceof Set) {
          expect([...resolved]).toEqual(["out-of-room"]);
          return branchX;
        }
        expect(resolved.values.get(x)).toEqual(branchX.values.get(x));
        return resolved;
      }
    }
  }

  it("after every add, remove, reorder, release, narrowing, widening and merge: nothing overlaps, nothing moves unasked", { timeout: 300_000 }, () => {
    console.log(`allocation life seed ${SEED}: replay with FUZZ_SEED=${SEED}`);
    const counts: Record<string, number> = {};
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 26, max: 29 }), fc.array(step, { minLength: 1, maxLength: 14 }), (start, hostPrefix, steps) => {
        const first = compileState(NAMES.slice(0, start), hostPrefix, undefined);
        fc.pre(!(first instanceof Set)); // four /26 ranges and the bridge addresses do not fit a /24
        if (first instanceof Set) return;
        let current: State = { hosts: NAMES.slice(0, start), hostPrefix, lock: first.lock.content, values: valuesOf(first.plan), room: first.plan.room };
        for (const s of steps) {
          const next = apply(current, s);
          counts[s.op] = (counts[s.op] ?? 0) + (next === current ? 0 : 1);
          current = next;
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`steps that changed the network: ${JSON.stringify(counts)}`);
    // Every kind of step happened (a short run, such as a mutation run's, may miss one).
    if (RUNS >= 100) for (const op of ["add", "remove", "reorder", "release", "narrow", "widen", "merge"]) expect(counts[op] ?? 0, op).toBeGreaterThan(0);
  });
});

describe("room, against the builds themselves (fast-check)", () => {
  const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
  // Cheap cases (a few builds each): even a short run, such as a mutation run's, tries 500.
  const RUNS = Math.max(500, Math.ceil(Number(process.env.FUZZ_RUNS ?? 10_000) / 10));
  const sometimes = (value: fc.Arbitrary<number>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: value, weight: 1 });
  /** A small overlay, some hosts with values of their own, some removed (retired in the lock). */
  const state = fc.record({
    prefix: fc.integer({ min: 24, max: 27 }),
    split: fc.integer({ min: 1, max: 6 }),
    hosts: fc.array(fc.record({ bridge: sometimes(fc.nat(255)), range: sometimes(fc.nat(63)), retire: fc.boolean() }), { minLength: 2, maxLength: 6 }),
  });
  type State = typeof state extends fc.Arbitrary<infer T> ? T : never;
  const build = (topology: string, lock?: string) => compileBytes({ topologyPath: "topology.yml", topology: Buffer.from(topology), lockPath: "topology.lock", lock: lock === undefined ? undefined : Buffer.from(lock) });
  const text = ({ prefix, split, hosts }: State, kept: (h: State["hosts"][number], i: number) => boolean, extra: number, change: { subnet?: string; hostPrefix?: number } = {}) => {
    const hostPrefix = Math.min(30, prefix + split);
    const blocks = 2 ** (hostPrefix - prefix);
    const lines = hosts.flatMap((h, i) => {
      if (!kept(h, i)) return [];
      const bridge = h.bridge === undefined ? "" : `    bridge_ip: 10.9.8.${h.bridge % 2 ** (32 - prefix)}\n`;
      const range = h.range === undefined ? "" : `    fixed_cidr: 10.9.8.${(h.range % blocks) * 2 ** (32 - hostPrefix)}/${hostPrefix}\n`;
      return [`  h${i}:\n    underlay_ip: 192.0.2.${i + 1}\n${bridge}${range}`];
    });
    const extras = Array.from({ length: extra }, (_, i) => `  new${i}:\n    underlay_ip: 198.51.100.${i + 1}\n`);
    return `version: 1\noverlay:\n  subnet: ${change.subnet ?? `10.9.8.0/${prefix}`}\n  host_prefix: ${change.hostPrefix ?? hostPrefix}\nhosts:\n${[...lines, ...extras].join("")}`;
  };
  const refused = (topology: string, lock: string) => {
    try {
      build(topology, lock);
      return undefined;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      return error.diagnostics;
    }
  };

  it("exactly room more hosts fit, one more does not, and each change the advice names is the least that makes room", { timeout: 300_000 }, () => {
    const seen = { states: 0, retired: 0, lengthen: 0, widen: 0, release: 0 };
    // The first two hosts stay: a topology holds two at least.
    const kept = (h: State["hosts"][number], i: number) => i < 2 || !h.retire;
    fc.assert(
      fc.property(state, (s) => {
        let lock: string;
        try {
          lock = build(text(s, kept, 0), build(text(s, () => true, 0)).lock.content).lock.content;
        } catch (error) {
          if (error instanceof UserError) return; // explicit values that clash, or no room to begin with
          throw error;
        }
        const room = build(text(s, kept, 0), lock).plan.room;
        seen.states++;
        if (lock.includes("retired:")) seen.retired++;
        expect(refused(text(s, kept, room), lock), "room more hosts").toBeUndefined();
        const full = text(s, kept, room + 1);
        const diagnostics = refused(full, lock)!;
        expect(diagnostics.map((d) => d.code)).toEqual(["out-of-room"]);
        const message = diagnostics[0]!.message;
        const lengthen = /lengthen overlay\.host_prefix to (\d+)/.exec(message);
        const widen = /widen overlay\.subnet to 10\.\d+\.\d+\.0\/(\d+)/.exec(message);
        const release = /release the retired hosts? (\S+(?:, \S+)*) with/.exec(message);
        const hostPrefix = Math.min(30, s.prefix + s.split);
        // Each named change makes room; the next smaller change of its kind does not.
        if (lengthen) {
          seen.lengthen++;
          const to = Number(lengthen[1]);
          expect(refused(text(s, kept, room + 1, { hostPrefix: to }), lock), message).toBeUndefined();
          if (to - 1 > hostPrefix) expect(refused(text(s, kept, room + 1, { hostPrefix: to - 1 }), lock), message).toBeDefined();
        } else for (let p = hostPrefix + 1; p <= 30; p++) expect(refused(text(s, kept, room + 1, { hostPrefix: p }), lock), `host_prefix ${p} fits: ${message}`).toBeDefined();
        if (widen) {
          seen.widen++;
          const to = Number(widen[1]);
          const subnet = (p: number) => `10.9.${p >= 24 ? 8 : 8 & (0xff << (24 - p)) & 0xff}.0/${p}`;
          expect(widen[0]).toBe(`widen overlay.subnet to ${subnet(to)}`);
          expect(refused(text(s, kept, room + 1, { subnet: subnet(to) }), lock), message).toBeUndefined();
          if (to + 1 < s.prefix) expect(refused(text(s, kept, room + 1, { subnet: subnet(to + 1) }), lock), message).toBeDefined();
        }
        const retired = s.hosts.flatMap((h, i) => (!kept(h, i) && lock.includes(`  h${i}:\n`) ? [`h${i}`] : []));
        if (release) {
          seen.release++;
          expect(release[1]).toBe(retired.join(", "));
          expect(message).toContain(retired.length === 1 ? `release the retired host ${retired[0]} with gre-gen release once its containers` : `release the retired hosts ${release[1]} with gre-gen release once their containers`);
          expect(refused(full, lock.replace(/retired:\n[^]*$/, "")), message).toBeUndefined();
        } else if (retired.length > 0) expect(refused(full, lock.replace(/retired:\n[^]*$/, "")), `releasing fits: ${message}`).toBeDefined();
        if (!lengthen && !widen && !release) expect(message).toMatch(/; no longer host_prefix or wider subnet makes room: remove a host, or a pinned fixed_cidr$/);
        const pinned = s.hosts.flatMap((h, i) => (kept(h, i) && h.range !== undefined ? [`h${i}`] : []));
        if (lengthen) expect(message).toContain(pinned.length === 0 ? `to ${lengthen[1]}${widen || release ? "," : ""}` : `(the pinned fixed_cidr of ${pinned.join(", ")} stay${pinned.length === 1 ? "s" : ""} as written)`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`room states: ${JSON.stringify(seen)}`);
    if (RUNS >= 100) for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  });
});
