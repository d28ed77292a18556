// Every diagnostic carries a stable code beside its message (SPEC §3: `--format json`, and the
// title of a GitHub annotation): tools match on it, so each message keeps its own.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "./helpers.js";

/** What each code's messages say. */
const CODES: [string, RegExp][] = [
  ["bridge-ip", /^bridge_ip is (outside the overlay subnet|the (network|broadcast) address of) /],
  ["bridge-ip-in-range", /^bridge_ip lies inside /],
  ["duplicate-bridge-ip", /^bridge_ip is also /],
  ["duplicate-host", /^host '.*' differs from '.*' only in case/],
  ["duplicate-port", /^GRE port name '.*' is also /],
  ["duplicate-underlay", /^underlay_ip is also /],
  ["fixed-cidr", /^fixed_cidr \S+ is not inside the overlay subnet/],
  ["format", /is not an? (IPv4 network|IPv4 address|interface name|absolute path)|is not a host name/],
  ["host-bits", /has host bits set; did you mean /],
  ["host-name", /is not a host name/],
  ["host-prefix", /^host_prefix \/\d+ must be longer than the subnet's/],
  ["icc-false", /^docker args must not set --icc=false/],
  ["lock", /^damaged lock file: /],
  ["lock-conflict", /^(bridge_ip|fixed_cidr) (claims|overlaps) \S+, .+ recorded in \S+; choose another so /],
  ["missing-key", / is required$/],
  ["mtu", /^(mtu \d+ does not fit|underlay_mtu \d+ leaves)/],
  ["out-of-room", /has no room left for /],
  ["overlapping-ranges", /^fixed_cidr \S+ overlaps /],
  ["owned-flag", /^docker args must not set (?!--icc)/],
  ["port-name", /^GRE port name '.*' clashes with /],
  ["range", /must be (at least|at most) /],
  ["reserved-name", /is a name the kernel or Open vSwitch reserves$/],
  ["same-bridge", /^ovs_bridge must differ from bridge/],
  ["too-few-hosts", /^hosts lists \d+ host\(s\); an overlay needs at least 2$/],
  ["too-long", /is longer than \d+ characters$/],
  ["type", /must be (a|an|text|true)|^a topology is a mapping/],
  ["underlay-in-subnet", /^underlay_ip lies inside the overlay subnet/],
  ["underlay-ip", /^underlay_ip \S+ cannot be a tunnel endpoint/],
  ["unknown-key", /^unknown key /],
  ["value", /must be '[^']*'(, not| or )/],
  ["yaml", /./],
];

const fixtures = readdirSync("test/errors").filter((f) => f.endsWith(".yml"));

describe("diagnostic codes", () => {
  it.each(fixtures)("%s: each error's code is the one its message belongs to", async (name) => {
    const result = await run("check", join("test/errors", name), "-o", join("test/errors", "never-written"), "--format", "json");
    expect(result.code).toBe(2);
    const diagnostics = JSON.parse(result.stdout) as { code: string; message: string }[];
    expect(diagnostics.length).toBeGreaterThan(0);
    for (const d of diagnostics) {
      const pattern = CODES.find(([code]) => code === d.code)?.[1];
      expect(pattern, `${d.code}: ${d.message}`).toBeDefined();
      expect(d.message, d.code).toMatch(pattern!);
    }
  });

  it("the codes cover every rule that has a fixture", async () => {
    const seen = new Set<string>();
    for (const name of fixtures) {
      const result = await run("check", join("test/errors", name), "-o", join("test/errors", "never-written"), "--format", "json");
      for (const d of JSON.parse(result.stdout) as { code: string }[]) seen.add(d.code);
    }
    expect([...seen].sort()).toEqual(CODES.map(([code]) => code).sort());
  });
});
