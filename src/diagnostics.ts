/** Diagnostics: every problem a user can cause, with its place in the topology file (SPEC §1). */

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** How many characters of the source line the problem spans (at least 1). */
  length: number;
  severity: "error" | "warning";
  code: string;
  message: string;
  /** The offending source line, without its line break. */
  source?: string;
}

/** A problem with a whole file (unreadable, unwritable): it points at its start. */
export function fileError(file: string, message: string): Diagnostic {
  return { file, line: 1, column: 1, length: 1, severity: "error", code: "io", message };
}

/** The operating system's refusals, in the words a message uses (Node's own text is terse). */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "it is a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EEXIST: "it already exists",
  ELOOP: "it is a symbolic link",
  ENAMETOOLONG: "the path is too long",
};

/** Why a file-system call failed, as a message says it. */
export function systemReason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return (e.code !== undefined && SYSTEM_ERRORS[e.code]) || e.message;
}

/** A value as a message shows it: quoted, cut short, control characters escaped. */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const shown = text === undefined ? "nothing" : text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `'${shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
}

export type DiagnosticFormat = "text" | "json" | "github";

/** Thrown for a problem the user can fix; the CLI prints it and exits 2, never with a stack trace. */
export class UserError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("\n"));
  }
}

/** In file order, so a reader walks the file once. */
export function formatDiagnostics(unsorted: Diagnostic[], format: DiagnosticFormat): string {
  const diagnostics = [...unsorted].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  if (format === "json") return JSON.stringify(diagnostics.map(withoutSource), null, 2) + "\n";
  const render = format === "github" ? formatGithub : formatText;
  return diagnostics.map(render).join("");
}

function withoutSource({ source: _source, ...rest }: Diagnostic): Omit<Diagnostic, "source"> {
  return rest;
}

/** Long source lines are cut to a window around the column, so a caret still points at it. */
const MAX_SHOWN = 120;

/** A file name as a terminal shows it: control characters (an escape sequence, a line break) escaped. */
function printableName(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

function formatText(d: Diagnostic): string {
  let text = `${printableName(d.file)}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`;
  if (d.source === undefined || d.source.trim() === "") return text;
  let visible = d.source.replace(/[\t\u0000-\u001f\u007f]/g, " ");
  let column = d.column;
  if (visible.length > MAX_SHOWN) {
    const start = Math.max(0, Math.min(column - 1 - MAX_SHOWN / 2, visible.length - MAX_SHOWN));
    visible = (start > 0 ? "…" : "") + visible.slice(start, start + MAX_SHOWN) + (start + MAX_SHOWN < visible.length ? "…" : "");
    column = column - start + (start > 0 ? 1 : 0);
  }
  const marks = "^" + "~".repeat(Math.max(0, Math.min(d.length, visible.length - column + 1) - 1));
  return text + `  ${visible}\n  ${" ".repeat(Math.max(0, column - 1))}${marks}\n`;
}

/** GitHub Actions workflow commands: an annotation on the exact line of the pull request. */
function formatGithub(d: Diagnostic): string {
  const escapeData = (s: string) => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
  const escapeProperty = (s: string) => escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
  const endColumn = d.column + Math.max(1, d.length);
  return `::${d.severity} file=${escapeProperty(d.file)},line=${d.line},col=${d.column},endColumn=${endColumn},title=${escapeProperty(`gre-gen ${d.code}`)}::${escapeData(d.message)}\n`;
}
