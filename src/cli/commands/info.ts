import { openCatalog, resolveTarget } from "../../lifecycle/catalog.js";
import { type ModelInfo, modelInfo } from "../../lifecycle/info.js";
import { humanBytes } from "../../progress/format.js";
import { parseCommandArgs, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, lockOptionOf } from "../lock-option.js";
import { LOCK_OPTIONS_USAGE } from "../locking.js";
import { printJson, printLines, table } from "../print.js";

const usage = `nix-model-repo info NAME|PATH [options]

Shows one model without asking its source: where it came from and what that resolved
to, its files with sizes and sha256, the store paths it is made of with their NAR
hashes (the raw output's is the \`hash = ...\` of a single-hash fetchModel), the
validation report, the garbage-collector roots that keep it, and the other models that
share its bytes.

  NAME   a lockfile entry, else the model of that name \`list\` shows
  PATH   a model's store path, or a link to one (./result); kept by a root or not

options:
${LOCK_OPTIONS_USAGE}

exit status:
  0   shown
  1   asking Nix failed
  2   usage error, no such model, or the lockfile given with --lock cannot be read`;

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
    });
    if (positionals.length !== 1) throw usageError("info takes one NAME or PATH", usage);
    const catalog = await openCatalog(lockOptionOf(values.lock));
    const info = await modelInfo(await resolveTarget(positionals[0]!, catalog), catalog);
    if (values.json) printJson(info);
    else printLines(text(info));
    return 0;
  },
};

function text(info: ModelInfo): string[] {
  const lines = [
    `${info.name}${info.lockEntry === null ? "" : ` (lock entry ${info.lockEntry})`}`,
    `  source:     ${info.source}`,
    `  resolved:   ${
      Object.entries(info.resolved)
        .map(([key, value]) => `${key} ${value}`)
        .join(", ") || "-"
    }`,
    `  layout:     ${info.layout}`,
    `  store path: ${info.storePath ?? "not built"}`,
    ...(info.rawPath === null ? [] : [`  raw:        ${info.rawPath}`]),
    ...(info.hash === null ? [] : [`  hash:       ${info.hash}   (the raw output's NAR hash: fetchModel's hash)`]),
    `  size:       ${humanBytes(info.bytes)} in ${info.paths.filter((path) => path.inStore).length} store path(s)`,
    "",
    `files (${info.files.length}):`,
    ...indent(
      table(
        ["PATH", "SIZE", "SHA256", ...(info.lockEntry === null ? [] : ["STORED AS"])],
        info.files.map((file) => [
          file.path,
          humanBytes(file.size),
          file.sha256,
          ...(info.lockEntry === null ? [] : [file.storePath ?? (file.large === false ? "with the small files" : "-")]),
        ]),
      ),
    ),
    "",
    "store paths:",
    ...indent(
      table(
        ["PATH", "ROLE", "NAR HASH", "SIZE"],
        info.paths.map((path) => [
          path.path,
          path.role,
          path.inStore ? (path.narHash ?? "-") : "not in the store",
          path.narSize === null ? "-" : humanBytes(path.narSize),
        ]),
      ),
    ),
    "",
    ...validationLines(info),
    "",
    "kept by:",
    ...(info.roots.length === 0
      ? ["  nothing: the next garbage collection deletes it (pin it: nix-model-repo gc pin)"]
      : info.roots.map((root) => `  ${root.link} -> ${root.path}`)),
    "",
    "shared with:",
    ...(info.sharing.length === 0
      ? ["  no other model the store keeps has any of its bytes"]
      : info.sharing.map((other) => {
          const stored =
            other.sharedPaths.length > 0
              ? `${other.sharedPaths.length} store path(s), ${humanBytes(other.sharedBytes)} stored once`
              : "";
          const same = other.sameContent.length > 0 ? `${other.sameContent.length} file(s) with the same bytes` : "";
          return `  ${other.name} (${other.storePath}): ${[stored, same].filter(Boolean).join("; ")}`;
        })),
  ];
  return lines;
}

function validationLines(info: ModelInfo): string[] {
  if (info.validation === null) {
    return [
      info.storePath === null || info.rawPath === null
        ? "validation: no report (not validated, or not built)"
        : "validation: no report",
    ];
  }
  const report = info.validation;
  return [
    `validation: ${report.result}${report.preset === null ? "" : ` (preset ${report.preset})`}`,
    ...report.validators.flatMap((validator) => [
      `  ${validator.name}: ${validator.status}`,
      ...validator.findings.map((finding) => `    ${finding.file ?? "(model)"}: ${finding.reason}`),
      ...(validator.findingsOmitted > 0 ? [`    … ${validator.findingsOmitted} more`] : []),
    ]),
  ];
}

function indent(lines: readonly string[]): string[] {
  return lines.map((line) => `  ${line}`);
}

export default command;
