import type { Reporter } from "../findings.js";
import { quote } from "../text.js";

/**
 * Chat templates are Jinja. Rendered outside a sandbox (llama-cpp-python before 0.2.72,
 * CVE-2024-34359) a template reaches Python objects through dunder attributes; sandboxed
 * renderers block those, so no legitimate template needs them. Each marker below is a step of
 * the known server-side template injection chains.
 */
const MARKERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/__[A-Za-z0-9_]+__/, "dunder attribute access"],
  // Jinja unescapes string literals as Python's unicode-escape codec: every spelling of "_".
  [/\\x5f|\\u005f|\\U0000005f|\\137|\\N\{[^}]*\}/i, "escaped underscore or named escape (builds dunder names)"],
  [/\|\s*attr\s*\(/, "attr filter (attribute access by computed name)"],
  [/_TemplateReference__context|\bself\s*\.\s*_/, "template internals"],
  [/\b(?:lipsum|cycler|joiner|url_for|get_flashed_messages)\s*[.|[]/, "Jinja global used to reach Python globals"],
  [/\bnamespace\s*\.\s*_/, "namespace internals"],
  [/\bmro\s*\(|\bsubclasses\s*\(|\bglobals\s*\[|\bbuiltins\b/, "Python object model access"],
  [/\b(?:os|subprocess|sys|posix)\s*\.\s*\w/, "reference to a system module"],
  [/\b(?:popen|system|eval|exec|__import__|getattr|import_module)\s*\(/, "call of a code-execution function"],
  [/{%-?\s*(?:import|from|include|extends)\b/, "template loading statement"],
];

export function checkChatTemplate(template: string, where: string, reporter: Reporter, offset?: number): void {
  for (const [pattern, what] of MARKERS) {
    const match = pattern.exec(template);
    if (match) {
      reporter.report(
        "MALICIOUS",
        "CHAT_TEMPLATE_INJECTION",
        `${where}: ${what} ${quote(match[0], 40)}; chat templates never need it (Jinja template injection)`,
        offset,
      );
      return;
    }
  }
}
