// The setup script's guards on the real bash, ip and awk (issue: any host): on a host without
// its underlay address, or with a daemon.json or DOCKER_OPTS that collide with the drop-in, it
// refuses before its first change. Each case runs in its own network namespace and a private
// mount namespace that shows it a /etc/docker and /etc/default of the case's own; with no Open
// vSwitch there, a script that passes its guards stops at its first ovs-vsctl.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, run, sh, tempDir } from "./helpers.js";

const TOPOLOGY = `version: 1
overlay:
  subnet: 10.11.12.0/24
hosts:
  web-01:
    underlay_ip: 192.0.2.10
  web-02:
    underlay_ip: 192.0.2.20
`;

interface Case {
  address?: string;
  daemonJson?: string;
  defaults?: string;
  args?: string;
}

async function runScript({ address = "192.0.2.10", daemonJson, defaults, args }: Case) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), args ? TOPOLOGY.replace("hosts:", `docker:\n  args: ${args}\nhosts:`) : TOPOLOGY);
  expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"))).code).toBe(0);
  for (const sub of ["docker", "default", "ovs"]) mkdirSync(join(dir, sub));
  if (daemonJson !== undefined) writeFileSync(join(dir, "docker/daemon.json"), daemonJson);
  if (defaults !== undefined) writeFileSync(join(dir, "default/docker"), defaults);
  const body = `
    ns=gg-guard-$$; ip netns add "$ns"; trap 'ip netns del "$ns"' EXIT
    ip -n "$ns" address add "$ADDRESS/24" dev lo
    mkdir -p /etc/docker
    unshare --mount --propagation private bash -c 'mount --bind "$DIR/docker" /etc/docker && mount --bind "$DIR/default" /etc/default && exec "$@"' _ \\
      ip netns exec "$ns" env OVS_RUNDIR="$DIR/ovs" bash "$DIR/out/web-01/usr/local/sbin/gre-gen-ovs-setup"`;
  return sh("bash", ["-c", body], { env: { DIR: dir, ADDRESS: address } });
}

const refused = (result: { code: number; stderr: string }) => {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/gre-gen-ovs-setup: nothing changed\n$|; nothing changed\n$/);
  expect(result.stderr).not.toContain("ovs-vsctl");
};
const passedGuards = (result: { code: number; stderr: string }) => {
  expect(result.stderr).not.toContain("gre-gen-ovs-setup:");
  expect(result.stderr).toContain("ovs-vsctl: unix:"); // its first change, with no Open vSwitch to reach
};

describe("setup script guards", () => {
  it("refuses on a host without its underlay address, naming the host it is for", async (ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    const result = await runScript({ address: "192.0.2.20" });
    refused(result);
    expect(result.stderr).toBe("gre-gen-ovs-setup: this script is for web-01, and this host does not hold web-01's underlay address 192.0.2.10; nothing changed\n");
  });

  it("passes its guards on its own host with no daemon.json and Debian's commented defaults", async (ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    passedGuards(await runScript({ defaults: '# Docker Upstart and SysVinit configuration file\n#DOCKER_OPTS="--dns 8.8.8.8 --dns 8.8.4.4"\n' }));
  });

  const conflicts: [string, string, string][] = [
    ["mtu", '{ "mtu": 1450 }', '/etc/docker/daemon.json sets "mtu", which the drop-in\'s command line sets (dockerd would not start)'],
    ["bip", '{"bip":"172.26.0.1/16"}', 'sets "bip"'],
    ["bridge", '{\n  "bridge": "none"\n}', 'sets "bridge"'],
    ["fixed-cidr", '{"fixed-cidr": "10.0.0.0/24"}', 'sets "fixed-cidr"'],
    ["hosts against -H fd://", '{"hosts": ["unix:///var/run/docker.sock"]}', 'sets "hosts"'],
    ["containerd against --containerd", '{"containerd": "/run/containerd/containerd.sock"}', 'sets "containerd"'],
    ["icc false", '{"icc": false}', '/etc/docker/daemon.json sets "icc": false, which cuts the overlay\'s traffic between hosts'],
    ["iptables false", '{"log-level": "warn", "iptables" : false}', 'sets "iptables": false'],
  ];
  it.for(conflicts)("refuses a daemon.json that sets %s, naming file and key", async ([, json, message], ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    const result = await runScript({ daemonJson: json });
    refused(result);
    expect(result.stderr).toContain(message);
  });

  it("reports every conflict at once", async (ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    const result = await runScript({ daemonJson: '{"mtu": 1400, "icc": false, "bip": "172.26.0.1/16"}' });
    refused(result);
    expect(result.stderr.split("\n").filter((l) => l.includes("daemon.json sets"))).toHaveLength(3);
  });

  it("leaves what does not collide alone: nested keys, icc and iptables true, other settings", async (ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    const json = '{"default-network-opts": {"bridge": {"com.docker.network.driver.mtu": "1400"}}, "log-opts": {"mtu": "x"}, "icc": true, "iptables": true, "dns": ["1.1.1.1"], "a\\"b": "{["}';
    passedGuards(await runScript({ daemonJson: json }));
  });

  it("checks the file --config-file names instead", async (ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    passedGuards(await runScript({ daemonJson: '{"mtu": 1450}', args: '["--config-file=/etc/docker/other.json"]' }));
    const result = await runScript({ daemonJson: '{"mtu": 1450}', args: '["--config-file=/etc/docker/daemon.json", "--log-level=warn"]' });
    refused(result);
    expect(result.stderr).toContain('sets "mtu"');
  });

  const defaultsCases: [string, boolean][] = [
    ['DOCKER_OPTS="--dns 8.8.8.8"\n', true],
    ["export DOCKER_OPTS='--ipv6'\n", true],
    ['DOCKER_OPTS=""\n', false],
    ["  # DOCKER_OPTS=--dns 1.1.1.1\n", false],
  ];
  it.for(defaultsCases)("Debian's /etc/default/docker with %j: refused %s", async ([defaults, refuses], ctx) => {
    needs(ctx, { root: true, tools: ["unshare", "ovs-vsctl"] });
    const result = await runScript({ defaults });
    if (!refuses) return passedGuards(result);
    refused(result);
    expect(result.stderr).toContain("/etc/default/docker sets DOCKER_OPTS, which the drop-in's ExecStart does not pass; move them to docker.args in the topology");
  });
});
