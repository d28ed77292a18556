/** The command line (SPEC §3): the only module that prints or decides an exit code. */
import { Command, CommanderError, Option } from "commander";
import { createTwoFilesPatch } from "diff";
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { commit, cutShortBuild, recover, STAGING_NAME } from "./commit.js";
import { fileError, formatDiagnostics, UserError, type DiagnosticFormat } from "./diagnostics.js";
import { checkOwnership, compareOutputs, currentContent, readPreviousBuild, topologyIdentity, type Change, type PreviousBuild } from "./emit.js";
import { asFileError, makeFolders, removeEmptyFolders, writeNewFile } from "./files.js";
import { withFolderLock } from "./folder-lock.js";
import { renderGraph } from "./graph.js";
import { assessImpact, formatImpact, readsContent, type Impact } from "./impact.js";
import { readInput } from "./input.js";
import { SCHEMA_FILE_NAME, topologyJsonSchema } from "./json-schema.js";
import { formatAddress, formatCidr } from "./ipv4.js";
import { replaceLockFile } from "./lock.js";
import { overlayChangeWarnings } from "./overlay-change.js";
import { compile, compileBytes, lockPathOf, releaseFromLock, type Compilation } from "./pipeline.js";
import { planJson, planTable } from "./report.js";
import { loadTemplate } from "./templates.js";

declare const GRE_GEN_VERSION: string | undefined;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

interface Options {
  output: string;
  format: DiagnosticFormat;
  json?: boolean;
  adopt?: boolean;
  reallocate?: boolean;
}

