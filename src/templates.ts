/** The one Handlebars instance: strict (a missing value throws), no HTML escaping, helpers in one place. */
import { parse } from "yaml";
import { createHandlebars, loadCompiled, type Template } from "./template-source.js";

export type { Template };

/** Shell words need no quotes when they are only these characters. */
const SHELL_SAFE = /^[A-Za-z0-9_./:=,@+%-]+$/;
/** Likewise for a word of a unit file's ExecStart= (systemd.service(5), "Command lines"). */
const UNIT_SAFE = /^[A-Za-z0-9_./:=,@+-]+$/;

/** POSIX single quotes: nothing inside them is special, and a quote is closed, escaped, reopened. */
export function shellQuote(word: string): string {
  return SHELL_SAFE.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A word of ExecStart=: double quotes with C escapes; `%` and `$` doubled so systemd expands nothing. */
export function unitQuote(word: string): string {
  if (UNIT_SAFE.test(word)) return word;
  const escaped = word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return `"${escaped}"`;
}

/**
 * A file name as a generated comment cites it: printable ASCII as is, every other character
 * (a line break, a Unicode line separator, a backslash that ifupdown or systemd would read as a
 * line continuation) as an escape, so no byte of a name can end the comment or start a command.
 */
export function citeName(name: string): string {
  let cited = "";
  for (const char of name) {
    const code = char.codePointAt(0)!;
    cited += code >= 0x20 && code < 0x7f && char !== "\\" ? char : code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  }
  return cited;
}

/** A name that starts with a letter is a string to YAML's core schema unless it is one of these words. */
const PLAIN_KEY = /^(?!(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$)[A-Za-z][A-Za-z0-9_.-]*$/;

/** A name as a YAML key: quoted where YAML would read the bare name as anything else (`01`, `1e3`, `null`). */
export function yamlKey(name: string): string {
  // The pattern spares a thousand-host lock a parse per name; the parser decides every other name.
  return PLAIN_KEY.test(name) || parse(name) === name ? name : JSON.stringify(name);
}

type Instance = ReturnType<typeof createHandlebars>;

function createInstance(): Instance {
  const hbs = createHandlebars();
  hbs.registerHelper("sh", (word: unknown) => shellQuote(String(word)));
  hbs.registerHelper("unitArg", (word: unknown) => unitQuote(String(word)));
  hbs.registerHelper("yamlKey", (name: unknown) => yamlKey(String(name)));
  hbs.registerHelper("cite", (name: unknown) => citeName(String(name)));
  hbs.registerPartial("header", loadCompiled(hbs, "partials/header.hbs") as never);
  hbs.registerPartial("docker-config", loadCompiled(hbs, "partials/docker-config.hbs") as never);
  return hbs;
}

let instance: Instance | undefined;
const compiled = new Map<string, Template>();

/** A template by its path under templates/, compiled once. */
export function loadTemplate(name: string): Template {
  let template = compiled.get(name);
  if (!template) {
    instance ??= createInstance();
    template = loadCompiled(instance, name);
    compiled.set(name, template);
  }
  return template;
}
