// ifup of a freshly built recipe stanza in a network namespace this test creates: at boot (no
// bridge yet, the OVS port present) and right after the setup script made the bridge. Needs root.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, ROOT, run, sh, tempDir } from "./helpers.js";

const PLAN = JSON.parse(readFileSync(join(ROOT, "examples/recipe/plan.json"), "utf8"));
const HOST = PLAN.hosts.find((h: { name: string }) => h.name === "docker1");
const { bridge, ovs_bridge: ovsBridge, mtu } = PLAN;

async function freshStanza(): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), readFileSync(join(ROOT, "examples/recipe/topology.yml")));
  expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"))).code).toBe(0);
  return join(dir, "out/docker1/etc/network/interfaces.d", bridge);
}

function inNamespace(stanza: string, body: string) {
  return sh("bash", ["-euo", "pipefail", "-c", `
    ns=gg-ifup-$$; ip netns add "$ns"; trap 'ip netns del "$ns"' EXIT
    nsx() { ip netns exec "$ns" "$@"; }
    ${body}
    nsx ip -o link show dev ${bridge}
    nsx ip -o -4 address show dev ${bridge}`], { env: { STANZA: stanza, STATE: tempDir() } });
}
const ifup = `nsx ifup -i "$STANZA" --state-dir "$STATE" ${bridge}`;

describe("ifup of the recipe's stanza in a network namespace", () => {
  it("at boot, with the OVS bridge's port already restored", async (ctx) => {
    needs(ctx, { root: true, tools: ["ifup", "brctl"] });
    const result = inNamespace(await freshStanza(), `nsx ip link add ${ovsBridge} type veth peer name gg-peer; ${ifup}; nsx ip -o link show dev ${ovsBridge}`);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${ovsBridge}(@\\S+)?: .*mtu ${mtu} .*master ${bridge}`));
    expect(result.stdout).toMatch(new RegExp(`${bridge}: .*mtu ${mtu} `));
    // Its own fixed MAC, not its port's: containers coming and going change no peer's ARP entry.
    expect(result.stdout).toMatch(new RegExp(`${bridge}: .*link/ether ${HOST.bridge_mac} `));
    expect(result.stdout).toContain(`inet ${HOST.bridge_address} `);
  });

  it("right after the setup script made the bridge and gave it its address", async (ctx) => {
    needs(ctx, { root: true, tools: ["ifup", "brctl"] });
    const madeByScript = `nsx ip link add ${ovsBridge} type veth peer name gg-peer; nsx ip link add name ${bridge} type bridge;
      nsx ip link set dev ${ovsBridge} master ${bridge}; nsx ip address replace ${HOST.bridge_address} dev ${bridge}; nsx ip link set ${bridge} up`;
    const result = inNamespace(await freshStanza(), `${madeByScript}; ${ifup}`);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout.match(/inet /g)).toHaveLength(1);
    expect(result.stdout).toContain(`inet ${HOST.bridge_address} `);
  });
});
