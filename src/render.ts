/**
 * Rendering (SPEC §2): the plan to every file's content, in memory, one host at a time. Nothing
 * here touches the disk; a table maps each template to the path it produces under out/<host>/.
 */
import { ENCAPSULATION } from "./encapsulation.js";
import type { Encapsulation, HostPlan, Plan, Tunnel } from "./model.js";
import { loadTemplate, shellQuote } from "./templates.js";

export interface RenderedFile {
  /** Relative to the output folder, with forward slashes. */
  path: string;
  content: string;
  mode: number;
}

export const MANIFEST_NAME = ".gre-gen-manifest";

const ARTIFACTS = [
  { template: "etc/network/interfaces.d/bridge.hbs", path: (plan: Plan) => `etc/network/interfaces.d/${plan.bridge}`, mode: 0o644 },
  { template: "etc/systemd/system/docker.service.d/gre-gen.conf.hbs", path: () => "etc/systemd/system/docker.service.d/gre-gen.conf", mode: 0o644 },
  { template: "usr/local/sbin/gre-gen-ovs-setup.hbs", path: () => "usr/local/sbin/gre-gen-ovs-setup", mode: 0o755 },
  { template: "usr/local/sbin/gre-gen-verify.hbs", path: () => "usr/local/sbin/gre-gen-verify", mode: 0o755 },
  { template: "etc/nftables.d/gre-gen-underlay.nft.hbs", path: () => "etc/nftables.d/gre-gen-underlay.nft", mode: 0o644 },
];

const TUNNEL_TEMPLATE = "usr/local/sbin/gre-gen-ovs-setup.tunnel.hbs";

/**
 * Every file of the output folder, one host at a time, sorted by path, the manifest last.
 * `identity` is how the manifest cites the topology it was built from (see emit.ts's
 * `topologyIdentity`). Only the host being rendered is held: a fleet's output never is at once.
 */
export function* renderOutputs(plan: Plan, identity?: string): Generator<RenderedFile> {
  const overlay = overlayContext(plan);
  const tunnels = tunnelTexts(plan, overlay);
  const paths: string[] = [];
  // A host's files share the prefix `name/`, so hosts in that order keep the whole list sorted.
  const hosts = [...plan.hosts].sort((a, b) => (`${a.name}/` < `${b.name}/` ? -1 : 1));
  for (const host of hosts) {
    const context = { ...overlay, host, tunnels: tunnels(host) };
    const files = ARTIFACTS.map(({ template, path, mode }) => ({ path: `${host.name}/${path(plan)}`, template, mode })).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const { path, template, mode } of files) {
      paths.push(path);
      yield { path, content: loadTemplate(template)(context), mode };
    }
  }
  const manifest = loadTemplate("manifest.hbs")({ sourceName: plan.sourceName, identity: identity ?? null, settings: JSON.stringify(overlaySettings(plan)), files: paths });
  yield { path: MANIFEST_NAME, content: manifest, mode: 0o644 };
}

/**
 * A host's tunnels as its templates use them: the setup script's steps, the firewall's addresses,
 * and the words of the bash arrays both scripts list them in (peer, port, remote_ip, peer bridge address).
 */
interface TunnelText {
  steps: string;
  addresses: string;
  peers: string;
  ports: string;
  remotes: string;
  peerIps: string;
}

/**
 * What a host's files say of its tunnels. A tunnel to a peer reads the same in every host's files
 * (a host's own address is its script's `$local_ip`), so each is rendered once for the fleet, and
 * a host's lists are slices of the fleet's: a mesh of 1,000 hosts renders 1,000 tunnels, not
 * 999,000, and no host's list is walked item by item.
 */
function tunnelTexts(plan: Plan, overlay: ReturnType<typeof overlayContext>): (host: HostPlan) => TunnelText {
  // Each tunnel numbered where a host first lists it; a host's list becomes runs of numbers.
  const all: Tunnel[] = [];
  const numbers = new Map<Tunnel, number>();
  const runs = new Map<HostPlan, [number, number][]>();
  for (const host of plan.hosts) {
    const own: [number, number][] = [];
    for (const tunnel of host.tunnels) {
      const last = own.at(-1);
      if (last && all[last[1] + 1] === tunnel) {
        last[1]++;
        continue;
      }
      let number = numbers.get(tunnel);
      if (number === undefined) numbers.set(tunnel, (number = all.push(tunnel) - 1));
      if (last && last[1] + 1 === number) last[1] = number;
      else own.push([number, number]);
    }
    runs.set(host, own);
  }
  const tunnelSteps = loadTemplate(TUNNEL_TEMPLATE);
  const steps = sharedList(all.map((tunnel) => tunnelSteps({ ...overlay, tunnel })), "");
  // The separators of an nftables set's elements and of a bash array's words.
  const addresses = sharedList(all.map((tunnel) => tunnel.remoteIp), ", ");
  const words = (word: (tunnel: Tunnel) => string) => sharedList(all.map((tunnel) => shellQuote(word(tunnel))), " ");
  const [peers, ports, remotes, peerIps] = [words((t) => t.peer), words((t) => t.port), words((t) => t.remoteIp), words((t) => t.peerBridgeIp)];
  return (host) => {
    const own = runs.get(host)!;
    return { steps: steps(own), addresses: addresses(own), peers: peers(own), ports: ports(own), remotes: remotes(own), peerIps: peerIps(own) };
  };
}

/** Items joined once; a run of them, or several runs joined alike, is then a slice or a few. */
function sharedList(items: string[], separator: string): (runs: [number, number][]) => string {
  const text = items.join(separator);
  const starts: number[] = [];
  let at = 0;
  for (const item of items) {
    starts.push(at);
    at += item.length + separator.length;
  }
  // Concatenated, not joined: a join would copy each host's lists once more.
  return (runs) => runs.reduce((list, [first, last], index) => (index === 0 ? "" : list + separator) + text.slice(starts[first], starts[last]! + items[last]!.length), "");
}

/** The overlay-wide values a host's steps depend on, recorded in the manifest for the next build to compare. */
export interface OverlaySettings {
  name: string;
  bridge: string;
  ovs_bridge: string;
  encapsulation: Encapsulation;
  key: number | null;
  mtu: number;
}

export function overlaySettings(plan: Plan): OverlaySettings {
  return { name: plan.name, bridge: plan.bridge, ovs_bridge: plan.ovsBridge, encapsulation: plan.encapsulation, key: plan.key ?? null, mtu: plan.mtu };
}

/** What every template may use of the overlay as a whole (strict templates need every key present). */
export function overlayContext(plan: Plan) {
  return {
    sourceName: plan.sourceName,
    overlayName: plan.name,
    subnet: plan.subnet,
    bridge: plan.bridge,
    ovsBridge: plan.ovsBridge,
    mtu: plan.mtu,
    datapath: plan.datapath,
    bfd: plan.bfd,
    encapsulation: plan.encapsulation,
    title: ENCAPSULATION[plan.encapsulation].title,
    isGre: plan.encapsulation === "gre",
    hasKey: plan.key !== undefined,
    key: plan.key ?? null,
    keyName: ENCAPSULATION[plan.encapsulation].keyName,
    dstPort: plan.dstPort ?? ENCAPSULATION[plan.encapsulation].defaultPort ?? null,
    /** Only a port the topology sets goes into OVS; otherwise OVS's own default applies. */
    setsDstPort: plan.dstPort !== undefined,
  };
}
