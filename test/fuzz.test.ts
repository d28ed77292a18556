// Property and fuzz tests (fast-check): random valid topologies build and keep every invariant;
// random mutations of valid files end in success or a positioned error, never a crash. The seed
// is printed; FUZZ_SEED=<seed> replays a run, FUZZ_RUNS=<n> changes its size.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UserError } from "../src/diagnostics.js";
import { contains, lastAddress, overlaps, parseAddress, parseCidr } from "../src/ipv4.js";
import { compileBytes, type Compilation } from "../src/pipeline.js";
import { needs, sh, tempDir } from "./helpers.js";
import { validTopology } from "./support/topologies.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const encoder = new TextEncoder();

function compileText(text: string, lock?: string): Compilation {
  return compileBytes({ topologyPath: "topology.yml", topology: encoder.encode(text), lockPath: "topology.lock", lock: lock === undefined ? undefined : encoder.encode(lock) });
}

function checkInvariants(text: string): Compilation {
  const compilation = compileText(text);
  const { plan } = compilation;
  const subnet = parseCidr(plan.subnet)!.cidr;
  const ranges = plan.hosts.map((h) => parseCidr(h.fixedCidr)!);
  const bridges = plan.hosts.map((h) => parseAddress(h.bridgeIp)!);
  ranges.forEach(({ cidr, aligned }, i) => {
    expect(aligned).toBe(true);
    expect(contains(subnet, cidr.network) && contains(subnet, lastAddress(cidr))).toBe(true);
    ranges.slice(i + 1).forEach((other) => expect(overlaps(cidr, other.cidr)).toBe(false));
    bridges.forEach((ip) => expect(contains(cidr, ip)).toBe(false));
  });
  expect(new Set(bridges).size).toBe(bridges.length);
  bridges.forEach((ip) => expect(ip > subnet.network && ip < lastAddress(subnet)).toBe(true));
  for (const host of plan.hosts) {
    expect(host.tunnels).toHaveLength(plan.hosts.length - 1);
    expect(new Set(host.tunnels.map((t) => t.port)).size).toBe(host.tunnels.length);
    host.tunnels.forEach((t) => expect(t.port).toMatch(/^[A-Za-z0-9_-]{1,15}$/));
  }
  expect(plan.mtu).toBe(plan.underlayMtu - (plan.encapsulation !== "gre" ? 50 : plan.key === undefined ? 38 : 42));
  const files = [...compilation.outputs()];
  for (const file of files) checkShape(file.path, file.content);
  // Deterministic, and the lock it writes reproduces it exactly.
  expect([...compileText(text).outputs()]).toEqual(files);
  expect([...compileText(text, compilation.lock.content).outputs()]).toEqual(files);
  return compilation;
}

