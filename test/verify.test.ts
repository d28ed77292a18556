// The generated verify command: its options and exit codes, Docker's configuration read by the
// setup script's own reader, BFD as the topology sets it, and its tunnel checks on a real
// ovs-vswitchd for every encapsulation (what the setup script set passes; each hand-made drift
// fails the check it belongs to). The e2e harness (test/e2e/verify.sh) proves it on a live overlay.
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, ROOT, run, sh, tempDir } from "./helpers.js";

const RECIPE = readFileSync(join(ROOT, "examples/recipe/topology.yml"), "utf8");
const recipeVerify = join(ROOT, "out/docker1/usr/local/sbin/gre-gen-verify");

/** Builds a topology; returns its output folder. */
async function build(text: string): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  const result = await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
  expect(result.code, result.stderr).toBe(0);
  return join(dir, "out");
}

describe("options and exit codes", () => {
  it("--help prints the usage; an unknown option exits 2", () => {
    const help = sh("bash", [recipeVerify, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gre-gen-verify \[--json\] \[--quiet\]\n/);
    expect(help.stdout).toContain("exit: 0 every check passed, 1 a check failed, 2 it cannot check");
    const wrong = sh("bash", [recipeVerify, "--jsn"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe("gre-gen-verify: unknown option --jsn (try --help)\n");
  });

  it("exits 2 when not root, saying so", (ctx) => {
    needs(ctx, { root: true, tools: ["setpriv"] });
    // A copy in a folder anyone may enter: the project may sit below one only root can.
    const dir = tempDir();
    chmodSync(dir, 0o755);
    copyFileSync(recipeVerify, join(dir, "gre-gen-verify"));
    const result = sh("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", join(dir, "gre-gen-verify")]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("UNKNOWN docker1: cannot check: run it as root\n");
  });

  it("exits 2, saying why, when Open vSwitch does not answer; as JSON too", (ctx) => {
    needs(ctx, { root: true, tools: ["ovs-vsctl", "ovs-appctl", "ping"] });
    const env = { OVS_RUNDIR: tempDir() };
    const text = sh("bash", [recipeVerify], { env });
    expect(text.code).toBe(2);
    expect(text.stdout).toBe("UNKNOWN docker1: cannot check: ovsdb-server does not answer (systemctl start openvswitch-switch)\n");
    const json = sh("bash", [recipeVerify, "--json"], { env });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      host: "docker1",
      overlay: "main",
      status: "unknown",
      error: "ovsdb-server does not answer (systemctl start openvswitch-switch)",
      checks: [],
    });
  });
});

describe("the docker-config check reads what the setup script reads", () => {
  /** The check's result line on the file `--config-file` names in the topology, holding `text` (none when null). */
  async function dockerConfig(text: string | null): Promise<string> {
    const dir = tempDir();
    const file = join(dir, "daemon.json");
    if (text !== null) writeFileSync(file, text);
    const out = await build(RECIPE.replace('"--containerd=/run/containerd/containerd.sock"', `"--config-file=${file}"`));
    const script = join(out, "docker1/usr/local/sbin/gre-gen-verify");
    const result = sh("bash", ["-c", 'source "$1" && check_docker_config && printf "%s\\n" "${results[@]}"', "-", script]);
    return result.stdout.replaceAll(file, "FILE").replace(/\n$/, "");
  }

  it.for([
    ["passes without the file", null, "OK\tdocker-config\tFILE\tsets nothing the drop-in sets, nor icc or iptables false\t"],
    ["passes on keys that collide with nothing", '{"log-level": "warn", "icc": true}', "OK\tdocker-config\tFILE\tsets nothing the drop-in sets, nor icc or iptables false\t"],
    [
      "fails on the drop-in's keys (hosts too, with -H) and on icc false, as the setup script refuses",
      '{"mtu": 1450, "icc": false, "hosts": []}',
      'FAIL\tdocker-config\tFILE\tFILE sets "mtu", which the drop-in\'s command line sets (dockerd would not start); FILE sets "icc": false, which cuts the overlay\'s traffic between hosts; FILE sets "hosts", which the drop-in\'s command line sets (dockerd would not start)\tremove those settings, then systemctl restart docker',
    ],
    ["leaves nested keys alone", '{"log-opts": {"mtu": "1"}}', "OK\tdocker-config\tFILE\tsets nothing the drop-in sets, nor icc or iptables false\t"],
  ] as const)("%s", async ([, text, line]) => {
    expect(await dockerConfig(text)).toBe(line);
  });
});

describe("overlay.bfd", () => {
  it.for([
    ["on by default", "", "true"],
    ["off when the topology says so", "  bfd: false\n", "false"],
  ] as const)("%s: the setup script sets it on every tunnel, the verify command checks it or not", async ([, line, value]) => {
    const out = await build(RECIPE.replace("overlay:\n", `overlay:\n${line}`));
    const setup = readFileSync(join(out, "docker1/usr/local/sbin/gre-gen-ovs-setup"), "utf8");
    expect(setup).toContain(`"options={remote_ip=\\"192.168.50.101\\", local_ip=\\"$local_ip\\" }" bfd:enable=${value} \\\n`);
    expect(readFileSync(join(out, "docker1/usr/local/sbin/gre-gen-verify"), "utf8")).toContain(`\nBFD=${value}\n`);
  });
});

/**
 * One host's setup script, then its verify command, on a real ovs-vswitchd in a network namespace
 * of its own; then each drift command, each followed by a verify run. Prints each run's JSON, and
 * `ovs-vsctl show` before and after the first run.
 */
const LIVE = String.raw`
set -euo pipefail
ns=gg-verify-$$ d=$(mktemp -d /tmp/gg-verify.XXXXXX)
export OVS_RUNDIR=$d
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
ip netns add "$ns"
x() { ip netns exec "$ns" "$@"; }
ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
x ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" --detach --log-file="$d/db.log" -vconsole:off
x ovs-vsctl --no-wait init
x ovs-vswitchd --pidfile="$d/ovs-vswitchd.pid" --detach --log-file="$d/vswitchd.log" -vconsole:off
x ip link set lo up
x ip link add gg-u0 type veth peer name gg-u1
x ip address add "$UNDERLAY/24" dev gg-u0
x ip link set gg-u0 up
x bash "$SETUP" >/dev/null
x ovs-vsctl show >"$d/before"
x bash "$VERIFY" --json || true
x ovs-vsctl show | cmp -s - "$d/before" && echo unchanged
for drift in "$@"; do
  x bash -c "$drift"
  x bash "$VERIFY" --json || true
done
`;

interface Check {
  check: string;
  subject: string;
  status: string;
  detail: string;
}

/** The setup script and drifts on a live OVS: every verify run's checks, and whether the first left OVS unchanged. */
async function live(topology: string, drifts: string[]): Promise<{ runs: Check[][]; unchanged: boolean }> {
  const out = await build(topology);
  const script = (name: string) => join(out, "a/usr/local/sbin", name);
  const setup = join(tempDir(), "setup");
  // The userspace datapath: this machine may have no openvswitch kernel module.
  writeFileSync(setup, readFileSync(script("gre-gen-ovs-setup"), "utf8").replace("datapath_type=system", "datapath_type=netdev"));
  const verify = join(tempDir(), "verify");
  writeFileSync(verify, readFileSync(script("gre-gen-verify"), "utf8").replace("DATAPATH=system", "DATAPATH=netdev"));
  const result = sh("bash", ["-c", LIVE, "-", ...drifts], { env: { SETUP: setup, VERIFY: verify, UNDERLAY: "192.0.2.1" } });
  expect(result.code, result.stderr).toBe(0);
  const lines = result.stdout.trim().split("\n");
  return { runs: lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).checks), unchanged: lines.includes("unchanged") };
}

