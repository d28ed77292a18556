/** Reading the topology file: bytes to a YAML document that remembers where every node came from. */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair } from "yaml";
import { quote, type Diagnostic } from "./diagnostics.js";

/** Large enough for thousands of hosts; a file beyond it is almost surely not a topology. */
export const MAX_TOPOLOGY_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 100;

export interface TopologySource {
  /** The name diagnostics show: the path as the user gave it. */
  file: string;
  text: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** Keys the file repeats, each where it repeats; the document keeps only the first of each. */
  duplicates: { parent: PathSegment[]; diagnostic: Diagnostic }[];
}

export type PathSegment = string | number;

/**
 * Parses the file's bytes; returns the document, or the diagnostics of why it cannot be read.
 * A repeated key leaves the document usable: with `keepDuplicates` the source comes back with
 * them listed (so later checks still run), else they are the diagnostics.
 */
export function parseSource(file: string, bytes: Uint8Array, options: { keepDuplicates?: boolean } = {}): TopologySource | Diagnostic[] {
  const whole = (message: string, code: string, offset = 0, text = ""): Diagnostic[] => [
    diagnosticAt({ file, text, lineCounter: lineCounterOf(text) }, offset, 1, code, message),
  ];
  if (bytes.length > MAX_TOPOLOGY_BYTES)
    return whole(`file is larger than ${MAX_TOPOLOGY_BYTES} bytes, the most a topology or lock may hold`, "file-too-large");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    // Everything before the bad byte is good UTF-8, so its length in characters is its column.
    const before = new TextDecoder().decode(bytes.subarray(0, offset));
    const shown = before + new TextDecoder().decode(bytes.subarray(offset)); // U+FFFD stands in for what is not UTF-8
    return whole(`file is not UTF-8 text (invalid byte 0x${bytes[offset]!.toString(16).padStart(2, "0")} at byte offset ${offset})`, "not-utf8", before.length, shown);
  }
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(text);
  if (control) return whole(`file holds a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, "0")}); is it binary?`, "binary", control.index, text);
  // The parser's own line counter misses the line breaks inside a token it gives up on (a plain
  // scalar that runs over lines in a broken file): positions come from the text itself.
  const lineCounter = lineCounterOf(text);
  let doc: Document.Parsed;
  try {
    // Repeated keys are found by dropDuplicateKeys below, in one pass: the parser's own check
    // compares every key of a mapping with every other, which a fleet's hosts feel. Warnings are
    // not printed by the parser: every problem it could warn of is an error here.
    doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, merge: false, strict: true, logLevel: "error" });
  } catch (error) {
    if (error instanceof RangeError) return whole("the YAML is nested too deeply", "too-deep", 0, text);
    throw error;
  }
  const source: TopologySource = { file, text, doc, lineCounter, duplicates: [] };
  // A line indented deeper than its key's siblings gives two errors at one place: one is said.
  const multiline = new Set(doc.errors.filter((e) => e.code === "MULTILINE_IMPLICIT_KEY").map((e) => e.pos[0]));
  const deeper = new Set(doc.errors.filter((e) => e.code === "BLOCK_AS_IMPLICIT_KEY" && multiline.has(e.pos[0])).map((e) => e.pos[0]));
  const problems = doc.errors
    .filter((e) => !(e.code === "MULTILINE_IMPLICIT_KEY" && deeper.has(e.pos[0])))
    .map((e) =>
      /call stack/i.test(e.message)
        ? diagnosticAt(source, e.pos[0], 1, "too-deep", "the YAML is nested too deeply")
        : misaligned(e)
          ? diagnosticAt(source, e.pos[0] + /^ */.exec(text.slice(e.pos[0]))![0].length, 1, "yaml", yamlMessage(e, false))
          : diagnosticAt(source, e.pos[0], e.pos[1] - e.pos[0], "yaml", yamlMessage(e, deeper.has(e.pos[0]))),
    );
  problems.push(...foreignTags(source));
  source.duplicates = dropDuplicateKeys(source, doc.contents, []);
  if (problems.length > 0) return [...problems, ...source.duplicates.map((d) => d.diagnostic)];
  if (source.duplicates.length > 0 && !options.keepDuplicates) return source.duplicates.map((d) => d.diagnostic);
  return source;
}

/** The tags of plain data: anything else (`!!binary`, `!!set`, `!custom`) reads as something a topology never holds. */
const DATA_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((name) => `tag:yaml.org,2002:${name}`));

