// The optional nftables fragment on the real nft and kernel (issue: any underlay): loaded on a
// host (a network namespace), it drops tunnel traffic from an address that is not a peer's
// underlay address, lets the peers' through, leaves other traffic alone, and loads again.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { needs, run, sh, tempDir } from "./helpers.js";

const HOSTS = "  web-01:\n    underlay_ip: 10.10.1.10\n  web-02:\n    underlay_ip: 10.10.2.10\n  web-03:\n    underlay_ip: 10.10.3.10\n";
const STRANGER = "10.10.9.9";

/** Sends three packets of the encapsulation's kind from the sender namespace to web-01. */
const SEND = {
  gre: `python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
for _ in range(3): s.sendto(bytes([0, 0, 0x65, 0x58]) + bytes(14), ("10.10.1.10", 0))'`,
  udp: (port: number) => `for k in 1 2 3; do printf x >/dev/udp/10.10.1.10/${port}; done`,
};

const cases: [string, string, string, string][] = [
  ["gre", "", "ip protocol gre", SEND.gre],
  ["vxlan", "  encapsulation: vxlan\n  dst_port: 4790\n", "udp dport 4790", SEND.udp(4790)],
  ["geneve", "  encapsulation: geneve\n", "udp dport 6081", SEND.udp(6081)],
];

describe("nftables fragment", () => {
  it.for(cases)("%s: a non-peer's tunnel packets are dropped, a peer's pass, other traffic is untouched", async ([, overlay, match, send], ctx) => {
    needs(ctx, { root: true, tools: ["nft", "python3", "ping"] });
    const dir = tempDir();
    writeFileSync(join(dir, "topology.yml"), `version: 1\noverlay:\n  subnet: 10.11.12.0/24\n${overlay}hosts:\n${HOSTS}`);
    expect((await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"))).code).toBe(0);
    const fragment = join(dir, "out/web-01/etc/nftables.d/gre-gen-underlay.nft");
    expect(readFileSync(fragment, "utf8")).toContain("elements = { 10.10.2.10, 10.10.3.10 }");
    const body = `
      p=gg-nft-$$; host=$p-h; peer=$p-p; stranger=$p-s
      trap 'ip netns del $host; ip netns del $peer; ip netns del $stranger' EXIT
      for space in $host $peer $stranger; do ip netns add $space; ip -n $space link set lo up; done
      link() { # a veth between web-01 and a sender with address $2
        ip link add $p-$3 type veth peer name $p-$3x
        ip link set $p-$3 netns $host; ip link set $p-$3x netns $1
        ip -n $host address add 10.10.1.10/32 dev $p-$3; ip -n $host link set $p-$3 up
        ip -n $host route add $2/32 dev $p-$3
        ip -n $1 address add $2/32 dev $p-$3x; ip -n $1 link set $p-$3x up
        ip -n $1 route add 10.10.1.10/32 dev $p-$3x
      }
      link $peer 10.10.2.10 a; link $stranger ${STRANGER} b
      ip netns exec $host nft -f "$FRAGMENT"
      ip netns exec $host nft -f "$FRAGMENT" # again: replaced, not doubled
      # What gets past the fragment, counted by source, in a chain that runs after it.
      ip netns exec $host nft -f - <<NFT
      table inet probe {
        chain input {
          type filter hook input priority filter + 10; policy accept;
          ip saddr 10.10.2.10 ${match} counter comment "peer"
          ip saddr ${STRANGER} ${match} counter comment "stranger"
        }
      }
NFT
      ip netns exec $peer bash -c "$SEND"
      ip netns exec $stranger bash -c "$SEND"
      ip netns exec $stranger ping -c1 -W2 10.10.1.10 >/dev/null && echo "stranger ping answered"
      ip netns exec $host nft list chain inet probe input | sed -n 's/.*packets \\([0-9]*\\) .*comment "\\(.*\\)"/\\2 passed \\1/p'
      ip netns exec $host nft list table inet gre_gen_underlay | sed -n 's/.*packets \\([0-9]*\\) .* drop/dropped \\1/p'
      ip netns exec $host nft list tables | grep -c gre_gen_underlay`;
    const result = sh("bash", ["-euo", "pipefail", "-c", body], { env: { FRAGMENT: fragment, SEND: send } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("stranger ping answered\npeer passed 3\nstranger passed 0\ndropped 3\n1\n");
  });
});
