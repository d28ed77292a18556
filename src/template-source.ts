/**
 * Where compiled templates come from. Here: templates/*.hbs, read and compiled on first use. The
 * bundled CLI replaces this module with one holding the same templates precompiled at bundle
 * time (scripts/bundle.js), so it needs only Handlebars' small runtime.
 */
import Handlebars from "handlebars";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Template = (context: object) => string;

/** strict: a missing value throws; noEscape: the outputs are config files, not HTML. */
export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

const TEMPLATE_ROOT = fileURLToPath(new URL("../templates/", import.meta.url));

export function createHandlebars(): typeof Handlebars {
  return Handlebars.create();
}

export function loadCompiled(hbs: typeof Handlebars, name: string): Template {
  return hbs.compile(readFileSync(TEMPLATE_ROOT + name, "utf8"), COMPILE_OPTIONS);
}
