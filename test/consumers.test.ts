// The real consumers accept every generated file as it is (SPEC §2): shellcheck and bash for the
// setup script, ifquery and ifup for the stanza, systemd-analyze for the drop-in. In CI they are
// mandatory; elsewhere a missing tool skips its test, saying why.
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, readTree, ROOT, sh, tempDir } from "./helpers.js";

interface Artifacts {
  label: string;
  dir: string;
  bridge: string;
  ovsBridge: string;
  mtu: number;
  address: string;
}

/** Every host of every example, with what its plan says the files must hold. */
const hosts: Artifacts[] = readdirSync(join(ROOT, "examples")).flatMap((example) => {
  const plan = JSON.parse(readFileSync(join(ROOT, "examples", example, "plan.json"), "utf8"));
  const out = example === "recipe" ? join(ROOT, "out") : join(ROOT, "examples", example, "out");
  return plan.hosts.map((h: { name: string; bridge_address: string }) => ({
    label: `${example}/${h.name}`,
    dir: join(out, h.name),
    bridge: plan.bridge,
    ovsBridge: plan.ovs_bridge,
    mtu: plan.mtu,
    address: h.bridge_address,
  }));
});

const script = (h: Artifacts) => join(h.dir, "usr/local/sbin/gre-gen-ovs-setup");
const stanza = (h: Artifacts) => join(h.dir, "etc/network/interfaces.d", h.bridge);
const dropIn = (h: Artifacts) => join(h.dir, "etc/systemd/system/docker.service.d/gre-gen.conf");

describe.each(hosts)("$label", (host) => {
  it("setup script: shellcheck finds nothing, bash parses it, mode 0755", (ctx) => {
    needs(ctx, { tools: ["shellcheck"] });
    const result = sh("shellcheck", ["--severity=style", script(host)]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
    expect(sh("bash", ["-n", script(host)]).code).toBe(0);
    expect(readTree(host.dir).get("usr/local/sbin/gre-gen-ovs-setup")?.executable).toBe(true);
  });

  it("stanza: ifquery reads the address with its prefix, the port and the MTU", (ctx) => {
    needs(ctx, { tools: ["ifquery"] });
    const result = sh("ifquery", ["-i", stanza(host), "--state-dir", tempDir(), host.bridge]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [address, prefix] = host.address.split("/");
    expect(result.stdout).toContain(`address: ${address}\n`);
    expect(result.stdout).toContain(`netmask: ${prefixToMask(Number(prefix))}\n`);
    expect(result.stdout).toContain(`bridge_ports: ${host.ovsBridge}\n`);
    expect(result.stdout).toContain(`mtu: ${host.mtu}\n`);
  });

  it("drop-in: systemd-analyze verify accepts docker.service with it", (ctx) => {
    needs(ctx, { tools: ["systemd-analyze"] });
    const dir = tempDir();
    const stub = join(dir, "dockerd");
    writeFileSync(stub, "#!/bin/sh\nexit 0\n");
    chmodSync(stub, 0o755);
    writeFileSync(join(dir, "docker.service"), `[Unit]\nDescription=Docker (stub)\n\n[Service]\nType=notify\nExecStart=${stub} -H fd://\n`);
    mkdirSync(join(dir, "docker.service.d"));
    // The drop-in's own dockerd may not exist on this machine: a copy points at the stub.
    const text = readFileSync(dropIn(host), "utf8").replace(/^ExecStart=\/\S+/m, `ExecStart=${stub}`);
    writeFileSync(join(dir, "docker.service.d", "gre-gen.conf"), text);
    const result = sh("systemd-analyze", ["verify", "--man=no", join(dir, "docker.service")], { cwd: dir });
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("drop-in on Debian's own docker.service", () => {
  // The jumbo example names Debian's /usr/sbin/dockerd, so the unit verifies exactly as installed.
  const host = hosts.find((h) => h.label === "jumbo-netdev/n1")!;
  it("systemd-analyze verify accepts docker.io's unit with the drop-in, unchanged", (ctx) => {
    const unit = "/lib/systemd/system/docker.service";
    needs(ctx, { tools: ["systemd-analyze", "dockerd"] });
    const dir = tempDir();
    writeFileSync(join(dir, "docker.service"), readFileSync(unit, "utf8"));
    mkdirSync(join(dir, "docker.service.d"));
    writeFileSync(join(dir, "docker.service.d", "gre-gen.conf"), readFileSync(dropIn(host), "utf8"));
    const result = sh("systemd-analyze", ["verify", "--man=no", join(dir, "docker.service")], { cwd: dir });
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

/** ifup in a network namespace: at boot (no bridge yet, and the OVS port present or not) and right after the setup script. */
describe("ifup of the recipe's stanza in a network namespace", () => {
  const host = hosts.find((h) => h.label === "recipe/docker1")!;
  const run = (body: string) => {
    const state = tempDir();
    const result = sh("bash", ["-euo", "pipefail", "-c", `
      ns=gg-ifup-$$; ip netns add "$ns"; trap 'ip netns del "$ns"' EXIT
      nsx() { ip netns exec "$ns" "$@"; }
      ${body}
      nsx ip -o link show dev ${host.bridge}
      nsx ip -o -4 address show dev ${host.bridge}`], { env: { STANZA: stanza(host), STATE: state } });
    return result;
  };
  const ifup = `nsx ifup -i "$STANZA" --state-dir "$STATE" ${host.bridge}`;

  it("at boot, with the OVS bridge's port already restored", (ctx) => {
    needs(ctx, { root: true, tools: ["ifup", "brctl"] });
    const result = run(`nsx ip link add ${host.ovsBridge} type veth peer name gg-peer; ${ifup}; nsx ip -o link show dev ${host.ovsBridge}`);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${host.ovsBridge}(@\\S+)?: .*mtu ${host.mtu} .*master ${host.bridge}`));
    expect(result.stdout).toMatch(new RegExp(`${host.bridge}: .*mtu ${host.mtu} `));
    expect(result.stdout).toContain(`inet ${host.address} `);
  });

  it("right after the setup script made the bridge and gave it its address", (ctx) => {
    needs(ctx, { root: true, tools: ["ifup", "brctl"] });
    const madeByScript = `nsx ip link add ${host.ovsBridge} type veth peer name gg-peer; nsx ip link add name ${host.bridge} type bridge;
      nsx ip link set dev ${host.ovsBridge} master ${host.bridge}; nsx ip address replace ${host.address} dev ${host.bridge}; nsx ip link set ${host.bridge} up`;
    const result = run(`${madeByScript}; ${ifup}`);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout.match(/inet /g)).toHaveLength(1);
    expect(result.stdout).toContain(`inet ${host.address} `);
  });
});

function prefixToMask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join(".");
}

