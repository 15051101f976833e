/**
 * The validation phase's contracts (docs/validation.md):
 *
 * - `ValidationConfig` is what lib/validation/phase2.nix writes (passAsFile) for
 *   `nix-model-repo validate --config FILE`: every validator with its effective
 *   onFailure and timeout already resolved by the Nix side.
 * - `ValidationReport` is the `validation` section phase 2 adds to
 *   `.nix-model-repo-meta.json`. It is deterministic: no times, durations, hosts or build
 *   directories, so two builds of the same model give the same bytes.
 */

export const CONFIG_VERSION = 1;
export const REPORT_VERSION = 1;

/** What a failing validator does to the build. */
export type OnFailure = "abort" | "warn" | "skip";

/** What a check found: nothing, something worth a warning, or a reason to refuse the model. */
export type Outcome = "pass" | "warn" | "fail";

/** What became of the build because of it: `outcome` seen through `onFailure`. */
export type Status = "passed" | "warned" | "failed" | "skipped";

/** Where a validator came from in the user's `validation` option (for "how to relax" hints). */
export type ValidatorOrigin = "defaults.scanner" | "defaults.modelscan" | "validators";

export type CheckName =
  | "scanner"
  | "noPickleFiles"
  | "safetensorsOnly"
  | "noPythonCode"
  | "maxSize"
  | "requiredFiles"
  | "validJson"
  | "licenseCheck";

interface ValidatorBase {
  /** Unique within a config; the report's key. */
  readonly name: string;
  readonly description: string;
  readonly onFailure: OnFailure;
  /** Whether onFailure was set on the validator itself or came from validation.onFailure. */
  readonly onFailureFrom: "validator" | "global";
  /** Seconds. The validator's process group is killed when it runs longer. */
  readonly timeout: number;
  /** Whether the timeout was set on the validator itself or came from validation.timeout. */
  readonly timeoutFrom: "validator" | "global";
  readonly origin: ValidatorOrigin;
  /** How the validator is written in Nix (`validators.noPickleFiles`); null for users' own. */
  readonly expr: string | null;
}

/** A check implemented by the fetcher itself (src/validate/checks). */
export interface BuiltinValidatorConfig extends ValidatorBase {
  readonly kind: "builtin";
  readonly check: CheckName;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A shell script: `custom`, `mkValidator`, `modelscan`. Its exit status decides. */
export interface CommandValidatorConfig extends ValidatorBase {
  readonly kind: "command";
  readonly command: string;
  /** PATH for the script: its runtimeInputs' bin directories plus the basic tools. */
  readonly path: string;
}

export type ValidatorConfig = BuiltinValidatorConfig | CommandValidatorConfig;

export interface ValidationConfig {
  readonly configVersion: typeof CONFIG_VERSION;
  /** The model's name (fetchModel's `name`), for messages. */
  readonly name: string;
  /** The preset the configuration started from (validation.preset), if any. */
  readonly preset: string | null;
  /** bash, for command validators; null when there are none. */
  readonly shell: string | null;
  readonly validators: readonly ValidatorConfig[];
  /**
   * Store paths the raw output's symlinks may lead into: the large files and small files
   * a locked model is assembled from (docs/lockfile.md). Empty for a fetchModel output,
   * whose links all stay inside it.
   */
  readonly linkRoots: readonly string[];
}

/** One thing a validator found. `file` is relative to the snapshot view ($src), null for the model as a whole. */
export interface ValidatorFinding {
  readonly file: string | null;
  readonly reason: string;
}

/** What a check returns. `details` must be deterministic (it goes into the report). */
export interface CheckResult {
  readonly outcome: Outcome;
  readonly findings: readonly ValidatorFinding[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ValidatorReport {
  readonly name: string;
  /** The built-in check's name, or "command" for scripts. */
  readonly check: CheckName | "command";
  readonly onFailure: OnFailure;
  readonly outcome: Outcome;
  readonly status: Status;
  readonly findings: readonly ValidatorFinding[];
  /** Findings left out of the report past MAX_REPORTED_FINDINGS (all of them are in the log). */
  readonly findingsOmitted?: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ValidationReport {
  readonly reportVersion: typeof REPORT_VERSION;
  readonly preset: string | null;
  /** "failed" only appears in reports of builds that stopped (`validate` without --out). */
  readonly result: "passed" | "warned" | "failed";
  readonly validators: readonly ValidatorReport[];
}
