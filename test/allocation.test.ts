// Allocation, stability and MTU (SPEC §1): absent addresses get the lowest free ones, the lock
// keeps them when hosts come and go, and the MTU follows the GRE overhead.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile } from "../src/pipeline.js";
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
    expect(script).toContain(`mtu_request=${mtu} `);
    expect(script).toContain(`ip link set dev newbridge mtu ${mtu}\n`);
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

  it("release names what the lock lists when the host is not in it", async () => {
    const s = site(["a", "b"]);
    expect(await run("release", "a", s.file)).toMatchObject({ code: 2, stderr: `${s.lock}:1:1: error: cannot read the lock file: no such file\n` });
    await s.build();
    expect(await run("release", "x", s.file)).toEqual({ code: 2, stdout: "", stderr: `${s.lock}:1:1: error: x has no entry in topology.lock (it lists a, b)\n` });
  });

  it("narrowing host_prefix keeps each range inside its old block, gives no new host a freed part at once, and says so fleet-wide", async () => {
    const s = site(["a", "b", "c"], { hostPrefix: 26 });
    await s.build();
    const old = s.values();
    s.write(["a", "b", "c", "d"], { hostPrefix: 27 });
    const result = await s.build();
    expect(result.code).toBe(0);
    const now = s.values();
    for (const host of ["a", "b", "c"]) {
      const [bridge, range] = old[host]!.split(" ");
      expect(now[host]).toBe(`${bridge} ${range!.replace("/26", "/27")}`);
    }
    // The upper halves of the old /26 blocks may still hold containers: d gets none of them.
    expect(now.d).toBe("10.200.0.4 10.200.0.32/27");
    expect(result.stdout).toContain(
      "Fleet-wide change (every host, in this order):\n  host_prefix /27: the ranges of a, b, c shrink inside their old blocks, so no address changes hands; restart docker on them in any order, and finish the rollout before adding hosts (the freed addresses go to new hosts from the next build on)\n",
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
    expect(grown.stdout).toContain("  host_prefix /27: the ranges of a, c grow in place into addresses no host holds; restart docker on them in any order\n");
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
    for (const lock of [undefined, "", "# nothing\n"]) {
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
