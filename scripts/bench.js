// npm run bench: whole-process wall time of the bundled CLI against a bare `node -e 0` measured in
// the same run, alternating the two, on the recipe and on generated full meshes of 50 to 400
// hosts; median of several runs, and peak memory (via GNU time, where installed).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CLI = new URL("../dist/gre-gen.cjs", import.meta.url).pathname;
const RECIPE = new URL("../examples/recipe/topology.yml", import.meta.url).pathname;
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
// Output goes to memory where the machine has it (/dev/shm), so the figures are gre-gen's own and
// not the disk's; BENCH_DIR=<folder> measures on another file system.
const base = process.env.BENCH_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const work = mkdtempSync(join(base, "gre-gen-bench-"));

function mesh(hosts) {
  const lines = Array.from({ length: hosts }, (_, i) => `  host-${String(i).padStart(3, "0")}:\n    underlay_ip: 172.${16 + (i >> 8)}.${i & 255}.10\n`);
  return `version: 1\noverlay:\n  subnet: 10.0.0.0/14\n  host_prefix: 24\nhosts:\n${lines.join("")}`;
}

/** Runs a command once; returns its wall time (ms) and peak resident memory (MiB, if measurable). */
function measure(args, cwd) {
  const command = TIME ? [TIME, "-f", "%M", process.execPath, ...args] : [process.execPath, ...args];
  const start = process.hrtime.bigint();
  const result = spawnSync(command[0], command.slice(1), { cwd, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 && result.status !== 1) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  const kib = TIME ? Number(result.stderr.trim().split("\n").pop()) : NaN;
  return { ms, mib: kib / 1024 };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function bench(name, hosts, command, text, runs) {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "topology.yml"), text);
  spawnSync(process.execPath, [CLI, "build"], { cwd: dir }); // the lock, and an up-to-date out/ for check
  const own = [];
  const bare = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    if (command === "build") rmSync(join(dir, "out"), { recursive: true, force: true });
    bare.push(measure(["-e", "0"], dir).ms);
    const run = measure([CLI, command], dir);
    own.push(run.ms);
    peak = Math.max(peak, run.mib);
  }
  const row = { name, hosts, tunnelEnds: hosts * (hosts - 1), command, ms: median(own), node: median(bare), mib: peak };
  row.ratio = row.ms / row.node;
  return row;
}

const runs = Number(process.argv[2] ?? 11);
const recipe = readFileSync(RECIPE, "utf8");
const rows = [
  bench("recipe", 2, "build", recipe, runs),
  bench("recipe", 2, "check", recipe, runs),
  ...[50, 100, 200].map((n) => bench(`mesh-${n}`, n, "build", mesh(n), runs)),
  bench("mesh-200", 200, "check", mesh(200), runs),
  bench("mesh-400", 400, "build", mesh(400), Math.max(3, Math.ceil(runs / 2))),
];
rmSync(work, { recursive: true, force: true });

console.log(`output in ${base}; node ${process.version}, ${runs} runs per case (400 hosts: ${Math.max(3, Math.ceil(runs / 2))}), medians; ratio = gre-gen / node -e 0 in the same run\n`);
console.log("| case | command | hosts | tunnel ends | gre-gen ms | node -e 0 ms | ratio | peak MiB |");
console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows)
  console.log(`| ${r.name} | ${r.command} | ${r.hosts} | ${r.tunnelEnds} | ${r.ms.toFixed(0)} | ${r.node.toFixed(0)} | ${r.ratio.toFixed(2)}x | ${Number.isNaN(r.mib) ? "n/a" : r.mib.toFixed(0)} |`);
const t200 = rows.find((r) => r.name === "mesh-200" && r.command === "build");
const t400 = rows.find((r) => r.name === "mesh-400");
console.log(`\n400 hosts / 200 hosts (output 4x): ${(t400.ms / t200.ms).toFixed(2)}x the time`);
