import { HUB_REPO_TYPES, type HubRepoType } from "../../sources/huggingface/spec.js";
import { UserError } from "../../errors/user-error.js";
import {
  DEFAULT_LARGE_FILE_BYTES,
  DEFAULT_LOCK_PATH,
  isEntryName,
  type LockEntry,
  type LockSource,
  readLockFile,
  updateLockFile,
  withEntry,
} from "../../lockfile/index.js";
import { humanBytes } from "../../progress/format.js";
import { PREFETCH_SCHEMES } from "../../sources/registry.js";
import { parseCommandArgs, sizeFlag, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, LOCK_OPTIONS_USAGE, runLock } from "../locking.js";

const usage = `nix-model-repo add NAME TARGET [options]

Locks a model in the lockfile (docs/lockfile.md): resolves TARGET (a branch to its
commit, a tag to its manifest, a stage to its version), downloads every file once, adds
each large file and the small files to the Nix store at exactly the paths
lib.fromLock asks for (so the first build needs no network), and writes the entry NAME.

targets (as prefetch takes them):
${PREFETCH_SCHEMES.map((scheme) => `  ${scheme.example.replace(/ \[--unpack\]$/, "")}`).join("\n")}

options:
${LOCK_OPTIONS_USAGE}
  --files PATTERN    only these files (repeatable; huggingface_hub allow_patterns)
  --endpoint URL     the source's endpoint (a Hub mirror, an S3 endpoint, the MLflow tracking server...)
  --repo-type TYPE   model (default), dataset or space
  --region REGION    the S3 bucket's region (default: $AWS_REGION, else us-east-1)
  --token-env VAR    also read the token from $VAR (as auth.tokenEnvVar)
  --replace          replace the entry NAME when the lock has one
  --large-from SIZE  files at least SIZE get a store path of their own, the others share
                     one (default 64M; docs/lockfile.md, "Large and small")

Tokens come from the environment and standard files (HF_TOKEN, ~/.cache/huggingface/token),
never from the command line; the lockfile holds no secret.

exit status:
  0   the entry is written
  1   resolving, downloading or adding to the store failed (the lockfile is unchanged)
  2   usage error, an entry NAME already locked (without --replace), or an unreadable lockfile`;

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
      files: { type: "string", multiple: true },
      endpoint: { type: "string" },
      "repo-type": { type: "string" },
      region: { type: "string" },
      "token-env": { type: "string" },
      replace: { type: "boolean", default: false },
      "large-from": { type: "string" },
    });
    if (positionals.length !== 2) throw usageError("add takes a NAME and a TARGET", usage);
    const [name, target] = positionals as [string, string];
    if (!isEntryName(name)) {
      throw usageError(
        `NAME '${JSON.stringify(name).slice(1, -1)}' must be letters, digits and + _ . = ? - (not starting with . - = or ?), at most 100 characters: it becomes an attribute and a store name`,
        usage,
      );
    }
    const repoType = values["repo-type"];
    if (repoType !== undefined && !HUB_REPO_TYPES.includes(repoType as HubRepoType))
      throw usageError(`--repo-type must be model, dataset or space, got '${repoType}'`, usage);
    const lockPath = values.lock ?? DEFAULT_LOCK_PATH;
    // Fail before downloading when the lock cannot take the entry.
    refuseExisting(await readLockFile(lockPath, { missingOk: true }), name, lockPath, values.replace);

    // MLflow reads its tracking server from $MLFLOW_TRACKING_URI when --endpoint is not
    // given; the lock records it, since Nix evaluating fromLock cannot read the environment.
    const endpoint =
      values.endpoint ??
      (target.startsWith("mlflow:") || target.startsWith("models:")
        ? process.env["MLFLOW_TRACKING_URI"] || undefined
        : undefined);
    const source: LockSource = {
      target,
      ...(values.files && values.files.length > 0 ? { files: values.files } : {}),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(repoType === undefined ? {} : { repoType: repoType as HubRepoType }),
      ...(values.region === undefined ? {} : { region: values.region }),
    };
    const result = await runLock({
      name,
      source,
      previous: undefined,
      largeFileBytes: sizeFlag("large-from", values["large-from"], DEFAULT_LARGE_FILE_BYTES),
      tokenEnvVar: values["token-env"],
      dryRun: false,
    });
    const entry = result.entry!;
    await updateLockFile(lockPath, (lock) => {
      refuseExisting(lock, name, lockPath, values.replace);
      return withEntry(lock, name, entry);
    });
    const report = summary(name, entry, lockPath, result.storePaths, result.plan.download);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : text(report));
    return 0;
  },
};

function refuseExisting(
  lock: { models: Readonly<Record<string, LockEntry>> },
  name: string,
  lockPath: string,
  replace: boolean,
) {
  if (replace || lock.models[name] === undefined) return;
  throw new UserError(
    {
      what: `${lockPath} already locks a model named ${name}`,
      fix: [
        `\`nix-model-repo update ${name}\` moves it to what its source has now.`,
        `Add it again with --replace to lock another target under this name, or choose another NAME.`,
      ],
    },
    { exitCode: 2 },
  );
}

interface AddReport {
  readonly name: string;
  readonly lock: string;
  readonly target: string;
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: number;
  readonly largeFiles: number;
  readonly bytes: number;
  readonly downloaded: { readonly files: number; readonly bytes: number | undefined };
  /** null: Nix is not installed, nothing was added. */
  readonly storePaths: readonly string[] | null;
}

function summary(
  name: string,
  entry: LockEntry,
  lock: string,
  storePaths: readonly string[] | null,
  downloaded: AddReport["downloaded"],
): AddReport {
  return {
    name,
    lock,
    target: entry.source.target,
    resolved: entry.resolved,
    files: entry.files.length,
    largeFiles: entry.files.filter((file) => file.large).length,
    bytes: entry.files.reduce((sum, file) => sum + file.size, 0),
    downloaded,
    storePaths,
  };
}

function text(report: AddReport): string {
  const resolved = Object.entries(report.resolved)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ");
  const store =
    report.storePaths === null
      ? "not added to the store (nix-store is not on PATH): the first build downloads"
      : `${report.storePaths.length} store path${report.storePaths.length === 1 ? "" : "s"} in place: the first build needs no network`;
  return `locked ${report.name} in ${report.lock}: ${report.files} file${report.files === 1 ? "" : "s"} (${humanBytes(report.bytes)}, ${report.largeFiles} large), ${resolved}
downloaded ${report.downloaded.files} file${report.downloaded.files === 1 ? "" : "s"}${report.downloaded.bytes === undefined ? "" : ` (${humanBytes(report.downloaded.bytes)})`}; ${store}

  models = nix-model-repo.lib.fromLock pkgs ${/^\.{0,2}\//.test(report.lock) ? report.lock : `./${report.lock}`};   # models.${report.name}
`;
}

export default command;
