import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { canonicalJson } from "../util/canonical-json.js";
import { runCheck } from "./checks/index.js";
import { describeEnd } from "./describe-end.js";
import { runProcessGroup } from "./process-group.js";
import type { BuiltinValidatorConfig, CheckResult, Outcome, ValidationConfig, ValidatorFinding } from "./types.js";
import { openModelView } from "./view.js";

/**
 * Built-in checks run in a child process of the same fetcher binary
 * (`validate --run-check N`): then their timeout is enforced the same way as a script's
 * (the process is killed, even in the middle of a file), and a crash fails only that
 * check, closed.
 */
export interface BuiltinRunContext {
  readonly index: number;
  /** The config file the child reads its validator from. */
  readonly configFile: string;
  readonly rawDir: string;
  readonly workDir: string;
  /** How to start this program again: [node, script]. */
  readonly selfCommand: readonly string[];
  readonly onLine: (line: string) => void;
}

export async function runBuiltinValidator(
  validator: BuiltinValidatorConfig,
  ctx: BuiltinRunContext,
): Promise<CheckResult & { timedOut: boolean }> {
  const scratch = join(ctx.workDir, "scratch");
  await mkdir(scratch, { recursive: true });
  const resultFile = join(ctx.workDir, "result.json");
  const [command, ...prefix] = ctx.selfCommand;
  const env: NodeJS.ProcessEnv = {
    HOME: scratch,
    TMPDIR: scratch,
    NIX_MODEL_REPO_LOG: process.env["NIX_MODEL_REPO_LOG"],
  };
  if (process.env["PATH"] !== undefined) env["PATH"] = process.env["PATH"];
  const run = await runProcessGroup(
    command!,
    [
      ...prefix,
      "validate",
      "--run-check",
      String(ctx.index),
      "--config",
      ctx.configFile,
      "--src",
      ctx.rawDir,
      "--result",
      resultFile,
    ],
    { env, cwd: scratch, timeoutMs: validator.timeout * 1000, onLine: ctx.onLine },
  );
  if (run.code !== 0 || run.timedOut) {
    const why = run.timedOut
      ? describeEnd(run, validator.timeout)
      : `the check ${describeEnd(run, validator.timeout)} (an internal error: the model is refused rather than passed unchecked)`;
    return { outcome: "fail", findings: [{ file: null, reason: why }], timedOut: run.timedOut };
  }
  return { ...parseResult(await readFile(resultFile, "utf8")), timedOut: false };
}

/** The child's side: run validator N of the config on the raw output, write the result. */
export async function runCheckInChild(
  config: ValidationConfig,
  index: number,
  rawDir: string,
  resultFile: string,
): Promise<void> {
  const validator = config.validators[index];
  if (validator === undefined || validator.kind !== "builtin")
    throw new Error(`internal error: validator ${index} is not a built-in check`);
  const result = await runCheck(validator.check, await openModelView(rawDir, config.linkRoots), validator.params);
  await writeFile(resultFile, canonicalJson(result));
}

const OUTCOMES: readonly Outcome[] = ["pass", "warn", "fail"];

function parseResult(text: string): CheckResult {
  const json = JSON.parse(text) as { outcome?: unknown; findings?: unknown; details?: unknown };
  if (!OUTCOMES.includes(json.outcome as Outcome) || !Array.isArray(json.findings))
    throw new Error("internal error: a check wrote a malformed result");
  const findings = (json.findings as Array<{ file?: unknown; reason?: unknown }>).map(
    (f): ValidatorFinding => ({ file: typeof f.file === "string" ? f.file : null, reason: String(f.reason) }),
  );
  const details =
    typeof json.details === "object" && json.details !== null ? (json.details as Record<string, unknown>) : undefined;
  return { outcome: json.outcome as Outcome, findings, ...(details ? { details } : {}) };
}
