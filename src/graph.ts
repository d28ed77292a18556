/** `gre-gen graph`: the plan as a Mermaid diagram, ready to paste into a pull request. */
import type { Plan } from "./model.js";
import { overlayContext } from "./render.js";
import { loadTemplate } from "./templates.js";

export function renderGraph(plan: Plan): string {
  // Mermaid ids are kept plain (h0, h1, ...); host names may hold dots and dashes.
  const hosts = plan.hosts.map((host, index) => ({ ...host, id: `h${index}` }));
  // Every peer names its tunnel to a host alike: that host's tunnel port name.
  const portTo = new Map(plan.hosts.flatMap((h) => h.tunnels.map((t) => [t.peer, t.port] as const)));
  const tunnels = hosts.flatMap((a, i) =>
    hosts.slice(i + 1).map((b) => ({ from: a.id, to: b.id, fromPort: portTo.get(b.name), toPort: portTo.get(a.name) })),
  );
  return loadTemplate("graph.mmd.hbs")({ ...overlayContext(plan), hosts, tunnels });
}
