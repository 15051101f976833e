import type { Command } from "../command.js";
import { integerFlag, parseCommandArgs, requiredFlags } from "../args.js";
import { canonicalJson } from "../../util/canonical-json.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import {
  readValidationConfig,
  runCheckInChild,
  runValidation,
  validationFailedError,
  writeValidatedOutput,
} from "../../validate/index.js";

const usage = `nix-model-repo validate [--config FILE] [--src DIR] [--out DIR]

Runs the validators of a validation config (written by fetchModel's validation phase,
docs/validation.md) on a raw model output, then writes the validated output to DIR:
symlinks into the raw output plus a .nix-model-repo-meta.json with the report. This is
the builder of the phase-2 derivation; by hand, leave out --out to print the report.

  --config FILE   the validation config (JSON); default: $configPath, which Nix sets
                  from the derivation's passAsFile = [ "config" ]
  --src DIR       the raw (phase 1) output; default: $src
  --out DIR       where to write the validated output; default: $out. Without it (and
                  without $out) nothing is written and the report goes to stdout.

exit status:
  0   every validator passed, or its failure was only a warning (onFailure = "warn"/"skip")
  1   a validator with onFailure = "abort" failed (the error lists its findings), or an
      internal error
  2   usage error (bad option, unreadable config, SRC is not a raw output)`;

const command: Command = {
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      usage,
      argv,
      {
        config: { type: "string" },
        src: { type: "string" },
        out: { type: "string" },
        // Internal: a built-in check, run in a child process by the command itself.
        "run-check": { type: "string" },
        result: { type: "string" },
      },
      { allowPositionals: false },
    );
    const { "--config FILE": configFile, "--src DIR": src } = requiredFlags("validate", usage, {
      "--config FILE": values.config ?? process.env["configPath"],
      "--src DIR": values.src ?? process.env["src"],
    });
    const config = await readValidationConfig(configFile);

    if (values["run-check"] !== undefined) {
      if (!values.result) throw new UserError({ what: "--run-check needs --result FILE" }, { exitCode: 2 });
      await runCheckInChild(config, integerFlag("run-check", values["run-check"], 0), src, values.result);
      return 0;
    }

    // An empty $out is no output path (e.g. `out= nix-model-repo validate ...` by hand).
    const out = values.out ?? (process.env["out"] || undefined);
    const run = await runValidation(config, src, out !== undefined ? { outGuard: out } : {});
    if (run.aborted !== undefined) {
      if (out === undefined) process.stdout.write(canonicalJson(run.report));
      throw validationFailedError(config, run.aborted.validator, run.aborted.result.findings, run.aborted.timedOut);
    }
    if (out === undefined) {
      process.stdout.write(canonicalJson(run.report));
      return 0;
    }
    await writeValidatedOutput(src, out, run.view.meta, run.report);
    logger.info(`validated ${config.name}: ${run.report.result}`);
    return 0;
  },
};

export default command;