const topology = (overlay: string) =>
  `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n${overlay}hosts:\n  a:\n    underlay_ip: 192.0.2.1\n  b:\n    underlay_ip: 192.0.2.2\n  c:\n    underlay_ip: 192.0.2.3\n`;
const failed = (checks: Check[]) => checks.filter((c) => c.status === "fail" && c.check !== "dockerd" && c.check !== "reach" && c.check !== "bfd");

describe("tunnel checks on a real ovs-vswitchd, as the setup script sets each encapsulation", () => {
  it.for([
    ["gre with a key", "  key: 5\n", "gre-b", "gre to b at 192.0.2.2 from 192.0.2.1, key 5, protected", "options:key=6", "options:key is 6, want 5"],
    ["vxlan on its own port", "  encapsulation: vxlan\n  key: 7\n  dst_port: 4790\n", "vxlan-b", "vxlan to b at 192.0.2.2 from 192.0.2.1, key 7, port 4790, protected", "options:dst_port=4789", "options:dst_port is 4789, want 4790"],
    ["geneve on OVS's default port", "  encapsulation: geneve\n", "geneve-b", "geneve to b at 192.0.2.2 from 192.0.2.1, protected", "options:dst_port=6081", "options:dst_port is 6081, want unset"],
  ] as const)("%s: passes as set; a changed option or remote_ip, an option set by hand or a lost split horizon fails that tunnel", async ([, overlay, port, ok, option, differs], ctx) => {
    needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-appctl", "ping"] });
    const { runs, unchanged } = await live(topology(overlay), [
      `ovs-vsctl set interface ${port} ${option}`,
      `ovs-vsctl set interface ${port} options:remote_ip=198.51.100.9 -- set port ${port} protected=false`,
      `ovs-vsctl set interface ${port} options:csum=true`,
    ]);
    const [first, changedOption, changedRemote, extraOption] = runs as [Check[], Check[], Check[], Check[]];
    expect(unchanged).toBe(true);
    expect(failed(first)).toEqual([]);
    expect(first.find((c) => c.check === "tunnel" && c.subject === port)?.detail).toBe(ok);
    // Without peers or dockerd here: every peer unreachable, dockerd not running; nothing else fails.
    expect(first.filter((c) => c.status === "fail").map((c) => c.check).sort()).toEqual(["bfd", "bfd", "dockerd", "reach", "reach"]);
    const detail = (checks: Check[]) => failed(checks).map((c) => `${c.check} ${c.subject}: ${c.detail}`);
    expect(detail(changedOption)).toEqual([`tunnel ${port}: ${differs}`]);
    expect(detail(changedRemote)).toEqual([`tunnel ${port}: options:remote_ip is 198.51.100.9, want 192.0.2.2; ${differs}; protected is false, want true`]);
    expect(detail(extraOption)).toEqual([`tunnel ${port}: options:remote_ip is 198.51.100.9, want 192.0.2.2; ${differs}; options:csum=true is set, want unset; protected is false, want true`]);
    // A drifted tunnel's peer is not pinged nor its BFD read: one fault, one FAIL.
    const peer = port.replace(/^[a-z]+-/, "");
    expect(changedOption.filter((c) => c.subject === peer).map((c) => c.status)).toEqual(["skip", "skip"]);
  });

  it("a tunnel of this overlay the topology lacks, and someone else's tunnel on its bridge, fail extra-tunnels", async (ctx) => {
    needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-appctl", "ping"] });
    const { runs } = await live(topology(""), [
      "ovs-vsctl add-port ovs_bridge gre-d -- set port gre-d external_ids:gre-gen=tunnel external_ids:gre-gen-overlay=main -- set interface gre-d type=gre options:remote_ip=192.0.2.4",
      "ovs-vsctl del-port gre-d -- add-port ovs_bridge hand -- set interface hand type=gre options:remote_ip=192.0.2.5",
      "ovs-vsctl del-port hand -- del-port gre-c",
    ]);
    const detail = (checks: Check[]) => failed(checks).map((c) => `${c.check} ${c.subject}: ${c.detail}`);
    expect(detail(runs[1]!)).toEqual(["extra-tunnels ovs_bridge: tunnel ports the topology does not have: gre-d"]);
    expect(detail(runs[2]!)).toEqual(["extra-tunnels ovs_bridge: tunnel ports on ovs_bridge that gre-gen did not make: hand"]);
    expect(detail(runs[3]!)).toEqual(["tunnel gre-c: no port gre-c (the tunnel to c)"]);
    expect(runs[3]!.find((c) => c.check === "extra-tunnels")?.status).toBe("ok");
  });

  it("with overlay.bfd false, BFD is off on every tunnel and not checked", async (ctx) => {
    needs(ctx, { root: true, tools: ["ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-appctl", "ping"] });
    const { runs } = await live(topology("  bfd: false\n"), []);
    expect(runs[0]!.filter((c) => c.check === "bfd")).toEqual([]);
    expect(failed(runs[0]!)).toEqual([]);
  });
});
