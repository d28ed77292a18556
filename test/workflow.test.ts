// The pull-request workflow (plan, diff's impact summary, schema, init, graph, CI annotations) and
// the documentation that shows their real output.
import { Ajv } from "ajv";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { needs, ROOT, run, sh, tempDir, UPDATE } from "./helpers.js";

const RECIPE = join(ROOT, "examples/recipe/topology.yml");

function workspace(text = readFileSync(RECIPE, "utf8")) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  return { dir, topology: join(dir, "topology.yml"), out: join(dir, "out") };
}

describe("plan", () => {
  it("shows each host's underlay, bridge address, range and tunnels, and the MTU's reason", async () => {
    const { stdout, code } = await run("plan", RECIPE);
    expect(code).toBe(0);
    expect(stdout).toContain("MTU 1462: underlay 1500 minus 38 bytes of GRE");
    expect(stdout).toMatch(/^docker1 +10\.10\.10\.101 +10\.11\.12\.1\/24 +10\.11\.12\.128\/26 +gre-docker3>192\.168\.50\.101$/m);
    expect(stdout).toMatch(/^docker3 +192\.168\.50\.101 +10\.11\.12\.2\/24 +10\.11\.12\.192\/26 +gre-docker1>10\.10\.10\.101$/m);
  });
});

describe("impact summary", () => {
  it("a new host: install and start it; its peers only rerun their setup script", async () => {
    const w = workspace();
    await run("build", w.topology, "-o", w.out);
    writeFileSync(w.topology, readFileSync(w.topology, "utf8") + "  docker5:\n    underlay_ip: 10.10.10.105\n");
    const result = await run("check", w.topology, "-o", w.out);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "  docker1 (changed):\n    install /etc/nftables.d/gre-gen-underlay.nft\n    install /usr/local/sbin/gre-gen-ovs-setup\n    install /usr/local/sbin/gre-gen-verify\n    run /usr/local/sbin/gre-gen-ovs-setup\n  docker3 (changed):",
    );
    expect((await run("diff", w.topology, "-o", w.out)).stdout).toContain("  docker5 (new):\n    install /etc/network/interfaces.d/newbridge\n");
  });
});

describe("schema", () => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  const schema = JSON.parse(readFileSync(join(ROOT, "docs/topology.schema.json"), "utf8"));
  const validate = ajv.compile(schema);

  it("is the committed docs/topology.schema.json", async () => {
    const { stdout } = await run("schema");
    if (UPDATE) writeFileSync(join(ROOT, "docs/topology.schema.json"), stdout);
    expect(stdout).toBe(readFileSync(join(ROOT, "docs/topology.schema.json"), "utf8"));
  });

  it("accepts every example and rejects a misspelt key, a bad address and a missing subnet", () => {
    for (const example of readdirSync(join(ROOT, "examples")))
      expect(validate(parse(readFileSync(join(ROOT, "examples", example, "topology.yml"), "utf8"))), example).toBe(true);
    const recipe = parse(readFileSync(RECIPE, "utf8"));
    expect(validate({ ...recipe, overlay: { ...recipe.overlay, subent: "x" } })).toBe(false);
    expect(validate.errors?.[0]?.keyword).toBe("additionalProperties");
    expect(validate({ ...recipe, hosts: { ...recipe.hosts, x: { underlay_ip: "10.1.1" } } })).toBe(false);
    expect(validate({ ...recipe, overlay: { bridge: "newbridge" } })).toBe(false);
  });
});

describe("the schema in yaml-language-server (the editors' YAML support)", () => {
  const validate = (file: string) => JSON.parse(sh(process.execPath, [join(ROOT, "test/support/yaml-language-server-check.mjs"), file]).stdout);

  it("finds nothing to flag in the topology init writes, and flags a misspelt key at its line", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    await run("init", topology);
    expect(validate(topology)).toEqual([]);
    const text = readFileSync(topology, "utf8");
    writeFileSync(topology, text.replace("  host_prefix: 26", "  host_prefx: 26"));
    expect(validate(topology)).toEqual([[text.split("\n").findIndex((l) => l.startsWith("  host_prefix:")) + 1, "Property host_prefx is not allowed."]]);
  });
});

