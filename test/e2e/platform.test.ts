// A run through test/e2e/platform.sh that is killed, as a timed-out CI job is, leaves nothing
// behind: not the processes it started, nor its network namespaces (and the mounts holding them).
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { expect, it } from "vitest";
import { needs } from "../helpers.js";
import { PLATFORM_SH, PLATFORMS } from "./platforms.js";

/** Pids of processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

/** Whether any process's mount table still holds the network namespace with inode `inode`. */
function netnsMounted(inode: number): boolean {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(`net:[${inode}]`);
      } catch {
        return false;
      }
    });
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let k = 0; k < 300; k++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it.for(PLATFORMS)("a run on %s killed midway leaves no process and no network namespace", { timeout: 900_000 }, async (platform, ctx) => {
  needs(ctx, { root: true, tools: platform === "host" ? ["setpriv", "unshare"] : ["setpriv", "unshare", "chroot", "mmdebstrap"] });
  const marker = `gre-gen-killed-run-${process.pid}-${platform}`;
  const script = `ip netns add ${marker} && (exec -a ${marker} sleep 600) & wait`;
  const wrapper = spawn("bash", [PLATFORM_SH, platform, "bash", "-c", script], { stdio: "ignore" });
  const exited = new Promise((resolve) => wrapper.on("exit", resolve));

  const [pid] = await until(() => {
    const found = processesWith(marker).filter((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith(marker));
    return found.length > 0 ? found : undefined;
  }, `the run's ${marker} process`);
  const inode = await until(() => {
    try {
      return statSync(`/proc/${pid}/root/run/netns/${marker}`).ino;
    } catch {
      return undefined;
    }
  }, "the run's network namespace");
  expect(netnsMounted(inode)).toBe(true);

  wrapper.kill("SIGKILL");
  await exited;
  await until(() => (processesWith(marker).length === 0 ? true : undefined), "the run's processes to end");
  await until(() => (netnsMounted(inode) ? undefined : true), "the run's network namespace to go");
});
