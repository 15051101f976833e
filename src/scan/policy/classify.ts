import { quote } from "../text.js";
import { KNOWN_GLOBALS, SAFE_GLOBALS, isTorchScriptGlobal } from "./allowlist.js";
import { DANGEROUS_NAMES, DENIED_QUALIFIED, NESTED_LOADER_NAMES, moduleIsDenied } from "./denylist.js";

/**
 * The import policy. SAFE only by exact allowlist entry; an unknown import is WARN; it is
 * MALICIOUS when the denylist names it, or when its shape is one no legitimate pickle needs and
 * every published bypass uses: a dotted name (walks from an innocent module into another), a
 * dunder component (`__builtins__`, `__globals__`), a private module (`_io`, `torch._inductor`),
 * non-ASCII or non-identifier names, or operands computed at run time.
 */
export interface ImportVerdict {
  readonly verdict: "SAFE" | "WARN" | "MALICIOUS";
  /** Finding code; empty for SAFE. */
  readonly code: string;
  readonly reason: string;
}

const SAFE: ImportVerdict = { verdict: "SAFE", code: "", reason: "allowlisted" };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DUNDER = /^__.+__$/;

/** Where the pickle is read: by Python's unpickler, or by TorchScript's C++ one (torch.jit.load). */
export type PickleContext = "python" | "torchscript";

export function classifyImport(
  module: string,
  name: string,
  computed = false,
  context: PickleContext = "python",
): ImportVerdict {
  if (computed) {
    return {
      verdict: "MALICIOUS",
      code: "COMPUTED_IMPORT",
      reason: "STACK_GLOBAL operands are results of imports or calls, not literal strings (laundered import)",
    };
  }
  const moduleParts = module.split(".");
  const nameParts = name.split(".");
  if (![...moduleParts, ...nameParts].every((part) => IDENTIFIER.test(part))) {
    return {
      verdict: "MALICIOUS",
      code: "MALFORMED_IMPORT",
      reason: "module or name is not a plain ASCII dotted identifier",
    };
  }
  const qualified = `${module}.${name}`;
  if (SAFE_GLOBALS.has(qualified)) return SAFE;
  if (context === "torchscript" && isTorchScriptGlobal(module, name)) return SAFE;
  if (KNOWN_GLOBALS.has(qualified)) {
    return {
      verdict: "WARN",
      code: "KNOWN_IMPORT",
      reason: "seen in ordinary checkpoints, but not in the strict allowlist",
    };
  }
  const deniedModule = moduleIsDenied(module);
  const leaf = nameParts[nameParts.length - 1]!;
  if (deniedModule !== undefined || DENIED_QUALIFIED.has(qualified)) {
    const loader = NESTED_LOADER_NAMES.has(leaf);
    return {
      verdict: "MALICIOUS",
      code: loader ? "NESTED_LOADER" : "DENYLISTED_IMPORT",
      reason: loader
        ? "loads a second pickle or model with full privileges"
        : deniedModule !== undefined
          ? `module ${quote(deniedModule)} can run code or touch the system`
          : "on the denylist",
    };
  }
  if (nameParts.length > 1) {
    const walksInto = nameParts.slice(0, -1).find((part) => moduleIsDenied(part) !== undefined);
    return {
      verdict: "MALICIOUS",
      code: "DOTTED_IMPORT",
      reason:
        "dotted name: at protocol 4+ it walks attributes from this module into any other" +
        (walksInto !== undefined ? ` (here into ${quote(walksInto)})` : ""),
    };
  }
  if (DANGEROUS_NAMES.has(leaf)) {
    return {
      verdict: "MALICIOUS",
      code: NESTED_LOADER_NAMES.has(leaf) ? "NESTED_LOADER" : "DANGEROUS_NAME_IMPORT",
      reason: `${quote(leaf)} is a dangerous function name, whichever module re-exports it`,
    };
  }
  const isMain = module === "__main__";
  if (nameParts.some((part) => DUNDER.test(part)) || (!isMain && moduleParts.some((part) => DUNDER.test(part)))) {
    return { verdict: "MALICIOUS", code: "DUNDER_IMPORT", reason: "dunder name reaches interpreter internals" };
  }
  if (moduleParts.some((part) => part.startsWith("_") && !DUNDER.test(part))) {
    return {
      verdict: "MALICIOUS",
      code: "PRIVATE_MODULE_IMPORT",
      reason: "private module: internal API, not a model class",
    };
  }
  if (isMain) {
    return {
      verdict: "WARN",
      code: "MAIN_MODULE_IMPORT",
      reason: "a class from the saving script's __main__; it resolves to whatever the loading script defines",
    };
  }
  return {
    verdict: "WARN",
    code: "UNKNOWN_IMPORT",
    reason: "not in the allowlist; loading it runs that library's code",
  };
}