type Action = (topology: string, options: Options, io: Io) => number;

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode = 0;
  const program = new Command("gre-gen")
    .description("Compile a topology file into per-host files that join Docker hosts into one L2 network over Open vSwitch GRE tunnels")
    .version(typeof GRE_GEN_VERSION === "string" ? GRE_GEN_VERSION : "0.0.0-dev", "-v, --version", "print the version (also -V)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const command = (name: string, description: string, action: Action, extra: (c: Command) => Command = (c) => c) =>
    extra(
      program
        .command(name)
        .description(description)
        .argument("[topology]", "the topology file", "topology.yml")
        .addOption(new Option("--format <format>", "diagnostics as text, json or github annotations").choices(["text", "json", "github"]).default("text")),
    ).action((topology: string, options: Options) => {
      exitCode = withDiagnostics(io, options.format, () => action(topology, options, io));
    });
  const output = (c: Command) =>
    c.option("-o, --output <dir>", "the output folder", "out").option("--reallocate", "ignore the lock: allocate every host anew (every host moves)");

  command("build", "validate, allocate and render, then write the output folder and the lock file", build, (c) =>
    output(c).option("--adopt", "take over an output folder built from this topology at another path (after moving or renaming it)"),
  );
  const json = (c: Command) => output(c).option("--json", "only what each host must do, as one JSON object (see the README, \"Deploying a host\")");
  command("check", "write nothing; list every stale, missing or extra file and what each host must do (exit 1 if any)", check, json);
  command("diff", "print the unified diff of what build would change, then what each host must do (exit 1 if any)", diff, json);
  command("plan", "print the computed plan: hosts, underlay, bridge address, range, tunnel ports, MTU", plan, (c) => c.option("--json", "as JSON, for tools"));
  command("graph", "print a Mermaid diagram of hosts, tunnels, bridge addresses and ranges", graph);
  command("init", "write a starter topology (the recipe's) and its JSON Schema; never overwrites", init);
  program
    .command("release")
    .description("delete a host's entry from the lock: a retired host's values become free, a listed host is allocated anew at the next build")
    .argument("<host>", "the host whose entry goes")
    .argument("[topology]", "the topology file, beside its lock", "topology.yml")
    .option("-o, --output <dir>", "the output folder whose builds write the lock: release waits while one runs", "out")
    .addOption(new Option("--format <format>", "diagnostics as text, json or github annotations").choices(["text", "json", "github"]).default("text"))
    .action((host: string, topology: string, options: Options) => {
      exitCode = withDiagnostics(io, options.format, () => release(host, topology, options.output, io));
    });
  program
    .command("schema")
    .description("print the JSON Schema of the topology format, for editors")
    .action(() => io.stdout(topologyJsonSchema()));

  try {
    // -V as well as -v: tools differ, and a user should not have to guess.
    await program.parseAsync(argv[0] === "-V" ? ["--version", ...argv.slice(1)] : argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

const build: Action = (topology, options, io) => {
  const out = options.output;
  // Validation first: a topology with a mistake leaves the disk exactly as it was.
  const validated = inspect(topology, options);
  const made = createFolder(out);
  try {
    return writeBuild(topology, options, io, validated);
  } catch (error) {
    // A first build that fails leaves no output folder behind: nothing on disk changes.
    removeEmptyFolders(made);
    throw error;
  }
};

/** The part of a build that writes, under the output folder's lock. */
function writeBuild(topology: string, options: Options, io: Io, validated: Inspection): number {
  const out = options.output;
  return withFolderLock(out, () => {
    if (existsSync(join(out, STAGING_NAME))) recover(out, validated.compilation.lock.path);
    // The folder and the lock are read again under the folder's lock: a build or a release that
    // held it meanwhile may have changed them. Only then is the topology compiled again.
    const previous = readPreviousBuild(out);
    const lockBytes = readInput(validated.compilation.lock.path, "lock", true);
    const changed = (lockBytes && Buffer.from(lockBytes).toString("utf8")) !== validated.compilation.lock.before || String(previous?.hosts) !== String(validated.previous?.hosts);
    const { compilation, lockChange } = changed ? inspect(topology, options) : validated;
    if (!options.adopt) checkOwnership(out, topologyIdentity(topology, out), previous);
    let changes: Change[] = [];
    let steps: Impact | undefined;
    // Each file is staged as it is found changed: the output is never held whole.
    commit(out, (write) => {
      changes = compareOutputs(out, compilation.outputs(), previous, (_change, file) => file && write(file), readsContent);
      // What the hosts must do is read from the previous build, before it is replaced.
      steps = hostSteps(compilation, changes, out);
      return { removals: changes.filter((c) => c.kind === "extra").map((c) => c.path), lock: lockChange && { path: lockChange.path, content: lockChange.after! } };
    });
    const verbs = { missing: "created", stale: "updated", extra: "removed" };
    const lines = shown(changes, lockChange, out).map((c) => `${verbs[c.kind]} ${c.path}\n`);
    io.stdout(lines.join("") + summary(out, compilation, changes.length, "written") + formatImpact(steps!));
    return 0;
  });
}

const check: Action = (topology, options, io) => {
  const { compilation, previous, lockChange, pending } = inspect(topology, options);
  refuseHalfSteps(options, pending);
  const changes = compareOutputs(options.output, compilation.outputs(), previous, undefined, readsContent);
  const lines = shown(changes, lockChange, options.output).map((c) => `${c.kind}: ${c.path}\n`);
  if (pending) lines.unshift(interrupted(options.output, pending));
  const steps = { ...hostSteps(compilation, changes, options.output), changed: lines.length > 0 };
  io.stdout(options.json ? impactJson(steps) : lines.join("") + summary(options.output, compilation, lines.length, "out of date; run gre-gen build") + formatImpact(steps));
  return lines.length > 0 ? 1 : 0;
};

const diff: Action = (topology, options, io) => {
  const out = options.output;
  const { compilation, previous, lockChange, pending } = inspect(topology, options);
  refuseHalfSteps(options, pending);
  // Each patch is made as its change is found; only the patches are kept.
  const patches: string[] = [];
  const changes = compareOutputs(out, compilation.outputs(), previous, (change) => patches.push(unifiedDiff({ ...change, path: join(out, change.path), before: currentContent(out, change) })), readsContent);
  if (lockChange) patches.push(unifiedDiff(lockChange));
  const steps = { ...hostSteps(compilation, changes, out), changed: patches.length > 0 || pending !== undefined };
  const upToDate = steps.changed ? "" : summary(out, compilation, 0, "");
  io.stdout(options.json ? impactJson(steps) : (pending ? interrupted(out, pending) : "") + patches.join("") + upToDate + formatImpact(steps));
  return steps.changed ? 1 : 0;
};

/**
 * Steps as data must be whole: in a folder a decided build was cut short in, some hosts' files are
 * already the new ones, so their steps could not be told. Refused, so no tool deploys half a change.
 */
function refuseHalfSteps(options: Options, pending: Inspection["pending"]): void {
  if (options.json && pending === "decided")
    throw new UserError([fileError(options.output, "holds a build that was cut short after it was decided, so some hosts' files are already the new ones and their steps cannot be told; run gre-gen build to complete it (the steps of that change are the ones taken before it)")]);
}

function interrupted(out: string, how: "decided" | "undecided"): string {
  return how === "decided"
    ? `interrupted: ${out} holds a build that was cut short after it was decided; run gre-gen build to complete it\n`
    : `interrupted: ${out} holds what a build cut short left behind (its files are the previous build's); run gre-gen build to clear it\n`;
}

const plan: Action = (topology, options, io) => {
  const { plan } = compile(topology);
  io.stdout(options.json ? planJson(plan) : planTable(plan));
  return 0;
};

const graph: Action = (topology, _options, io) => {
  io.stdout(renderGraph(compile(topology).plan));
  return 0;
};

function release(host: string, topology: string, out: string, io: Io): number {
  // A build commits the lock it read before: releasing meanwhile would be undone without a word.
  const release = () => {
    if (cutShortBuild(out) === "decided") throw new UserError([fileError(out, "a build into this folder was cut short after it was decided, with the lock it writes; run gre-gen build to complete it, then release")]);
    const released = releaseFromLock(topology, host);
    replaceLockFile(released.lockPath, released.content);
    return released;
  };
  const { lockPath, entry } = existsSync(out) ? withFolderLock(out, release) : release();
  io.stdout(
    entry.retired
      ? `released ${host}: ${formatAddress(entry.bridgeIp)} and ${formatCidr(entry.fixedCidr)} are free for new hosts (${lockPath})\n`
      : `released ${host}: its entry left ${lockPath}; the next build allocates it anew\n`,
  );
  return 0;
}

const init: Action = (topology, options, io) => {
  const folder = dirname(topology);
  const schemaPath = join(folder, SCHEMA_FILE_NAME);
  if (existsSync(topology)) throw new UserError([fileError(topology, "already exists; gre-gen init never overwrites a file")]);
  // Checked before anything is written: init changes nothing when it cannot finish.
  const schemaStat = lstatSync(schemaPath, { throwIfNoEntry: false });
  if (schemaStat && !schemaStat.isFile()) throw new UserError([fileError(schemaPath, "is in the way of the schema file and is not a file; move it away and run gre-gen init again")]);
  try {
    makeFolders(folder);
  } catch (error) {
    throw asFileError(error, folder, "cannot create the folder");
  }
  const starter = loadTemplate("init/topology.yml.hbs")({ schemaFile: SCHEMA_FILE_NAME });
  writeNewFile(topology, starter);
  // The starter's capacity, computed as a build would: a fourth host must not be a surprise.
  const { plan } = compileBytes({ topologyPath: topology, topology: Buffer.from(starter), lockPath: lockPathOf(topology) });
  io.stdout(
    `wrote ${topology}: ${plan.hosts.length} hosts in ${plan.subnet} with /${plan.hostPrefix} ranges, room for ${plan.room} more; ` +
      `for more hosts, widen overlay.subnet before the first deploy (a later change touches every host)\n`,
  );
  const schema = topologyJsonSchema();
  if (!schemaStat) {
    writeNewFile(schemaPath, schema);
    io.stdout(`wrote ${schemaPath}\n`);
  } else if (readFileSync(schemaPath, "utf8") !== schema) {
    // Never overwritten, but an editor checking against an old schema would mislead: say so.
    const warning = { ...fileError(schemaPath, `kept, but it is not this gre-gen's schema; \`gre-gen schema > ${schemaPath}\` replaces it`), severity: "warning" as const };
    (options.format === "text" ? io.stderr : io.stdout)(formatDiagnostics([warning], options.format));
  }
  return 0;
};

interface Inspection {
  compilation: Compilation;
  /** What the output folder's manifest says of the build that wrote it. */
  previous?: PreviousBuild;
  lockChange?: Change;
  /** A build that was cut short: decided (neither the old state nor the new) or not (see cutShortBuild). */
  pending: ReturnType<typeof cutShortBuild>;
}

/** What a build starts from: the compiled topology, the output folder's previous build, the lock's change. Nothing is rendered yet. */
function inspect(topology: string, options: Options): Inspection {
  const out = options.output;
  const previous = readPreviousBuild(out);
  const identity = topologyIdentity(topology, out);
  const foreign = !options.adopt && previous?.topology !== undefined && previous.topology !== identity;
  // The topology's own mistakes first; then whether this folder is its to write.
  const compilation = compile(topology, { previousHosts: foreign ? undefined : previous?.hosts, identity, reallocate: options.reallocate });
  if (foreign) checkOwnership(out, identity, previous);
  return { compilation, previous, lockChange: lockChangeOf(compilation.lock), pending: cutShortBuild(out) };
}

function lockChangeOf({ path, content, before }: Compilation["lock"]): Change | undefined {
  return before === content ? undefined : { kind: before === undefined ? "missing" : "stale", path, before: before ?? "", after: content };
}

/** The output folder, made when missing (returns the folders made); anything else in its place is refused. */
function createFolder(out: string): string[] {
  let made: string[];
  try {
    made = makeFolders(out);
  } catch (error) {
    throw asFileError(error, out, "cannot create the output folder");
  }
  if (!lstatSync(out).isDirectory() && !existsSync(join(out, "."))) throw new UserError([fileError(out, "the output folder is not a folder")]);
  return made;
}

/** The changes with the paths a user sees: output files under the output folder, then the lock. */
function shown(changes: Change[], lockChange: Change | undefined, output: string): Change[] {
  return [...changes.map((c) => ({ ...c, path: join(output, c.path) })), ...(lockChange ? [lockChange] : [])];
}

/** What each host must do, with the fleet-wide warnings of the allocation's own changes (subnet, host_prefix). */
function hostSteps(compilation: Compilation, changes: Change[], out: string): Impact {
  const impact = assessImpact(changes, compilation.plan, (c) => currentContent(out, c));
  return { ...impact, warnings: [...impact.warnings, ...overlayChangeWarnings(compilation.overlayChange)] };
}

/** One line of JSON, for tools (the playbook in docs/ansible reads it). */
function impactJson(impact: Impact): string {
  return `${JSON.stringify(impact)}\n`;
}

function summary(output: string, compilation: Compilation, changed: number, verb: string): string {
  const hosts = compilation.plan.hosts.length;
  return changed === 0 ? `${output}: up to date (${hosts} hosts)\n` : `${output}: ${hosts} hosts, ${changed} file(s) ${verb}\n`;
}

function withDiagnostics(io: Io, format: DiagnosticFormat, action: () => number): number {
  try {
    return action();
  } catch (error) {
    const diagnostics = error instanceof UserError ? error.diagnostics : isFileSystemError(error) ? asFileError(error, error.path ?? "gre-gen", `cannot ${error.syscall ?? "access"}`).diagnostics : undefined;
    if (!diagnostics) throw error;
    (format === "text" ? io.stderr : io.stdout)(formatDiagnostics(diagnostics, format));
    return 2;
  }
}

/** A file the machine would not let gre-gen read or write (permissions, a full disk): the user's to fix. */
function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string" && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code!);
}

function unifiedDiff(change: Change): string {
  const from = change.kind === "missing" ? "/dev/null" : `a/${change.path}`;
  const to = change.kind === "extra" ? "/dev/null" : `b/${change.path}`;
  return createTwoFilesPatch(from, to, change.before ?? "", change.after ?? "", undefined, undefined, { context: 3 }).replace(/^=+\n/, "");
}
