// Bundles the CLI into dist/ (one entry module, with the rarely used commands in chunks of their
// own), minified, with every template precompiled: start-up stays near a bare `node -e 0`.
import { build } from "esbuild";
import Handlebars from "handlebars";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8"));

/** templates/**\/*.hbs as precompiled specs, behind the interface of src/template-source.ts. */
function precompiledTemplates() {
  const names = readdirSync(`${root}templates`, { recursive: true }).map(String).filter((n) => n.endsWith(".hbs")).sort();
  const specs = names.map((name) => {
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

rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  entryPoints: { "gre-gen": `${root}src/gre-gen.ts` },
  outdir: `${root}dist`,
  bundle: true,
  splitting: true,
  minify: true,
  platform: "node",
  target: "node20",
  format: "esm",
  define: { GRE_GEN_VERSION: JSON.stringify(version) },
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  plugins: [precompile],
  logLevel: "warning",
});
