// The impact as data (README "Deploying a host"): check --json and diff --json give, per host in
// rollout order, exactly the files to install or remove and the commands to run; the text summary
// says the same.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run, tempDir } from "./helpers.js";

const FIRST = `version: 1
overlay:
  subnet: 10.11.12.0/24
  host_prefix: 27
hosts:
  a:
    underlay_ip: 192.0.2.1
  b:
    underlay_ip: 192.0.2.2
  c:
    underlay_ip: 192.0.2.3
`;

/** The steps as `check --json` gives them after a build of FIRST and then the topology `edited`. */
async function impactOf(edited: string) {
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  writeFileSync(topology, FIRST);
  await run("build", topology, "-o", join(dir, "out"));
  writeFileSync(topology, edited);
  return JSON.parse((await run("check", topology, "-o", join(dir, "out"), "--json")).stdout);
}

const SCRIPT = "/usr/local/sbin/gre-gen-ovs-setup";
const VERIFY = "/usr/local/sbin/gre-gen-verify";
const DROP_IN = "/etc/systemd/system/docker.service.d/gre-gen.conf";
const stanza = (bridge: string) => `/etc/network/interfaces.d/${bridge}`;
const NFT = "/etc/nftables.d/gre-gen-underlay.nft";
/** The verify command checks what the script sets: it changes with it. */
const rerun = [{ install: SCRIPT }, { install: VERIFY }, { run: SCRIPT }];
/** A peer that comes or goes changes the firewall fragment's peer list too. */
const peersChanged = [{ install: NFT }, ...rerun];
const renamedBridge = [
  { run: "systemctl stop docker" },
  { run: "ifdown newbridge" },
  { remove: stanza("newbridge") },
  { install: stanza("br-ctr") },
  { install: DROP_IN },
  { install: SCRIPT },
  { install: VERIFY },
  { run: SCRIPT },
  { run: "ifup br-ctr" },
  { run: "systemctl daemon-reload" },
  { run: "systemctl start docker" },
];
const newMtu = [{ install: stanza("newbridge") }, { install: DROP_IN }, ...rerun, { run: "systemctl daemon-reload" }, { run: "systemctl restart docker" }];
const each = (steps: object[], status = "changed") => ["a", "b", "c"].map((host) => ({ host, status, steps }));

const cases: [string, (text: string) => string, object[], string[], string?][] = [
  [
    "a new host comes last, its peers only rerun their script",
    (t) => t + "  d:\n    underlay_ip: 192.0.2.4\n",
    [
      ...each(peersChanged),
      {
        host: "d",
        status: "new",
        steps: [{ install: stanza("newbridge") }, { install: NFT }, { install: DROP_IN }, ...rerun, { run: "ifup newbridge" }, { run: "systemctl daemon-reload" }, { run: "systemctl restart docker" }],
      },
    ],
    [],
  ],
  [
    "a removed host goes first: Docker stopped, its bridge down, its OVS bridge deleted, its files removed",
    (t) => t.replace("  c:\n    underlay_ip: 192.0.2.3\n", ""),
    [
      {
        host: "c",
        status: "gone",
        steps: [
          { run: "systemctl stop docker" },
          { run: "ifdown newbridge" },
          { run: "ovs-vsctl --if-exists del-br ovs_bridge" },
          { remove: stanza("newbridge") },
          { remove: NFT },
          { remove: DROP_IN },
          { remove: SCRIPT },
          { remove: VERIFY },
          { run: "systemctl daemon-reload" },
          { run: "systemctl start docker" },
        ],
      },
      ...each(peersChanged).slice(0, 2),
    ],
    [],
  ],
  ["a renamed bridge: the old one down and its stanza removed before the new one comes up", (t) => t.replace("overlay:\n", "overlay:\n  bridge: br-ctr\n"), each(renamedBridge), []],
  [
    "a renamed OVS bridge: the script moves everything, Docker keeps running",
    (t) => t.replace("overlay:\n", "overlay:\n  ovs_bridge: ovs-ovl\n"),
    each([{ install: stanza("newbridge") }, ...rerun]),
    [],
  ],
  [
    "a renamed overlay: its OVS bridge deleted right before the script builds it under the new name, Docker keeps running",
    (t) => t.replace("overlay:\n", "overlay:\n  name: blue\n"),
    each([{ install: SCRIPT }, { install: VERIFY }, { run: "ovs-vsctl --if-exists del-br ovs_bridge" }, { run: SCRIPT }]),
    [],
  ],
  ["a GRE key: its 4 bytes lower the MTU everywhere; two fleet-wide warnings", (t) => t.replace("overlay:\n", "overlay:\n  gre_key: 7\n"), each(newMtu), ["key", "mtu"]],
  ["another GRE key at a fixed MTU: the scripts only, and a fleet-wide warning", (t) => t.replace("gre_key: 7", "gre_key: 8"), each(rerun), ["key"], FIRST.replace("overlay:\n", "overlay:\n  gre_key: 7\n  mtu: 1400\n")],
  ["a new underlay MTU: every file, Docker restarted, a fleet-wide warning", (t) => t.replace("overlay:\n", "overlay:\n  underlay_mtu: 1400\n"), each(newMtu), ["mtu"]],
  [
    "a new bridge address: the script applies it; Docker restarts for its new gateway",
    (t) => t.replace("  a:\n", "  a:\n    bridge_ip: 10.11.12.9\n"),
    [
      { host: "a", status: "changed", steps: [{ install: stanza("newbridge") }, ...rerun, { run: "systemctl restart docker" }] },
      // The peers' verify commands ping the new address: nothing to run.
      { host: "b", status: "changed", steps: [{ install: VERIFY }] },
      { host: "c", status: "changed", steps: [{ install: VERIFY }] },
    ],
    [],
  ],
];

