// Bundles the CLI into dist/: one minified CommonJS file with every template precompiled, a small
// launcher (scripts/launcher.cjs), and V8's code cache of a first run, so start-up stays near a
// bare `node -e 0`.
import { spawnSync } from "node:child_process";
import { build } from "esbuild";
import Handlebars from "handlebars";
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

/** templates/**\/*.hbs as precompiled specs, behind the interface of src/template-source.ts. */
function precompiledTemplates() {
  const names = readdirSync(`${root}templates`, { recursive: true }).map(String).filter((n) => n.endsWith(".hbs")).sort();
  const specs = names.map((name) => {
    // The options of src/template-source.ts (COMPILE_OPTIONS), which this module stands in for.
    const spec = Handlebars.precompile(readFileSync(`${root}templates/${name}`, "utf8"), { strict: true, noEscape: true });
    return `  ${JSON.stringify(name)}: ${spec},`;
  });
  return [
    'import Handlebars from "handlebars/runtime";',
    `const SPECS = {\n${specs.join("\n")}\n};`,
    "export function createHandlebars() { return Handlebars.create(); }",
    "export function loadCompiled(hbs, name) { return hbs.template(SPECS[name]); }",
  ].join("\n");
}

const precompile = {
  name: "precompiled-templates",
  setup(b) {
    b.onLoad({ filter: /src[\\/]template-source\.ts$/ }, () => ({ contents: precompiledTemplates(), loader: "js", resolveDir: `${root}src` }));
  },
};

/**
 * commander loads node:child_process (and with it the network stack) for stand-alone executable
 * subcommands, which gre-gen never declares: the bundle gets a stand-in that refuses to run
 * anything, which saves the load and keeps the promise that gre-gen never runs a command.
 */
const noChildProcess = {
  name: "no-child-process",
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, () => ({ path: "child_process", namespace: "no-child-process" }));
    b.onLoad({ filter: /.*/, namespace: "no-child-process" }, () => ({
      contents: 'const refuse = () => { throw new Error("gre-gen never runs a command"); };\nmodule.exports = { spawn: refuse, execFileSync: refuse };',
      loader: "js",
    }));
  },
};

rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  entryPoints: [`${root}src/gre-gen.ts`],
  outfile: `${root}dist/gre-gen-bundle.cjs`,
  bundle: true,
  minify: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  // import.meta.url is worked out only when read (ports.ts on Node.js before 20.16): start-up is felt.
  define: { GRE_GEN_VERSION: JSON.stringify(version), "import.meta.url": "__importMeta.url" },
  // The bundle is the body of a CommonJS module wrapper already, so the launcher compiles it as it is read.
  banner: { js: '(function (exports, require, module, __filename, __dirname) {\n"use strict";\nconst __importMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };' },
  footer: { js: "\n})" },
  plugins: [precompile, noChildProcess],
  logLevel: "warning",
});
copyFileSync(`${root}scripts/launcher.cjs`, `${root}dist/gre-gen.cjs`);
chmodSync(`${root}dist/gre-gen.cjs`, 0o755);

// A first build of the recipe compiles what the commands need; V8 keeps it as the code cache.
const scratch = mkdtempSync(join(tmpdir(), "gre-gen-warm-"));
copyFileSync(`${root}examples/recipe/topology.yml`, join(scratch, "topology.yml"));
const warm = spawnSync(process.execPath, [`${root}dist/gre-gen.cjs`, "build"], { cwd: scratch, env: { ...process.env, GRE_GEN_WRITE_CODE_CACHE: "1" }, stdio: "ignore" });
rmSync(scratch, { recursive: true, force: true });
if (warm.status !== 0) throw new Error("the bundled CLI failed its first run");
