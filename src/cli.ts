/** The command line (SPEC §3): the only module that prints or decides an exit code. */
import { Command, CommanderError, Option } from "commander";
import { relative } from "node:path";
import { formatDiagnostics, UserError, type DiagnosticFormat } from "./diagnostics.js";
import { compareOutputs, writeFileAtomic, writeOutputs, type Change } from "./emit.js";
import { compile, type Compilation } from "./pipeline.js";
import { planJson, planTable } from "./report.js";
import { readFileSync } from "node:fs";
import { createTwoFilesPatch } from "diff";
import { join } from "node:path";

declare const GRE_GEN_VERSION: string | undefined;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface TopologyOptions {
  output: string;
  format: DiagnosticFormat;
}

const formatOption = () => new Option("--format <format>", "diagnostics as text, json or github annotations").choices(["text", "json", "github"]).default("text");

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode = 0;
  const program = new Command("gre-gen")
    .description("Compile a topology file into per-host files for a Docker overlay over Open vSwitch GRE tunnels")
    .version(version(), "-V, --version")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const topologyCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument("[topology]", "the topology file", "topology.yml")
      .option("-o, --output <dir>", "the output folder", "out")
      .addOption(formatOption());
  const run = (action: (topology: string, options: TopologyOptions) => number) => (topology: string, options: TopologyOptions) => {
    exitCode = withDiagnostics(io, options.format, () => action(topology, options));
  };

  topologyCommand("build", "validate, allocate, render, then write the output folder and the lock file").action(
    run((topology, options) => {
      const compilation = compile(topology);
      const changes = compareOutputs(options.output, compilation.files);
      writeOutputs(options.output, compilation.files, changes);
      const lockChanged = readText(compilation.lock.path) !== compilation.lock.content;
      if (lockChanged) writeFileAtomic(compilation.lock.path, compilation.lock.content);
      io.stdout(summarizeBuild(options.output, compilation, changes, lockChanged));
      return 0;
    }),
  );
  topologyCommand("check", "write nothing; list every stale, missing or extra generated file (exit 1 if any)").action(
    run((topology, options) => {
      const { compilation, changes, lockStale } = inspect(topology, options.output);
      io.stdout(listChanges(options.output, compilation, changes, lockStale));
      return changes.length > 0 || lockStale ? 1 : 0;
    }),
  );
  topologyCommand("diff", "show the unified diff of what build would change (exit 1 if any)").action(
    run((topology, options) => {
      const { compilation, changes, lockStale } = inspect(topology, options.output);
      const lockChange: Change[] = lockStale ? [{ kind: "stale", path: compilation.lock.path, before: readText(compilation.lock.path) ?? "", after: compilation.lock.content }] : [];
      for (const change of [...changes.map((c) => ({ ...c, path: join(options.output, c.path) })), ...lockChange]) io.stdout(unifiedDiff(change));
      return changes.length > 0 || lockStale ? 1 : 0;
    }),
  );

  program
    .command("plan")
    .description("print the computed plan: hosts, underlay, bridge address, range, tunnel ports, MTU")
    .argument("[topology]", "the topology file", "topology.yml")
    .option("--json", "as JSON, for tools")
    .addOption(formatOption())
    .action((topology: string, options: { json?: boolean; format: DiagnosticFormat }) => {
      exitCode = withDiagnostics(io, options.format, () => {
        const { plan } = compile(topology);
        io.stdout(options.json ? planJson(plan) : planTable(plan));
        return 0;
      });
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

function inspect(topology: string, output: string) {
  const compilation = compile(topology);
  const changes = compareOutputs(output, compilation.files);
  const lockStale = readText(compilation.lock.path) !== compilation.lock.content;
  return { compilation, changes, lockStale };
}

function withDiagnostics(io: Io, format: DiagnosticFormat, action: () => number): number {
  try {
    return action();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    (format === "text" ? io.stderr : io.stdout)(formatDiagnostics(error.diagnostics, format));
    return 2;
  }
}

function summarizeBuild(output: string, compilation: Compilation, changes: Change[], lockChanged: boolean): string {
  const hosts = compilation.plan.hosts.length;
  if (changes.length === 0 && !lockChanged) return `${output}: up to date (${hosts} hosts)\n`;
  const lines = changes.map((c) => `${c.kind === "extra" ? "removed" : c.kind === "missing" ? "created" : "updated"} ${join(output, c.path)}\n`);
  if (lockChanged) lines.push(`updated ${compilation.lock.path}\n`);
  return lines.join("") + `${output}: ${hosts} hosts, ${changes.length} file(s) changed\n`;
}

function listChanges(output: string, compilation: Compilation, changes: Change[], lockStale: boolean): string {
  if (changes.length === 0 && !lockStale) return `${output}: up to date (${compilation.plan.hosts.length} hosts)\n`;
  const lines = changes.map((c) => `${c.kind}: ${join(output, c.path)}\n`);
  if (lockStale) lines.push(`stale: ${compilation.lock.path}\n`);
  return lines.join("") + `${changes.length + (lockStale ? 1 : 0)} file(s) out of date; run gre-gen build\n`;
}

function unifiedDiff(change: Change): string {
  const from = change.kind === "missing" ? "/dev/null" : `a/${change.path}`;
  const to = change.kind === "extra" ? "/dev/null" : `b/${change.path}`;
  return createTwoFilesPatch(from, to, change.before, change.after, undefined, undefined, { context: 3 }).replace(/^=+\n/, "");
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function version(): string {
  return typeof GRE_GEN_VERSION === "string" ? GRE_GEN_VERSION : "0.0.0-dev";
}

/** For paths shown to users: relative to the working folder when that is shorter. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.length < path.length ? rel : path;
}
