/**
 * Docker's own configuration file against the drop-in's command line: dockerd refuses to start
 * when daemon.json sets a directive a flag also sets ("the following directives are specified
 * both as a flag and in the configuration file"), so the setup script checks for them first.
 */
import type { DockerConfig } from "./model.js";

export const DEFAULT_DAEMON_JSON = "/etc/docker/daemon.json";

/** What gre-gen's own flags set; `bip` cannot go with `--bridge` either. */
const GRE_GEN_KEYS = ["bridge", "bip", "fixed-cidr", "mtu"];

/** Flags whose daemon.json directive is not the flag's own long name (moby's daemon/config). */
const KEY_OF_FLAG: Record<string, string> = {
  "-H": "hosts",
  host: "hosts",
  "-D": "debug",
  "-l": "log-level",
  "-G": "group",
  "-p": "pidfile",
  "-g": "data-root",
  graph: "data-root",
  "-s": "storage-driver",
  label: "labels",
  "storage-opt": "storage-opts",
  "log-opt": "log-opts",
  "exec-opt": "exec-opts",
  "dns-opt": "dns-opts",
  "insecure-registry": "insecure-registries",
  "registry-mirror": "registry-mirrors",
  "add-runtime": "runtimes",
  "default-ulimit": "default-ulimits",
  "authorization-plugin": "authorization-plugins",
  "node-generic-resource": "node-generic-resources",
};

/** The daemon.json keys a host's command line sets, and the file dockerd reads them from. */
export function dockerConfigOf(args: string[]): DockerConfig {
  const keys = new Set(GRE_GEN_KEYS);
  let file = DEFAULT_DAEMON_JSON;
  args.forEach((arg, index) => {
    const match = /^(--[a-z][a-z0-9-]*|-[A-Za-z])(=(.*))?$/.exec(arg);
    if (!match) return;
    const flag = match[1]!.startsWith("--") ? match[1]!.slice(2) : match[1]!;
    if (flag === "config-file") {
      file = match[3] ?? args[index + 1] ?? file;
      return;
    }
    const key = KEY_OF_FLAG[flag] ?? (flag.startsWith("-") ? undefined : flag);
    if (key) keys.add(key);
  });
  return { file, ownedKeys: [...keys] };
}