/** The grammar each consumer reads, line by line: nothing a value holds can start a new line. */
function checkShape(path: string, content: string) {
  expect(content.endsWith("\n")).toBe(true);
  const lines = content.slice(0, -1).split("\n");
  for (const line of lines) expect(line, path).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/);
  if (path.includes("/interfaces.d/"))
    for (const line of lines) expect(line, path).toMatch(/^(#.*|auto [\w-]+|iface [\w-]+ inet static| {4}(#.*|(address|mtu|hwaddress|bridge_ports|bridge_stp|bridge_fd|bridge_maxwait|pre-up) .+))$/);
  if (path.endsWith(".conf")) for (const line of lines) expect(line, path).toMatch(/^(#.*|\[(Unit|Service)\]|[A-Z][A-Za-z]+=.*|)$/);
}

const VALID_RUNS = Math.ceil(RUNS / 5);
const LOCK_RUNS = Math.ceil(RUNS / 5);
const MUTATION_RUNS = RUNS - VALID_RUNS - LOCK_RUNS;

type Mutation = { kind: string; at: number; with?: number; value?: string; bytes?: Uint8Array };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete"), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate"), at: fc.nat() }),
  fc.record({ kind: fc.constant("swap"), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant("value"), at: fc.nat(), value: fc.oneof(fc.string(), fc.constantFrom("", "~", "[]", "{}", "&a x", "*a", "!!binary AA==", "1e309", "-0", "0x1F", "10.0.0.0/8", "256.1.1.1", "null", "auto", '"\\n"')) }),
  fc.record({ kind: fc.constant("bytes"), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

/** Lines deleted, duplicated or swapped, a value replaced, or random bytes put in. */
function mutate(text: string, m: Mutation): Uint8Array {
  const lines = text.split("\n");
  const i = m.at % lines.length;
  if (m.kind === "delete") lines.splice(i, 1);
  if (m.kind === "duplicate") lines.splice(i, 0, lines[i]!);
  if (m.kind === "swap") [lines[i], lines[m.with! % lines.length]] = [lines[m.with! % lines.length]!, lines[i]!];
  if (m.kind === "value") lines[i] = lines[i]!.replace(/:.*$/, `: ${m.value}`);
  const bytes = encoder.encode(lines.join("\n"));
  if (m.kind !== "bytes") return bytes;
  const at = m.at % (bytes.length + 1);
  return new Uint8Array([...bytes.subarray(0, at), ...m.bytes!, ...bytes.subarray(at)]);
}

function applyAll(text: string, list: Mutation[]): Uint8Array {
  return list.reduce<Uint8Array>((bytes, m) => mutate(new TextDecoder().decode(bytes), m), encoder.encode(text));
}

/** The keys a rule's message starts with: its diagnostic must stand on that key's line. */
const NAMED_KEY = /^(underlay_ip|bridge_ip|fixed_cidr|host_prefix|underlay_mtu|mtu|bridge|ovs_bridge)\b/;

/**
 * Either it builds, or every diagnostic names its file and a place inside it: a line the file
 * has, a column on that line, the line's own text as its source, and, for a rule that names a
 * key, that key's line.
 */
function expectBuiltOrPositioned(files: Record<string, Uint8Array | undefined>, outcome: { built: number; refused: number }) {
  try {
    compileBytes({ topologyPath: "topology.yml", topology: files["topology.yml"]!, lockPath: "topology.lock", lock: files["topology.lock"] });
    outcome.built++;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    outcome.refused++;
    expect(error.diagnostics.length).toBeGreaterThan(0);
    for (const d of error.diagnostics) {
      const bytes = files[d.file];
      expect(bytes, `${d.file}: not an input`).toBeDefined();
      const lines = new TextDecoder().decode(bytes).split("\n").map((l) => l.replace(/\r$/, ""));
      const at = `${d.file}:${d.line}:${d.column}: ${d.message}`;
      expect(d.line, at).toBeGreaterThanOrEqual(1);
      expect(d.line, at).toBeLessThanOrEqual(lines.length);
      expect(d.column, at).toBeGreaterThanOrEqual(1);
      expect(d.column, at).toBeLessThanOrEqual(lines[d.line - 1]!.length + 1);
      expect(d.message.length, at).toBeGreaterThan(0);
      if (d.source !== undefined) expect(d.source, at).toBe(lines[d.line - 1]);
      const key = NAMED_KEY.exec(d.message)?.[1];
      if (key && d.file === "topology.yml") expect(lines[d.line - 1], at).toContain(key);
    }
  }
}

describe(`fuzz (seed ${SEED}, ${RUNS} cases)`, { timeout: 300_000 }, () => {
  it("random valid topologies build, and the invariants hold", () => {
    console.log(`fuzz seed ${SEED}: replay with FUZZ_SEED=${SEED}`);
    fc.assert(fc.property(validTopology, (text) => void checkInvariants(text)), { seed: SEED, numRuns: VALID_RUNS });
  });

  it("mutated topologies end in success or positioned errors, never a crash", () => {
    const outcome = { built: 0, refused: 0 };
    fc.assert(
      fc.property(validTopology, mutations, (text, list) => void expectBuiltOrPositioned({ "topology.yml": applyAll(text, list) }, outcome)),
      { seed: SEED, numRuns: MUTATION_RUNS },
    );
    console.log(`topology mutations: ${outcome.built} built, ${outcome.refused} refused with positioned errors`);
    // Both ends were reached: the mutations neither all break the file nor all leave it valid.
    expect(outcome.built).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it("a mutated lock file ends in success or a positioned error, never a crash", () => {
    const outcome = { built: 0, refused: 0 };
    fc.assert(
      fc.property(validTopology, mutations, (text, list) => {
        const lock = compileText(text).lock.content;
        expectBuiltOrPositioned({ "topology.yml": encoder.encode(text), "topology.lock": applyAll(lock, list) }, outcome);
      }),
      { seed: SEED, numRuns: LOCK_RUNS },
    );
    console.log(`lock mutations: ${outcome.built} built, ${outcome.refused} refused with positioned errors`);
    expect(outcome.built).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(0);
  });

  it("a sample of random topologies passes the real consumers", (ctx) => {
    needs(ctx, { tools: ["shellcheck"] });
    const dir = tempDir();
    // Each sample takes a shellcheck run: a short run, such as a mutation run's, checks fewer.
    const samples = fc.sample(validTopology, { seed: SEED, numRuns: Math.min(15, Math.ceil(RUNS / 200)) });
    samples.forEach((text, n) => {
      // Every generated script of the sample (setup and verify), in one shellcheck run.
      const scripts = [...checkInvariants(text).outputs()]
        .filter((file) => file.path.includes("/usr/local/sbin/"))
        .map((file, k) => {
          const path = join(dir, `script-${n}-${k}`);
          writeFileSync(path, file.content);
          return path;
        });
      const result = sh("shellcheck", ["--severity=style", ...scripts]);
      expect(result.output, text).toBe("");
    });
  });
});
