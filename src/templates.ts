/** The one Handlebars instance: strict (a missing value throws), no HTML escaping, helpers in one place. */
import Handlebars from "handlebars";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Template = (context: object) => string;

const TEMPLATE_ROOT = fileURLToPath(new URL("../templates/", import.meta.url));

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

function createInstance(): typeof Handlebars {
  const hbs = Handlebars.create();
  hbs.registerHelper("sh", (word: unknown) => shellQuote(String(word)));
  hbs.registerHelper("unitArg", (word: unknown) => unitQuote(String(word)));
  hbs.registerPartial("header", readTemplate("partials/header.hbs"));
  return hbs;
}

function readTemplate(name: string): string {
  return readFileSync(TEMPLATE_ROOT + name, "utf8");
}

let instance: typeof Handlebars | undefined;
const compiled = new Map<string, Template>();

/** A template by its path under templates/, compiled once. */
export function loadTemplate(name: string): Template {
  let template = compiled.get(name);
  if (!template) {
    instance ??= createInstance();
    template = instance.compile(readTemplate(name), { strict: true, noEscape: true });
    compiled.set(name, template);
  }
  return template;
}
