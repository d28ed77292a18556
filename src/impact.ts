/**
 * The operator's view of a change (issue: pull-request workflow): per host, what must run once
 * the new files are in place. Derived from which of its generated files change.
 */
import type { Change } from "./emit.js";
import { MANIFEST_NAME } from "./render.js";

export interface HostImpact {
  host: string;
  status: "new" | "gone" | "changed";
  rerunSetupScript: boolean;
  restartBridge: boolean;
  restartDocker: boolean;
  /** The tunnels' encapsulation before and after, when it changes: no tunnel works across the two. */
  encapsulation?: { from: string; to: string };
}

export const SETUP_SCRIPT = "/usr/local/sbin/gre-gen-ovs-setup";

/** The encapsulation a setup script's tunnels use (`type=gre`, `type=vxlan`, ...). */
const tunnelType = (script: string) => /^ {2}-- set interface \S+ type=(\w+) /m.exec(script)?.[1];

export function assessImpact(changes: Change[], bridge: string): HostImpact[] {
  const byHost = new Map<string, Change[]>();
  for (const change of changes) {
    if (change.path === MANIFEST_NAME) continue;
    const host = change.path.split("/")[0]!;
    byHost.set(host, [...(byHost.get(host) ?? []), change]);
  }
  return [...byHost]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([host, hostChanges]): HostImpact => {
      const touched = (suffix: string) => hostChanges.some((c) => c.kind !== "extra" && c.path.endsWith(suffix));
      const restartBridge = touched(`/etc/network/interfaces.d/${bridge}`);
      const script = hostChanges.find((c) => c.kind === "stale" && c.path.endsWith(SETUP_SCRIPT));
      const from = script?.before === undefined ? undefined : tunnelType(script.before);
      const to = script && tunnelType(script.after);
      const status = hostChanges.every((c) => c.kind === "extra") ? "gone" : hostChanges.every((c) => c.kind === "missing") ? "new" : "changed";
      return {
        host,
        status,
        rerunSetupScript: touched(SETUP_SCRIPT),
        restartBridge,
        // Docker reads the bridge's address once, at start, and ifdown takes its containers' links.
        restartDocker: restartBridge || touched("/etc/systemd/system/docker.service.d/gre-gen.conf"),
        ...(from && to && from !== to ? { encapsulation: { from, to } } : {}),
      };
    });
}

/** One line per host, in the order the steps must run. */
export function formatImpact(impacts: HostImpact[], bridge: string): string {
  if (impacts.length === 0) return "";
  const lines = impacts.map(({ host, status, rerunSetupScript, restartBridge, restartDocker }) => {
    if (status === "gone") return `  ${host}: gone from the topology; delete its generated files, then \`ovs-vsctl del-br\` and \`ip link del ${bridge}\` there`;
    const steps: string[] = [];
    if (status === "new") steps.push("install its files");
    if (rerunSetupScript) steps.push("run gre-gen-ovs-setup");
    if (restartBridge) steps.push(status === "new" ? `ifup ${bridge}` : `ifdown ${bridge} && ifup ${bridge}`);
    if (restartDocker) steps.push("systemctl daemon-reload && systemctl restart docker");
    return `  ${host}${status === "new" ? " (new)" : ""}: ${steps.join("; ")}`;
  });
  const switched = impacts.find((i) => i.encapsulation)?.encapsulation;
  const fleetWide = switched
    ? `Fleet-wide: the tunnels change from ${switched.from} to ${switched.to}; a host that has run its new script and one that has not cannot reach each other until every host has.\n`
    : "";
  return `${fleetWide}Impact, per host (in this order):\n${lines.join("\n")}\n`;
}
