// The real consumers accept every generated file as it is (SPEC §2): shellcheck and bash for the
// setup script, ifquery and ifup for the stanza, systemd-analyze for the drop-in. In CI they are
// mandatory; elsewhere a missing tool skips its test, saying why.
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, readTree, ROOT, sh, tempDir } from "./helpers.js";

interface Artifacts {
  label: string;
  dir: string;
  bridge: string;
  ovsBridge: string;
  mtu: number;
  address: string;
  dockerd: string;
}

/** Every host of every example, with what its plan says the files must hold. */
const hosts: Artifacts[] = readdirSync(join(ROOT, "examples")).flatMap((example) => {
  const plan = JSON.parse(readFileSync(join(ROOT, "examples", example, "plan.json"), "utf8"));
  const out = example === "recipe" ? join(ROOT, "out") : join(ROOT, "examples", example, "out");
  return plan.hosts.map((h: { name: string; bridge_address: string; dockerd: string }) => ({
    label: `${example}/${h.name}`,
    dir: join(out, h.name),
    bridge: plan.bridge,
    ovsBridge: plan.ovs_bridge,
    mtu: plan.mtu,
    address: h.bridge_address,
    dockerd: h.dockerd,
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

  it("nftables fragment: nft -c accepts it", (ctx) => {
    needs(ctx, { root: true, tools: ["nft"] });
    const result = sh("nft", ["-c", "-f", join(host.dir, "etc/nftables.d/gre-gen-underlay.nft")]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("drop-in: systemd-analyze verify accepts docker.service with it and the setup script it runs", (ctx) => {
    needs(ctx, { tools: ["systemd-analyze"] });
    const root = systemRoot(host.dir);
    // docker.service as Docker's packages ship it; the drop-in's dockerd, a stub, where it names it.
    writeFileSync(join(root, "lib/systemd/system/docker.service"), `[Unit]\nDescription=Docker (stub)\n\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd -H fd://\n`);
    installStub(root, host.dockerd.startsWith("/") ? host.dockerd : "/usr/bin/dockerd");
    const result = verifyDocker(root);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

/**
 * A root file system for `systemd-analyze verify --root`: this machine's units, then the host's
 * generated files in place, so the drop-in's ExecStartPre= finds the real setup script.
 */
function systemRoot(hostDir: string): string {
  const root = tempDir();
  mkdirSync(join(root, "lib/systemd"), { recursive: true });
  cpSync("/lib/systemd/system", join(root, "lib/systemd/system"), { recursive: true, dereference: false });
  cpSync(hostDir, root, { recursive: true });
  return root;
}

function installStub(root: string, path: string) {
  mkdirSync(join(root, dirname(path)), { recursive: true });
  writeFileSync(join(root, path), "#!/bin/sh\nexit 0\n");
  chmodSync(join(root, path), 0o755);
}

const verifyDocker = (root: string) => sh("systemd-analyze", ["verify", "--man=no", `--root=${root}`, "docker.service"], { cwd: root });

describe("drop-in on Debian's own docker.service", () => {
  // The default dockerd is a bare name: systemd finds Debian's /usr/sbin/dockerd and Docker's /usr/bin/dockerd alike.
  const host = hosts.find((h) => h.label === "three-hosts-key/alpha")!;
  it.for(["/usr/sbin/dockerd", "/usr/bin/dockerd"])("systemd-analyze verify accepts docker.io's unit with the drop-in, unchanged, dockerd at %s", (path, ctx) => {
    needs(ctx, { tools: ["systemd-analyze", "dockerd"] });
    expect(readFileSync(dropIn(host), "utf8")).toMatch(/^ExecStart=dockerd /m);
    const root = systemRoot(host.dir);
    installStub(root, path);
    installStub(root, "/bin/kill"); // the unit's ExecReload=
    const result = verifyDocker(root);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("systemd-analyze verify refuses the drop-in where no dockerd is found", (ctx) => {
    needs(ctx, { tools: ["systemd-analyze", "dockerd"] });
    const root = systemRoot(host.dir);
    installStub(root, "/bin/kill");
    expect(verifyDocker(root).output).toContain("Command dockerd is not executable");
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

