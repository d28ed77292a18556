// The real consumers accept every generated file as it is (SPEC §2): shellcheck and bash for the
// setup script, ifquery for the stanza, systemd-analyze for the drop-in. Each topology is built
// afresh in the test (the examples, the end-to-end topologies and random ones from the fuzz
// generator), so a change to the code or the templates meets the consumers before any golden file.
// In CI they are mandatory; elsewhere a missing tool skips its test, saying why.
import fc from "fast-check";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, readTree, ROOT, run, sh, tempDir } from "./helpers.js";
import { validTopology } from "./support/topologies.js";

interface Case {
  label: string;
  /** The topology's text, and its lock when the example has one. */
  topology: string;
  lock?: string;
  /** The committed plan of an example: what its files must hold, known without the code under test. */
  expected?: PlanJson;
}

interface PlanJson {
  bridge: string;
  ovs_bridge: string;
  mtu: number;
  hosts: { name: string; bridge_address: string; fixed_cidr: string }[];
}

const read = (path: string) => readFileSync(path, "utf8");
const examples: Case[] = readdirSync(join(ROOT, "examples")).map((name) => {
  const dir = join(ROOT, "examples", name);
  return {
    label: `example ${name}`,
    topology: read(join(dir, "topology.yml")),
    lock: existsSync(join(dir, "topology.lock")) ? read(join(dir, "topology.lock")) : undefined,
    expected: JSON.parse(read(join(dir, "plan.json"))),
  };
});
const endToEnd: Case[] = readdirSync(join(ROOT, "test/e2e/topologies")).map((name) => ({ label: `e2e ${name}`, topology: read(join(ROOT, "test/e2e/topologies", name)) }));
// Values a consumer could read as code: a daemon.json path and dockerd arguments full of shell and unit syntax.
const hostile: Case = {
  label: "hostile docker values",
  topology: 'version: 1\noverlay:\n  subnet: 10.11.12.0/24\ndocker:\n  args: ["-H", "fd://", "--config-file=/etc/docker/$(touch x)\'\\"`d`.json", "--label=a b%c$d\\\\"]\nhosts:\n  h-1: {underlay_ip: 192.0.2.1}\n  h-2: {underlay_ip: 192.0.2.2}\n',
};
const SEED = 20261128;
// Mutation testing (vitest.mutate.config.ts) samples fewer: each surviving mutant reruns these.
const SAMPLES = Number(process.env.CONSUMER_SAMPLES ?? 4);
const random: Case[] = fc.sample(validTopology, { seed: SEED, numRuns: SAMPLES }).map((topology, n) => ({ label: `random #${n} (seed ${SEED})`, topology }));

/** Builds the case with the CLI into a fresh folder; returns the folder and the plan its files must match. */
async function build(c: Case): Promise<{ out: string; plan: PlanJson }> {
  const dir = tempDir();
  const topology = join(dir, "topology.yml");
  writeFileSync(topology, c.topology);
  if (c.lock !== undefined) writeFileSync(join(dir, "topology.lock"), c.lock);
  const result = await run("build", topology, "-o", join(dir, "out"));
  expect(result.code, result.stderr).toBe(0);
  const plan: PlanJson = c.expected ?? JSON.parse((await run("plan", topology, "--json")).stdout);
  expect(readdirSync(join(dir, "out")).filter((n) => !n.startsWith(".")).sort()).toEqual(plan.hosts.map((h) => h.name).sort());
  return { out: join(dir, "out"), plan };
}

const script = (out: string, host: string) => join(out, host, "usr/local/sbin/gre-gen-ovs-setup");
const stanza = (out: string, host: string, bridge: string) => join(out, host, "etc/network/interfaces.d", bridge);
const dropIn = (out: string, host: string) => join(out, host, "etc/systemd/system/docker.service.d/gre-gen.conf");

