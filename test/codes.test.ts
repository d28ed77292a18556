// Every diagnostic carries a stable code beside its message (SPEC §3: `--format json`, and the
// title of a GitHub annotation): tools match on it, so each message keeps its own.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./helpers.js";

/** Messages whose code tools rely on: a message like this carries this code. */
const CODES: [string, RegExp][] = [
  ["bridge-ip", /^bridge_ip is (outside the overlay subnet|the (network|broadcast) address of) /],
  ["bridge-ip-in-range", /^bridge_ip lies inside (this host's own|\S+'s) fixed_cidr/],
  ["duplicate-bridge-ip", /^bridge_ip is also /],
  ["duplicate-host", /^host '.*' differs from '.*' only in case/],
  ["duplicate-port", /^GRE port name '.*' is also /],
  ["duplicate-underlay", /^underlay_ip is also /],
  ["fixed-cidr", /^fixed_cidr \S+ is not inside the overlay subnet/],
  ["host-bits", /^\S+ has host bits set; did you mean /],
  ["host-prefix", /^host_prefix \/\d+ must be longer than the subnet's/],
  ["icc-false", /^docker args must not set --icc=false/],
  ["iptables-false", /^docker args must not set --iptables=/],
  ["lock", /^damaged lock file: /],
  ["lock-conflict", /^(bridge_ip|fixed_cidr) (claims|overlaps) \S+, .+ recorded in \S+; choose another so /],
  ["mtu", /^(mtu \d+ does not fit|underlay_mtu \d+ leaves)/],
  ["out-of-room", / has no room left for /],
  ["overlapping-ranges", /^fixed_cidr \S+ overlaps \S+'s /],
  ["owned-flag", /^docker args must not set (?!--icc|--iptables)/],
  ["port-name", /^GRE port name '.*' clashes with /],
  ["reserved-name", /^(bridge|ovs_bridge) '.*' is reserved/],
  ["same-bridge", /^ovs_bridge must differ from bridge/],
  ["too-few-hosts", /^hosts lists \d+ hosts?; an overlay needs at least 2$/],
  ["underlay-in-subnet", /^underlay_ip lies inside the overlay subnet/],
  ["underlay-ip", /^underlay_ip \S+ cannot be a tunnel endpoint/],
  ["unknown-key", /^unknown key '[^']*' in /],
];

const fixtures = readdirSync("test/errors").filter((f) => f.endsWith(".yml"));

describe("diagnostic codes", () => {
  const seen = new Set<string>();
  it.each(fixtures)("%s: each error carries a code, the one its kind of message has", async (name) => {
    const result = await run("check", join("test/errors", name), "-o", join("test/errors", "never-written"), "--format", "json");
    // A fixture may hold warnings only (errors.test.ts checks its exit code); diagnostics are JSON when refused.
    if (result.code !== 2) return;
    const diagnostics = JSON.parse(result.stdout) as { code: string; message: string }[];
    expect(diagnostics.length).toBeGreaterThan(0);
    for (const d of diagnostics) {
      expect(d.code, d.message).toMatch(/^[a-z]+(-[a-z0-9]+)*$/);
      for (const [code, pattern] of CODES)
        if (pattern.test(d.message)) {
          expect(d.code, d.message).toBe(code);
          seen.add(code);
        }
    }
  });

  it("every code above is met by some fixture", () => {
    expect([...seen].sort()).toEqual(CODES.map(([code]) => code).sort());
  });
});
