/** `gre-gen graph`: the plan as a Mermaid diagram, ready to paste into a pull request. */
import type { Plan } from "./model.js";
import { loadTemplate } from "./templates.js";

export function renderGraph(plan: Plan): string {
  // Mermaid ids are kept plain (h0, h1, ...); host names may hold dots and dashes.
  const hosts = plan.hosts.map((host, index) => ({ ...host, id: `h${index}` }));
  const idOf = new Map(hosts.map((h) => [h.name, h.id]));
  const portTo = (from: string, to: string) => hosts.find((h) => h.name === from)!.tunnels.find((t) => t.peer === to)!.port;
  const tunnels = hosts.flatMap((a, i) =>
    hosts.slice(i + 1).map((b) => ({ from: idOf.get(a.name), to: idOf.get(b.name), fromPort: portTo(a.name, b.name), toPort: portTo(b.name, a.name) })),
  );
  return loadTemplate("graph.mmd.hbs")({
    sourceName: plan.sourceName,
    subnet: plan.subnet,
    mtu: plan.mtu,
    bridge: plan.bridge,
    hasKey: plan.greKey !== undefined,
    greKey: plan.greKey ?? null,
    hosts,
    tunnels,
  });
}
