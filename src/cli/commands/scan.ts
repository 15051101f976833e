import type { Command } from "../command.js";
import { parseCommandArgs, usageError } from "../args.js";
import { UserError } from "../../errors/user-error.js";
import {
  EXIT_CODES,
  ScanInputError,
  exitCodeForVerdict,
  renderReportJson,
  renderReportText,
  scanPaths,
  type ScanReport,
} from "../../scan/index.js";

const usage = `usage: nix-model-repo scan PATH... [--json] [--problems-only]

Scans model files and directories for code that runs when the model is loaded (pickle
imports and calls, Keras Lambda layers, chat-template injection) and for malformed
safetensors, GGUF, zip and NumPy files. Directories are walked recursively; symlinks are
followed while they stay inside the directory (a Hugging Face cache folder is reported by
its snapshot paths, each blob once). Formats are recognised by content, not by name.

options:
  --json             print the report as JSON (reportVersion 1, see docs/scan.md)
  --problems-only    in the text output, omit files with nothing to report

exit status (the worst verdict over all files):
  ${EXIT_CODES.SAFE}   SAFE       every file passed
  ${EXIT_CODES.WARN}  WARN       unknown but not known-dangerous content (e.g. a custom class)
  ${EXIT_CODES.INVALID}  INVALID    malformed, truncated or over a resource limit: not verified
  ${EXIT_CODES.MALICIOUS}  MALICIOUS  content that runs code or attacks loaders/scanners
  2   usage error (bad option, missing or unreadable PATH)
  1   internal error`;

const scan: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      json: { type: "boolean", default: false },
      "problems-only": { type: "boolean", default: false },
    });
    if (positionals.length === 0) {
      throw usageError("scan needs at least one PATH", usage);
    }
    let report: ScanReport;
    try {
      report = await scanPaths(positionals);
    } catch (error) {
      if (error instanceof ScanInputError) {
        throw new UserError(
          { what: `Cannot scan ${error.path}`, cause: error.reason, fix: ["check the path exists and is readable"] },
          { exitCode: 2, cause: error },
        );
      }
      throw error;
    }
    process.stdout.write(
      values.json ? renderReportJson(report) : renderReportText(report, { showSafe: !values["problems-only"] }),
    );
    return exitCodeForVerdict(report.verdict);
  },
};

export default scan;