describe("init", () => {
  it("writes the recipe's topology with its schema beside it, which builds; never overwrites", async () => {
    const dir = tempDir();
    const topology = join(dir, "topology.yml");
    expect((await run("init", topology)).code).toBe(0);
    const text = readFileSync(topology, "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./topology.schema.json");
    expect(existsSync(join(dir, "topology.schema.json"))).toBe(true);
    expect((await run("build", topology, "-o", join(dir, "out"))).code).toBe(0);
    expect(readFileSync(join(dir, "out/docker1/etc/systemd/system/docker.service.d/gre-gen.conf"), "utf8")).toContain("--fixed-cidr=10.11.12.128/26 --mtu=1462");
    writeFileSync(topology, "mine\n");
    const again = await run("init", topology);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists; gre-gen init never overwrites a file");
    expect(readFileSync(topology, "utf8")).toBe("mine\n");
  });
});

describe("graph", () => {
  it("draws one node per host and one edge per tunnel pair, with addresses and ranges", async () => {
    const { stdout, code } = await run("graph", join(ROOT, "examples/jumbo-netdev/topology.yml"));
    expect(code).toBe(0);
    expect(stdout.startsWith("```mermaid\n")).toBe(true);
    expect(stdout.match(/^ {4}h\d\["/gm)).toHaveLength(4);
    expect(stdout.match(/ <-- ".*" --> /g)).toHaveLength(6);
    expect(stdout).toContain('h3["<b>n4</b><br/>underlay 10.10.4.10<br/>br-overlay 10.20.0.4/16<br/>containers 10.20.4.0/24"]');
    expect(stdout).toContain('h0 <-- "gre-n2 · gre-n1" --> h1');
  });
});

describe("diagnostic formats", () => {
  const bad = join(ROOT, "test/errors/host-bits.yml");
  it("--format json lists file, line, column, severity, code and message", async () => {
    const result = await run("check", bad, "--format", "json");
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toEqual([
      { file: bad, line: 3, column: 11, length: 13, severity: "error", code: "host-bits", message: "10.11.12.5/24 has host bits set; did you mean 10.11.12.0/24?" },
      { file: bad, line: 7, column: 17, length: 15, severity: "error", code: "host-bits", message: "10.11.12.130/26 has host bits set; did you mean 10.11.12.128/26?" },
    ]);
  });

  it.each(["build", "check", "diff", "plan", "graph"])("%s --format github annotates the line", async (command) => {
    const result = await run(command, bad, "--format", "github");
    expect(result.code).toBe(2);
    expect(result.stdout.split("\n")[0]).toBe(
      `::error file=${bad},line=3,col=11,endColumn=24,title=gre-gen host-bits::10.11.12.5/24 has host bits set; did you mean 10.11.12.0/24?`,
    );
  });
});

describe("documentation", () => {
  it("the README shows the real plan, graph and impact summary of the example", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const block = (name: string) => new RegExp(`<!-- ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n`).exec(readme)?.[1];
    expect(block("plan")).toBe((await run("plan", "examples/recipe/topology.yml")).stdout);
    expect("```mermaid\n" + block("graph") + "```\n").toBe((await run("graph", "examples/recipe/topology.yml")).stdout);
    const w = workspace();
    await run("build", w.topology, "-o", w.out);
    writeFileSync(w.topology, readFileSync(w.topology, "utf8") + "  docker5:\n    underlay_ip: 10.10.10.105\n");
    const impact = (await run("check", w.topology, "-o", w.out)).stdout.split("Impact")[1];
    expect(block("impact")).toBe("Impact" + impact);
    expect(JSON.parse(block("steps-json")!)).toEqual(JSON.parse((await run("diff", w.topology, "-o", w.out, "--json")).stdout));
  });

  it("the Ansible playbook passes ansible-playbook --syntax-check", (ctx) => {
    needs(ctx, { tools: ["ansible-playbook"] });
    const result = sh("ansible-playbook", ["--syntax-check", "-i", "localhost,", join(ROOT, "docs/ansible/deploy.yml")]);
    expect(result.code, result.output).toBe(0);
  });

  it("the CI workflow example runs check with GitHub annotations", () => {
    const workflow = parse(readFileSync(join(ROOT, "docs/github-workflow.yml"), "utf8"));
    const commands = workflow.jobs.check.steps.map((s: { run?: string }) => s.run ?? "").join("\n");
    expect(commands).toContain("gre-gen check topology.yml --format github");
    expect(commands).toContain("gre-gen diff topology.yml");
  });
});