function foreignTags(source: TopologySource): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(source.doc, (_key, node) => {
    if (isNode(node) && node.tag !== undefined && !DATA_TAGS.has(node.tag) && node.range) {
      // The node's range starts at its value; the tag is written just before it.
      const before = source.text.slice(Math.max(0, node.range[0] - 200), node.range[0]);
      const tag = /(![^\s]*)\s*$/.exec(before);
      const offset = tag ? node.range[0] - before.length + tag.index : node.range[0];
      const written = tag?.[1] ?? node.tag;
      found.push(diagnosticAt(source, offset, written.length, "yaml-tag", `the YAML tag ${written} is not for a topology; write the value without it`));
    }
  });
  return found;
}

/**
 * Keeps the first of each repeated key (where every later diagnostic points), reporting the rest.
 * YAML tells `1` from `"1"` (and `true` from `"true"`, `0x10` from `16`), but once read they are
 * the same key too, and one value would silently replace the other: a host would be lost.
 */
function dropDuplicateKeys(source: TopologySource, node: unknown, path: PathSegment[]): TopologySource["duplicates"] {
  const found: TopologySource["duplicates"] = [];
  if (isSeq(node)) node.items.forEach((item, index) => found.push(...dropDuplicateKeys(source, item, [...path, index])));
  if (!isMap(node)) return found;
  const first = new Map<string, Pair>();
  node.items = node.items.filter((pair) => {
    if (!isScalar(pair.key) || !pair.key.range) return true;
    const key = String(pair.key.value);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, pair);
      found.push(...dropDuplicateKeys(source, pair.value, [...path, key]));
      return true;
    }
    const [start, end] = pair.key.range;
    const earlierKey = earlier.key as Node & { value: unknown; range: [number, number, number] };
    const written = (range: readonly number[]) => source.text.slice(range[0], range[1]);
    const message =
      earlierKey.value === pair.key.value
        ? `${quote(key)} is already a key here (line ${source.lineCounter.linePos(earlierKey.range[0]).line}); each key may appear once, so this one is left out until it is renamed or removed`
        : `key ${written(pair.key.range)} is the same key as ${written(earlierKey.range)} once read (both are ${quote(key)}); write each key once`;
    found.push({ parent: path, diagnostic: diagnosticAt(source, start, end - start, "duplicate-key", message) });
    return false;
  });
  return found;
}

