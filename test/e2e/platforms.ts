/**
 * The Debian platforms the end-to-end harness runs on, and how a test runs a harness script on
 * one (test/e2e/platform.sh): this machine itself, Debian 13 and Debian unstable (Docker 28),
 * each in a root file system built once with mmdebstrap and kept on the machine.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "vitest";
import { needs, ROOT, sh } from "../helpers.js";

export const PLATFORM_SH = join(ROOT, "test/e2e/platform.sh");

/** `host` (this machine) and Debian suites; `E2E_PLATFORMS=host,trixie` narrows a local run. */
export const PLATFORMS = (process.env.E2E_PLATFORMS ?? "host,trixie,sid").split(",").filter(Boolean);

/** What a platform runs, as its Debian packages report it, and how long its root took. */
export interface PlatformVersions {
  platform: string;
  debian: string;
  docker: string;
  ovs: string;
  ifupdown: string;
  containerd: string;
  runc: string;
  root: string;
  /** Whether the README's table of proved versions shows exactly these. */
  readme?: "matches" | "differs";
}

declare module "vitest" {
  interface TaskMeta {
    platform?: PlatformVersions;
  }
}

/** Runs a command on a platform, with `binds` (folders) visible inside at the same paths. */
export function onPlatform(platform: string, command: string[], options: { binds?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const binds = (options.binds ?? []).flatMap((dir) => ["--bind", dir]);
  return sh("bash", [PLATFORM_SH, ...binds, platform, ...command], { env: options.env });
}

/**
 * Builds the platform's root file system if it is not kept yet, then reads its versions. Skips
 * outside CI without root, or mmdebstrap for a suite; a failed build fails the test everywhere.
 */
export function preparePlatform(ctx: TestContext, platform: string, hostTools: string[]): PlatformVersions {
  needs(ctx, { root: true, tools: platform === "host" ? ["setpriv", "unshare", "dpkg-query", ...hostTools] : ["setpriv", "unshare", "chroot", "mmdebstrap"] });
  const prepared = sh("bash", [PLATFORM_SH, "--prepare", platform]);
  if (prepared.code !== 0) throw new Error(`the ${platform} root file system was not built:\n${prepared.stderr.slice(-3000)}`);
  const [, , how, seconds] = prepared.stdout.trim().split(" ");
  const query = onPlatform(platform, [
    "sh",
    "-c",
    '. /etc/os-release; echo "debian ${VERSION_CODENAME:-?} $(cat /etc/debian_version)"; ' +
      "dpkg-query -W -f '${Package} ${Version}\\n' docker.io openvswitch-switch ifupdown containerd runc || true",
  ]);
  if (query.code !== 0) throw new Error(`no versions from ${platform}: ${query.stderr}`);
  const seen = new Map(query.stdout.trim().split("\n").map((line) => line.split(" ", 2) as [string, string]));
  const version = (name: string) => seen.get(name) ?? "missing";
  const codename = query.stdout.match(/^debian (\S+) (\S+)$/m);
  return {
    platform,
    debian: codename ? `${platform === "host" ? codename[1] : platform} ${codename[2]}` : "unknown",
    docker: version("docker.io"),
    ovs: version("openvswitch-switch"),
    ifupdown: version("ifupdown"),
    containerd: version("containerd"),
    runc: version("runc"),
    root: platform === "host" ? "this machine" : `${how} in ${seconds} s`,
  };
}

/** Compares the platform's row in the README's table of proved versions with what it ran. */
export function matchesReadme(versions: PlatformVersions): boolean {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const table = readme.slice(readme.indexOf("<!-- platforms -->"));
  const row = table.split("\n").find((line) => line.startsWith(`| \`${versions.platform}\``));
  const cells = row?.split("|").slice(2, 8).map((cell) => cell.trim());
  const seen = [versions.debian, versions.docker, versions.ovs, versions.ifupdown, versions.containerd, versions.runc];
  return JSON.stringify(cells) === JSON.stringify(seen);
}
