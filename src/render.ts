/**
 * Rendering (SPEC §2): the plan to every file's content, in memory. Nothing here touches the disk;
 * a table maps each template to the path it produces under out/<host>/.
 */
import { ENCAPSULATION } from "./encapsulation.js";
import type { Encapsulation } from "./model.js";
import type { HostPlan, Plan } from "./model.js";
import { loadTemplate } from "./templates.js";

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

/**
 * Every file of the output folder, the manifest last, sorted by path. `identity` is how the
 * manifest cites the topology it was built from (see emit.ts's `topologyIdentity`).
 */
export function renderOutputs(plan: Plan, identity?: string): RenderedFile[] {
  const files = plan.hosts.flatMap((host) =>
    ARTIFACTS.map(({ template, path, mode }) => ({
      path: `${host.name}/${path(plan)}`,
      content: loadTemplate(template)(hostContext(plan, host)),
      mode,
    })),
  );
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const manifest = loadTemplate("manifest.hbs")({ sourceName: plan.sourceName, identity: identity ?? null, settings: JSON.stringify(overlaySettings(plan)), files: files.map((f) => f.path) });
  return [...files, { path: MANIFEST_NAME, content: manifest, mode: 0o644 }];
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

function hostContext(plan: Plan, host: HostPlan) {
  return { ...overlayContext(plan), host };
}