describe.each([...examples, ...endToEnd, hostile, ...random])("$label, built afresh", (c) => {
  it("setup scripts: shellcheck finds nothing, bash parses them, mode 0755", async (ctx) => {
    needs(ctx, { tools: ["shellcheck"] });
    const { out, plan } = await build(c);
    const scripts = plan.hosts.map((h) => script(out, h.name));
    const result = sh("shellcheck", ["--severity=style", ...scripts]);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
    for (const [n, path] of scripts.entries()) {
      expect(sh("bash", ["-n", path]).code, path).toBe(0);
      expect(readTree(join(out, plan.hosts[n]!.name)).get("usr/local/sbin/gre-gen-ovs-setup")?.executable, path).toBe(true);
    }
  });

  it("stanzas: ifquery reads each host's address with its prefix, the port and the MTU", async (ctx) => {
    needs(ctx, { tools: ["ifquery"] });
    const { out, plan } = await build(c);
    for (const host of plan.hosts) {
      const result = sh("ifquery", ["-i", stanza(out, host.name, plan.bridge), "--state-dir", tempDir(), plan.bridge]);
      expect(result.stderr, host.name).toBe("");
      expect(result.code, host.name).toBe(0);
      const [address, prefix] = host.bridge_address.split("/");
      expect(result.stdout, host.name).toContain(`address: ${address}\n`);
      expect(result.stdout, host.name).toContain(`netmask: ${prefixToMask(Number(prefix))}\n`);
      expect(result.stdout, host.name).toContain(`bridge_ports: ${plan.ovs_bridge}\n`);
      expect(result.stdout, host.name).toContain(`mtu: ${plan.mtu}\n`);
    }
  });

  it("drop-ins: systemd-analyze verify accepts docker.service with each", async (ctx) => {
    needs(ctx, { tools: ["systemd-analyze"] });
    const { out, plan } = await build(c);
    for (const host of plan.hosts) {
      const text = read(dropIn(out, host.name));
      expect(text, host.name).toContain(`--fixed-cidr=${host.fixed_cidr}`);
      const result = verifyWithStub(text);
      expect(result.output, host.name).toBe("");
      expect(result.code, host.name).toBe(0);
    }
  });
});

/** systemd-analyze verify on a stub docker.service with the drop-in, its dockerd pointed at a stub. */
function verifyWithStub(dropInText: string) {
  const dir = tempDir();
  const stub = join(dir, "dockerd");
  writeFileSync(stub, "#!/bin/sh\nexit 0\n");
  chmodSync(stub, 0o755);
  writeFileSync(join(dir, "docker.service"), `[Unit]\nDescription=Docker (stub)\n\n[Service]\nType=notify\nExecStart=${stub} -H fd://\n`);
  mkdirSync(join(dir, "docker.service.d"));
  // The drop-in's own dockerd may not exist on this machine: a copy points at the stub.
  writeFileSync(join(dir, "docker.service.d", "gre-gen.conf"), dropInText.replace(/^ExecStart=\S+/m, `ExecStart=${stub}`).replace(/^ExecStartPre=\S+/m, `ExecStartPre=${stub}`));
  return sh("systemd-analyze", ["verify", "--man=no", join(dir, "docker.service")], { cwd: dir });
}

describe("drop-in on Debian's own docker.service", () => {
  // The default dockerd is a bare name: systemd finds Debian's /usr/sbin/dockerd and Docker's
  // /usr/bin/dockerd alike. The host's files sit in a root with this machine's units, so the
  // drop-in's ExecStartPre= finds the real setup script.
  it.for(["/usr/sbin/dockerd", "/usr/bin/dockerd"])("systemd-analyze verify accepts docker.io's unit with the drop-in, unchanged, dockerd at %s", async (path, ctx) => {
    needs(ctx, { tools: ["systemd-analyze", "dockerd"] });
    const { out } = await build(examples.find((e) => e.label === "example three-hosts-key")!);
    expect(read(dropIn(out, "alpha"))).toMatch(/^ExecStart=dockerd /m);
    const root = tempDir();
    mkdirSync(join(root, "lib/systemd"), { recursive: true });
    cpSync("/lib/systemd/system", join(root, "lib/systemd/system"), { recursive: true });
    cpSync(join(out, "alpha"), root, { recursive: true });
    for (const stub of [path, "/bin/kill"]) {
      mkdirSync(join(root, dirname(stub)), { recursive: true });
      writeFileSync(join(root, stub), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    }
    const result = sh("systemd-analyze", ["verify", "--man=no", `--root=${root}`, "docker.service"], { cwd: root });
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

function prefixToMask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join(".");
}
