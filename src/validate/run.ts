import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson } from "../util/canonical-json.js";
import { UserError } from "../errors/user-error.js";
import { logger } from "../util/log.js";
import { describeValidator, resultLines } from "./messages.js";
import { validationReport, validatorReport } from "./report.js";
import { runBuiltinValidator } from "./run-builtin.js";
import { runCommandValidator } from "./run-command.js";
import type { CheckResult, ValidationConfig, ValidationReport, ValidatorConfig, ValidatorReport } from "./types.js";
import { openModelView, type ModelView } from "./view.js";

export interface RunValidationOptions {
  /** How to start the fetcher again for built-in checks; default this process's [node, script]. */
  readonly selfCommand?: readonly string[];
  /** Where log lines go; default the logger (stderr): notes at info level, a validator's warning at warn. */
  readonly log?: (line: string, level?: "info" | "warn") => void;
  /** A path no validator may create (the build's $out). */
  readonly outGuard?: string;
  /** Parent of the private working directory; default $TMPDIR. */
  readonly tmpDir?: string;
}

export interface AbortedValidation {
  readonly validator: ValidatorConfig;
  readonly result: CheckResult;
  readonly timedOut: boolean;
}

export interface ValidationRun {
  readonly view: ModelView;
  readonly report: ValidationReport;
  /** The validator that stopped the build, when one failed with onFailure = "abort". */
  readonly aborted: AbortedValidation | undefined;
}

/**
 * Runs the validators in order on a raw output. The first failure with onFailure =
 * "abort" stops the run: later validators may load the model (a user's script running
 * torch.load), which is exactly what must not happen to a model a check refused.
 */
export async function runValidation(
  config: ValidationConfig,
  rawDir: string,
  options: RunValidationOptions = {},
): Promise<ValidationRun> {
  // Validators print what they find in the model (file names, strings): the logger shows them safely.
  const log = options.log ?? ((line: string, level: "info" | "warn" = "info") => logger[level](line));
  const view = await openModelView(rawDir, config.linkRoots);
  const workRoot = await mkdtemp(join(options.tmpDir ?? process.env["TMPDIR"] ?? tmpdir(), "nmr-validate-"));
  const selfCommand = options.selfCommand ?? defaultSelfCommand();
  const reports: ValidatorReport[] = [];
  let aborted: AbortedValidation | undefined;
  try {
    // The built-in checks run in child processes that read their validator from this file.
    const configFile = join(workRoot, "config.json");
    await writeFile(configFile, canonicalJson(config));
    const count = config.validators.length === 1 ? "1 validator" : `${config.validators.length} validators`;
    log(
      `validating ${config.name} (${config.preset !== null ? `preset ${config.preset}, ` : ""}${count}) in ${view.root}`,
    );

    for (const [index, validator] of config.validators.entries()) {
      log(describeValidator(validator));
      const workDir = join(workRoot, String(index));
      await mkdir(workDir);
      const onLine = (line: string) => log(`  [${validator.name}] ${line}`);
      const result =
        validator.kind === "builtin"
          ? await runBuiltinValidator(validator, { index, configFile, rawDir: view.raw, workDir, selfCommand, onLine })
          : await runCommandValidator(validator, {
              view,
              modelName: config.name,
              shell: config.shell!,
              workDir,
              onLine,
            });
      if (options.outGuard !== undefined && existsSync(options.outGuard)) {
        throw new UserError({
          what: `Validator ${validator.name} created the output path ${options.outGuard}`,
          fix: ["validators check the model; they must not write $out"],
        });
      }
      const report = validatorReport(validator, result);
      reports.push(report);
      // What a validator found that did not stop the build still shows under --quiet.
      const level = report.status === "warned" ? "warn" : "info";
      for (const line of resultLines(report, result.findings)) log(line, level);
      if (report.status === "failed") {
        aborted = { validator, result, timedOut: result.timedOut };
        break;
      }
    }
  } finally {
    await rm(workRoot, { recursive: true, force: true }).catch(() => undefined);
  }
  return { view, report: validationReport(config.preset, reports), aborted };
}

function defaultSelfCommand(): readonly string[] {
  const script = process.argv[1];
  if (script === undefined) throw new Error("internal error: cannot tell how this program was started");
  return [process.execPath, script];
}
