import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CheckResult, CommandValidatorConfig, ValidatorFinding } from "./types.js";
import type { ModelView } from "./view.js";
import { runProcessGroup } from "./process-group.js";
import { describeEnd } from "./describe-end.js";

/**
 * Runs a shell validator (`custom`, `mkValidator`, `modelscan`) with bash
 * `-e -o pipefail`, in an environment built from nothing:
 *
 *   src            the snapshot view (read-only model files)
 *   NMR_RAW        the raw output; NMR_LAYOUT "huggingface" | "ollama"; NMR_MODEL_NAME
 *   NMR_FINDINGS   a file to append findings to, one per line: "FILE<TAB>REASON" or "REASON"
 *   HOME, TMPDIR   a scratch directory of its own (also the working directory)
 *   PATH           its runtimeInputs plus coreutils, findutils, grep, sed
 *
 * There is no `out`: validators check the model, they do not write the output. The exit
 * status decides: 0 passes, anything else fails.
 */
export interface CommandRunContext {
  readonly view: ModelView;
  readonly modelName: string;
  readonly shell: string;
  /** A private directory for this validator's script, findings file and scratch space. */
  readonly workDir: string;
  readonly onLine: (line: string) => void;
}

export async function runCommandValidator(
  validator: CommandValidatorConfig,
  ctx: CommandRunContext,
): Promise<CheckResult & { timedOut: boolean }> {
  const scratch = join(ctx.workDir, "scratch");
  await mkdir(scratch, { recursive: true });
  const script = join(ctx.workDir, "validator.sh");
  const findingsFile = join(ctx.workDir, "findings");
  // A file, not `bash -c`: one argument may be at most 128 KiB on Linux.
  await writeFile(script, validator.command);
  await writeFile(findingsFile, "");
  const env: NodeJS.ProcessEnv = {
    PATH: validator.path,
    HOME: scratch,
    TMPDIR: scratch,
    TMP: scratch,
    TEMP: scratch,
    src: ctx.view.root,
    NMR_RAW: ctx.view.raw,
    NMR_LAYOUT: ctx.view.layout,
    NMR_MODEL_NAME: ctx.modelName,
    NMR_FINDINGS: findingsFile,
    NIX_BUILD_CORES: process.env["NIX_BUILD_CORES"] ?? "1",
  };
  const run = await runProcessGroup(ctx.shell, ["-e", "-o", "pipefail", script], {
    env,
    cwd: scratch,
    timeoutMs: validator.timeout * 1000,
    onLine: ctx.onLine,
  });
  const passed = run.code === 0 && !run.timedOut;
  const findings = passed ? [] : await readFindings(findingsFile);
  if (!passed && findings.length === 0) findings.push({ file: null, reason: describeEnd(run, validator.timeout) });
  else if (!passed && run.timedOut) findings.unshift({ file: null, reason: describeEnd(run, validator.timeout) });
  return { outcome: passed ? "pass" : "fail", findings, timedOut: run.timedOut };
}

async function readFindings(file: string): Promise<ValidatorFinding[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const tab = line.indexOf("\t");
      if (tab < 0) return { file: null, reason: line.trim() };
      const path = line.slice(0, tab).trim().replace(/^\.\//, "");
      return { file: path === "" ? null : path, reason: line.slice(tab + 1).trim() };
    });
}
