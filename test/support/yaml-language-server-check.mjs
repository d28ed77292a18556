// Validates a YAML file the way an editor with yaml-language-server does: the schema comes from
// the file's own `# yaml-language-server: $schema=` line, resolved beside it. Prints the
// diagnostics as JSON: [[line, message], ...]. (Run as its own process: under the test runner's
// module loader the language service reports nothing.)
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { TextDocument } from "vscode-languageserver-textdocument";
import { getLanguageService } from "yaml-language-server";

const file = process.argv[2];
const service = getLanguageService({
  workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).href },
  schemaRequestService: async (uri) => readFileSync(new URL(uri), "utf8"),
});
service.configure({ validate: true, completion: true });
const document = TextDocument.create(pathToFileURL(file).href, "yaml", 1, readFileSync(file, "utf8"));
const diagnostics = await service.doValidation(document, false);
console.log(JSON.stringify(diagnostics.map((d) => [d.range.start.line + 1, d.message])));