describe("check --json and diff --json", () => {
  it.each(cases)("%s", async (_, edit, hosts, warnings, first = FIRST) => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    writeFileSync(topology, first);
    expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
    writeFileSync(topology, edit(readFileSync(topology, "utf8")));
    const check = await run("check", topology, "-o", join(dir, "out"), "--json");
    expect(check.code).toBe(1);
    const impact = JSON.parse(check.stdout);
    expect(impact).toEqual({ format: 1, changed: true, hosts, warnings: expect.any(Array) });
    expect(impact.warnings.map((w: { change: string }) => w.change)).toEqual(warnings);
    expect((await run("diff", topology, "-o", join(dir, "out"), "--json")).stdout).toBe(check.stdout);
    // The text summary is the same steps, one per line under each host.
    const text = (await run("check", topology, "-o", join(dir, "out"))).stdout;
    const lines = hosts.flatMap((h) => [`  ${(h as { host: string }).host} (${(h as { status: string }).status}):`, ...(h as { steps: object[] }).steps.map((s) => `    ${Object.keys(s)[0]} ${Object.values(s)[0]}`)]);
    expect(text).toContain(lines.join("\n") + "\n");
    for (const warning of impact.warnings) expect(text).toContain(`Fleet-wide: ${warning.message}\n`);
  });

  it("a host that takes what another gives up comes after it, with a warning; a swap has no safe order and says so", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    const four = FIRST + "  d:\n    underlay_ip: 192.0.2.4\n";
    writeFileSync(topology, four);
    await run("build", topology, "-o", join(dir, "out"));
    // a takes b's address and range, b takes c's (c leaves), d takes a's: b, then a, then d.
    const pinned = (host: string, n: number) => `  ${host}:\n    underlay_ip: 192.0.2.${n}\n    bridge_ip: 10.11.12.${n + 1}\n    fixed_cidr: 10.11.12.${(n + 1) * 32}/27\n`;
    writeFileSync(topology, FIRST.replace(/  a:[\s\S]*/, "") + pinned("a", 1) + pinned("b", 2) + "  d:\n    underlay_ip: 192.0.2.4\n");
    const chain = JSON.parse((await run("check", topology, "-o", join(dir, "out"), "--json", "--reallocate")).stdout);
    expect(chain.hosts.map((h: { host: string }) => h.host)).toEqual(["c", "b", "a", "d"]);
    expect(chain.warnings).toEqual([{ change: "allocation", message: "addresses change hands (a takes what b gives up, d takes what a gives up): the hosts are listed so that each gives an address up before another takes it; keep that order" }]);
    // Reordered and allocated anew: a and c trade places.
    writeFileSync(topology, four.replace("  a:\n    underlay_ip: 192.0.2.1\n", "").replace("  d:\n", "  a:\n    underlay_ip: 192.0.2.1\n  d:\n").replace("  b:\n    underlay_ip: 192.0.2.2\n  c:\n    underlay_ip: 192.0.2.3\n", "  c:\n    underlay_ip: 192.0.2.3\n  b:\n    underlay_ip: 192.0.2.2\n"));
    const swap = JSON.parse((await run("check", topology, "-o", join(dir, "out"), "--json", "--reallocate")).stdout);
    expect(swap.warnings[0]).toMatchObject({ change: "allocation", message: expect.stringMatching(/^addresses change hands in a cycle \(.*\): no rollout order keeps them unique; stop docker on /) });
  });

  it("a host that joins on a leaving host's underlay address is named as a possible rename; one on a new address is not", async () => {
    const impact = await impactOf(FIRST.replace("  b:\n", "  b2:\n").replace("  c:\n    underlay_ip: 192.0.2.3\n", "  d:\n    underlay_ip: 192.0.2.4\n"));
    expect(impact.hosts.map((h: { host: string; status: string }) => `${h.host} ${h.status}`)).toEqual(["b gone", "c gone", "a changed", "b2 new", "d new"]);
    expect(impact.warnings).toEqual([
      {
        change: "hosts",
        message: "b2 joins on the underlay address b leaves (192.0.2.2): if it is b renamed, run b's steps on that machine before b2's; it gets a new bridge address and range (b's stay reserved until `gre-gen release b`)",
      },
    ]);
  });

  it("a host that joins on the underlay address another host moved away from is named too", async () => {
    // b's machine is renamed b2, and a new machine takes the name b.
    const impact = await impactOf(FIRST.replace("  b:\n    underlay_ip: 192.0.2.2\n", "  b2:\n    underlay_ip: 192.0.2.2\n  b:\n    underlay_ip: 192.0.2.7\n"));
    expect(impact.hosts.map((h: { host: string; status: string }) => `${h.host} ${h.status}`)).toEqual(["a changed", "b changed", "c changed", "b2 new"]);
    expect(impact.warnings).toEqual([
      {
        change: "hosts",
        message:
          "b2 joins on 192.0.2.2, the underlay address b had before it moved to 192.0.2.7: gre-gen takes b for the same machine at a new address (it keeps its bridge address and range, with a changed host's steps) and b2 for a new machine; " +
          "if b2 is the machine that was b, run b2's steps there first, then set b's machine up as a new host (install all its files, run the script, ifup the bridge, restart Docker)",
      },
    ]);
  });

  it("says which hosts the warning leaves cut, in the rollout order", async () => {
    const { warnings } = await impactOf(FIRST.replace("overlay:\n", "overlay:\n  gre_key: 7\n"));
    expect(warnings[0].message).toMatch(/^the GRE key changes from none to 7: tunnels between .* until every host is done; roll out a, b, c back to back/);
  });

  it("up to date: nothing to do, exit 0", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    writeFileSync(topology, FIRST);
    await run("build", topology, "-o", join(dir, "out"));
    const check = await run("check", topology, "-o", join(dir, "out"), "--json");
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ format: 1, changed: false, hosts: [], warnings: [] });
  });

  it("a first deployment: every host new, in name order", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    writeFileSync(topology, FIRST);
    const { hosts } = JSON.parse((await run("diff", topology, "-o", join(dir, "out"), "--json")).stdout);
    expect(hosts.map((h: { host: string; status: string }) => `${h.host} ${h.status}`)).toEqual(["a new", "b new", "c new"]);
  });

  it("a build recorded by an earlier version (no encapsulation, the key as gre_key) is read as GRE with that key", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    const keyed = FIRST.replace("overlay:\n", "overlay:\n  gre_key: 7\n  mtu: 1400\n");
    writeFileSync(topology, keyed);
    await run("build", topology, "-o", join(dir, "out"));
    const manifest = join(dir, "out", ".gre-gen-manifest");
    const settings = readFileSync(manifest, "utf8");
    expect(settings).toContain('"encapsulation":"gre","key":7,');
    writeFileSync(manifest, settings.replace('"encapsulation":"gre","key":7,', '"gre_key":7,'));
    writeFileSync(topology, keyed.replace("  gre_key: 7\n", ""));
    const { warnings } = JSON.parse((await run("check", topology, "-o", join(dir, "out"), "--json")).stdout);
    expect(warnings).toEqual([
      {
        change: "key",
        message: "the GRE key changes from 7 to none: tunnels between a host that has run its steps and one that has not carry nothing until every host is done; roll out a, b, c back to back, without pausing between hosts",
      },
    ]);
  });

  it("hosts of one status are in byte order of their names, whatever the file's order or their folders' order", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    // The folder a-b/ sorts before a/ ('-' before '/'), the name a before a-b.
    writeFileSync(topology, FIRST.replace(/  a:\n    underlay_ip: 192.0.2.1\n  b:\n/, "  c-d:\n    underlay_ip: 192.0.2.9\n  b:\n    underlay_ip: 192.0.2.8\n  a-b:\n").replace("  c:\n", "  a:\n"));
    const { hosts } = JSON.parse((await run("diff", topology, "-o", join(dir, "out"), "--json")).stdout);
    expect(hosts.map((h: { host: string }) => h.host)).toEqual(["a", "a-b", "b", "c-d"]);
  });
});

it("build prints the same steps as check did, read from the build it replaces", async () => {
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  writeFileSync(topology, FIRST);
  await run("build", topology, "-o", join(dir, "out"));
  writeFileSync(topology, FIRST.replace("overlay:\n", "overlay:\n  bridge: br-ctr\n"));
  const check = (await run("check", topology, "-o", join(dir, "out"))).stdout;
  const build = (await run("build", topology, "-o", join(dir, "out"))).stdout;
  expect(check).toContain("    run ifdown newbridge\n");
  expect(build.slice(build.indexOf("Impact"))).toBe(check.slice(check.indexOf("Impact")));
});
