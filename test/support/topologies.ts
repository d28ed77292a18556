/** Random valid topologies (fast-check), shared by the fuzz tests and the real-consumer tests. */
import fc from "fast-check";

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const hostName = fc.tuple(label, fc.option(label, { nil: undefined })).map(([a, b]) => (b ? `${a}.${b}` : a));
const nastyArg = fc.constantFrom("--label=$(reboot)", "--label=`id`", "--label=a;b", "--label='q'", '--label="q"', "--label=%n%%", "--label=a b", "--label=\\x", "--label=Ünïcödé", "--debug", "--log-level=warn");

/** A topology that must build: room for every host, unique names and underlay addresses. */
export const validTopology = fc
  .record({
    octets: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })),
    subnetPrefix: fc.integer({ min: 16, max: 24 }),
    names: fc.uniqueArray(hostName, { minLength: 2, maxLength: 9, selector: (n) => n.toLowerCase() }),
    split: fc.integer({ min: 4, max: 6 }),
    greKey: fc.option(fc.integer({ min: 0, max: 4294967295 }), { nil: undefined }),
    underlayMtu: fc.oneof(fc.constantFrom(1500, 9000), fc.integer({ min: 1280, max: 9216 })),
    datapath: fc.constantFrom("system", "netdev"),
    args: fc.array(nastyArg, { maxLength: 3 }),
    overridePort: fc.boolean(),
  })
  .map((r) => {
    const subnet = `10.${r.octets[0]}.${r.subnetPrefix > 16 ? r.octets[1] & (0xff << (24 - r.subnetPrefix)) & 0xff : 0}.0/${r.subnetPrefix}`;
    const hosts = r.names
      .map((name, i) => `  ${name}:\n    underlay_ip: 172.${16 + (i >> 8)}.${i & 255}.${10 + i}\n${r.overridePort && i === 0 ? "    gre_port: tun-first\n" : ""}`)
      .join("");
    const key = r.greKey === undefined ? "" : `  gre_key: ${r.greKey}\n`;
    return `version: 1\noverlay:\n  subnet: ${subnet}\n  host_prefix: ${r.subnetPrefix + r.split}\n${key}  underlay_mtu: ${r.underlayMtu}\n  ovs_datapath: ${r.datapath}\ndocker:\n  args: ${JSON.stringify(r.args)}\nhosts:\n${hosts}`;
  });