/** The plain data of the document; aliases expand, but a bomb of them is refused. */
export function toData(source: TopologySource): { data: unknown } | { diagnostics: Diagnostic[] } {
  try {
    return { data: source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (error) {
    if (error instanceof RangeError) return { diagnostics: [diagnosticAt(source, 0, 1, "too-deep", "the YAML is nested too deeply")] };
    if (error instanceof ReferenceError || (error instanceof Error && /alias/i.test(error.message)))
      return { diagnostics: [diagnosticAt(source, 0, 1, "alias-bomb", `the YAML expands aliases more than ${MAX_ALIAS_COUNT} times; write the values out`)] };
    throw error;
  }
}

/** A mapping's key at a column of its own (BAD_INDENT also names an unclosed bracket). */
function misaligned(error: { code: string; message: string }): boolean {
  return error.code === "BAD_INDENT" && /mapping items must start at the same column/i.test(error.message);
}

/** The parser's words, except where they would not name the mistake: indentation. */
function yamlMessage(error: { code: string; message: string }, deeper: boolean): string {
  if (deeper) return "the next line is indented deeper than the key before this value, so YAML reads it as part of the value; indent it like that key";
  if (error.code === "BLOCK_AS_IMPLICIT_KEY") return "a value cannot be 'key: value' on the same line; put a mapping on lines of its own, indented below its key";
  if (misaligned(error)) return "this line is indented unlike the keys it sits among; line it up with them";
  if (error.code === "MULTIPLE_DOCS") return "a topology is one YAML document, and this '---' starts a second; keep one";
  const first = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

function lineCounterOf(text: string): LineCounter {
  const counter = new LineCounter();
  counter.addNewLine(0);
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") counter.addNewLine(i + 1);
  return counter;
}

/** The offset where the first ill-formed UTF-8 sequence (RFC 3629) starts: a stray byte, or a lead byte whose sequence breaks off. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const [length, low, high] =
      lead < 0x80 ? [1, 0, 0] : lead >= 0xc2 && lead <= 0xdf ? [2, 0x80, 0xbf] : lead === 0xe0 ? [3, 0xa0, 0xbf] : lead === 0xed ? [3, 0x80, 0x9f]
      : lead >= 0xe1 && lead <= 0xef ? [3, 0x80, 0xbf] : lead === 0xf0 ? [4, 0x90, 0xbf] : lead >= 0xf1 && lead <= 0xf3 ? [4, 0x80, 0xbf] : lead === 0xf4 ? [4, 0x80, 0x8f] : [0, 0, 0];
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      if (byte === undefined || byte < (k === 1 ? low : 0x80) || byte > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return bytes.length;
}

/**
 * The keys of the mapping at `path` that are names as written, and an error at every other key:
 * one YAML reads as something else (`01` is the number 1, `1e3` is 1000, `null` is no name) must be
 * quoted, and a list or mapping is no name at all. `names` is undefined when there is no mapping.
 */
export function namesAsWritten(source: TopologySource, path: readonly PathSegment[], what: string): { names?: Set<string>; diagnostics: Diagnostic[] } {
  let node: unknown = source.doc.contents;
  for (const segment of path) node = child(node, segment)?.[1];
  const diagnostics: Diagnostic[] = [];
  if (!isMap(node)) return { diagnostics };
  const names = new Set<string>();
  for (const pair of node.items) {
    const key = pair.key;
    if (isScalar(key) && typeof key.value === "string") names.add(key.value);
    else if ((isMap(key) || isSeq(key)) && key.range) diagnostics.push(diagnosticAt(source, key.range[0], 1, "name-not-text", `${what} must be text, not a ${isMap(key) ? "mapping" : "list"}`));
    else if (isScalar(key) && key.range) {
      const written = source.text.slice(key.range[0], key.range[1]);
      const read = key.value === null ? "no name at all" : `the ${typeof key.value} ${String(key.value)}`;
      diagnostics.push(diagnosticAt(source, key.range[0], written.length, "name-not-text", `${what} ${written} is read by YAML as ${read}; quote it ("${written}") to keep the name as written`));
    }
  }
  return { names, diagnostics };
}

/** A diagnostic at a character offset of the source text. */
export function diagnosticAt(
  source: Pick<TopologySource, "file" | "text" | "lineCounter">,
  offset: number,
  length: number,
  code: string,
  message: string,
): Diagnostic {
  const { line, col } = source.lineCounter.linePos(Math.min(offset, source.text.length));
  const lineText = source.text.split("\n")[line - 1]?.replace(/\r$/, "");
  return { file: source.file, line, column: col, length: Math.max(1, length), severity: "error", code, message, source: lineText };
}

/**
 * A diagnostic at the node a data path names (`["hosts", "docker1", "bridge_ip"]`): its key when
 * `at` is "key", else its value. A path that leads nowhere (a missing key) points at the
 * deepest node that exists.
 */
export function diagnosticAtPath(source: TopologySource, path: readonly PathSegment[], code: string, message: string, at: "key" | "value" = "value"): Diagnostic {
  const [start, end] = rangeOf(source, path, at);
  const lineEnd = source.text.indexOf("\n", start);
  const span = Math.min(end, lineEnd === -1 ? end : lineEnd) - start;
  return diagnosticAt(source, start, span, code, message);
}

function rangeOf(source: TopologySource, path: readonly PathSegment[], at: "key" | "value"): [number, number] {
  let node: unknown = source.doc.contents;
  let keyNode: Node | undefined;
  for (const segment of path) {
    const next = child(node, segment);
    if (!next) return rangeOfNode(keyNode ?? (node as Node)) ?? [0, 1];
    [keyNode, node] = next;
  }
  const target = at === "key" && keyNode ? keyNode : (node as Node | undefined) ?? keyNode;
  return rangeOfNode(target) ?? [0, 1];
}

function child(node: unknown, segment: PathSegment): [Node | undefined, unknown] | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    return pair ? [pair.key as Node, pair.value ?? pair.key] : undefined;
  }
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment];
    return item === undefined ? undefined : [undefined, item];
  }
  return undefined;
}

function rangeOfNode(node: Node | undefined): [number, number] | undefined {
  if (!node || (!isScalar(node) && !isMap(node) && !isSeq(node) && !isAlias(node))) return undefined;
  const range = node.range;
  if (!range) return undefined;
  return [range[0], isScalar(node) || isAlias(node) ? range[1] : range[0] + 1];
}
