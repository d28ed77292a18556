// npm's `prepare`: the bundle. `npm install --global .` in a fresh clone runs it before anything is
// installed in the clone, so the build tools (devDependencies, as locked) come first, without
// running any package's install script. The bundle holds every dependency: the installed
// package needs nothing but Node.js.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

if (!existsSync(`${root}node_modules/esbuild/package.json`)) {
  // Of the outer install's settings only where packages come from reaches this one (not its
  // --global, prefix or left-out dev dependencies).
  const kept = /^npm_config_(registry|cache|offline|prefer_offline|userconfig|globalconfig|https?_proxy|proxy|noproxy|strict_ssl|cafile|ca|fetch_\w+)$/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name) || kept.test(name)));
  const npm = process.env.npm_execpath;
  const command = npm ? process.execPath : "npm";
  const args = [...(npm ? [npm] : []), "ci", "--ignore-scripts", "--include=dev", "--no-audit", "--no-fund"];
  process.stderr.write("gre-gen: installing the build tools (devDependencies) to bundle the executable\n");
  const result = spawnSync(command, args, { cwd: root, env, stdio: ["ignore", 2, 2] });
  if (result.status !== 0) {
    process.stderr.write("gre-gen: could not install the build tools; run `npm ci` in this folder, then install again\n");
    process.exit(1);
  }
}

await import("./bundle.js");
