// Hostile values in every field: each is refused with an error at its place, or (docker args,
// which are free text) written so that systemd reads back exactly the argument the user wrote.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shellQuote, unitQuote } from "../src/templates.js";
import { hasTool, needs, run, sh, tempDir } from "./helpers.js";

const HOSTILE = [
  "$(reboot)",
  "`id`",
  "a;b",
  "it's",
  'say "hi"',
  "a\nExecStartPre=/bin/evil",
  "a\rb",
  "nul\u0000byte",
  "dоcker1", // a Cyrillic о
  "x".repeat(300),
  "../../etc",
  "has space",
  "line\u2028separator",
];

const yamlString = (value: string) => JSON.stringify(value); // a JSON string is a YAML double-quoted scalar

function topology(fields: { hostName?: string; overlay?: Record<string, string>; host?: Record<string, string>; args?: string }) {
  const overlay = Object.entries({ subnet: '"10.11.12.0/24"', ...fields.overlay }).map(([k, v]) => `  ${k}: ${v}\n`).join("");
  const host = Object.entries({ underlay_ip: '"10.10.10.101"', ...fields.host }).map(([k, v]) => `    ${k}: ${v}\n`).join("");
  const docker = fields.args ? `docker:\n  args: [${fields.args}]\n` : "";
  return `version: 1\noverlay:\n${overlay}${docker}hosts:\n  ${fields.hostName ?? "docker1"}:\n${host}  docker3:\n    underlay_ip: "192.168.50.101"\n`;
}

async function compileText(text: string) {
  const dir = tempDir();
  writeFileSync(join(dir, "topology.yml"), text);
  const result = await run("build", join(dir, "topology.yml"), "-o", join(dir, "out"));
  return { ...result, dir, text };
}

/** The line (1-based) where `needle` first appears in `text`. */
const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

const FIELDS: [string, (v: string) => Parameters<typeof topology>[0], string][] = [
  ["host name", (v) => ({ hostName: yamlString(v) }), "hosts:"],
  ["overlay.subnet", (v) => ({ overlay: { subnet: yamlString(v) } }), "subnet:"],
  ["overlay.name", (v) => ({ overlay: { name: yamlString(v) } }), "name:"],
  ["overlay.bridge", (v) => ({ overlay: { bridge: yamlString(v) } }), "bridge:"],
  ["overlay.ovs_bridge", (v) => ({ overlay: { ovs_bridge: yamlString(v) } }), "ovs_bridge:"],
  ["hosts.*.underlay_ip", (v) => ({ host: { underlay_ip: yamlString(v) } }), "underlay_ip:"],
  ["hosts.*.bridge_ip", (v) => ({ host: { bridge_ip: yamlString(v) } }), "bridge_ip:"],
  ["hosts.*.fixed_cidr", (v) => ({ host: { fixed_cidr: yamlString(v) } }), "fixed_cidr:"],
  ["hosts.*.gre_port", (v) => ({ host: { gre_port: yamlString(v) } }), "gre_port:"],
  ["docker.dockerd", (v) => ({ host: { docker: `{ dockerd: ${yamlString(v)} }` } }), "docker:"],
];

describe.each(FIELDS)("%s", (_, make, anchor) => {
  it.each(HOSTILE.map((v) => [JSON.stringify(v).slice(0, 40), v]))("refuses %s at its line, writing nothing", async (_label, value) => {
    const result = await compileText(topology(make(value)));
    expect(result.code).toBe(2);
    const line = anchor === "hosts:" ? lineOf(result.text, "hosts:") + 1 : lineOf(result.text, anchor);
    expect(result.stderr).toMatch(new RegExp(`^${result.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/topology\\.yml:${line}:\\d+: error: `, "m"));
    // No value breaks out of its diagnostic: every line is a header, a source line or a caret.
    for (const printed of result.stderr.slice(0, -1).split("\n")) expect(printed).toMatch(/^(\/\S*topology\.yml:\d+:\d+: error: | {2})/);
    expect(sh("ls", [result.dir]).stdout).toBe("topology.yml\n");
  });
});

/** systemd's reading of an ExecStart= line (systemd.syntax(7), systemd.service(5)), for the check. */
function splitExecStart(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    let word = "";
    if (line[i] === '"') {
      for (i++; line[i] !== '"'; i++) word += line[i] === "\\" ? line[++i] : line[i];
      i++;
    } else for (; i < line.length && line[i] !== " "; i++) word += line[i];
    words.push(word.replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return words;
}

describe("docker args", () => {
  const printable = HOSTILE.filter((v) => !/[\u0000-\u001f\u2028]/.test(v) && v.length < 1024);

  it("are written so that systemd reads back exactly what the topology says", async () => {
    const result = await compileText(topology({ args: printable.map(yamlString).join(", ") }));
    expect(result.stderr).toBe("");
    const dropIn = readFileSync(join(result.dir, "out/docker1/etc/systemd/system/docker.service.d/gre-gen.conf"), "utf8");
    const execStart = dropIn.split("\n").find((l) => /^ExecStart=./.test(l))!.slice("ExecStart=".length);
    expect(splitExecStart(execStart)).toEqual(["dockerd", ...printable, "--bridge=newbridge", "--fixed-cidr=10.11.12.64/26", "--mtu=1462"]);
    if (!hasTool("systemd-analyze")) return;
    const dir = tempDir();
    writeFileSync(join(dir, "dockerd"), "#!/bin/sh\n");
    chmodSync(join(dir, "dockerd"), 0o755);
    writeFileSync(join(dir, "docker.service"), `[Service]\nType=notify\nExecStart=${dir}/dockerd\n`);
    mkdirSync(join(dir, "docker.service.d"));
    writeFileSync(join(dir, "docker.service.d/gre-gen.conf"), dropIn.replace("ExecStart=dockerd", `ExecStart=${dir}/dockerd`).replace(/^ExecStartPre=\S+/m, `ExecStartPre=${dir}/dockerd`));
    const verify = sh("systemd-analyze", ["verify", "--man=no", join(dir, "docker.service")]);
    expect(verify.output).toBe("");
  });

  it.each(HOSTILE.filter((v) => !printable.includes(v)).map((v) => [JSON.stringify(v).slice(0, 30), v]))("refuses %s", async (_label, value) => {
    const result = await compileText(topology({ args: `"-H", ${yamlString(value)}` }));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`topology\\.yml:${lineOf(result.text, "args:")}:\\d+: error: docker\\.args\\[1\\]`));
  });
});

describe("the quoting helpers", () => {
  const words = [...HOSTILE.filter((v) => !v.includes("\u0000")), "", "plain", "a\\b", "$HOME", "%h", "!", "*", "~root"];

  it("shellQuote: bash reads back every word exactly", (ctx) => {
    needs(ctx, { tools: ["bash"] });
    for (const word of words) expect(sh("bash", ["-c", `printf %s ${shellQuote(word)}`]).stdout, JSON.stringify(word)).toBe(word);
  });

  it("unitQuote: systemd's splitting reads back every printable word exactly", () => {
    for (const word of words.filter((w) => !/[\u0000-\u001f\u2028]/.test(w) && w !== ""))
      expect(splitExecStart(unitQuote(word)), JSON.stringify(word)).toEqual([word]);
  });
});
