import { handleInterrupts, interruptSignal } from "../interrupt.js";
import { UserError } from "../../errors/user-error.js";
import { looksLikePath, modelAtPath, modelNamed, readLock } from "../../lifecycle/catalog.js";
import type { Inventory, StoreModel } from "../../lifecycle/inventory.js";
import { takeInventory } from "../../lifecycle/inventory.js";
import { recordedTarget } from "../../lifecycle/recorded-source.js";
import { lockEntryCopies, storeModelRecord } from "../../lifecycle/records.js";
import {
  NOTHING_COMPARED,
  type Verification,
  type VerifyState,
  type VerifySubject,
  verify,
} from "../../lifecycle/verify.js";
import type { LockEntry, LockFile } from "../../lockfile/index.js";
import { humanBytes } from "../../progress/format.js";
import { parseCommandArgs, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, lockOptionOf } from "../lock-option.js";
import { LOCK_OPTIONS_USAGE, specOf } from "../locking.js";
import { printJson, printLines } from "../print.js";

const usage = `nix-model-repo verify [NAME|PATH...] [options]

Tells whether upstream changed since a model was locked or built, without downloading
weights: asks each source for its listing (the Hub's tree, an S3 listing, an MLflow
artifact listing, an Ollama manifest, a git commit's tree and the LFS Batch API, a
HEAD per URL) and compares it with the lockfile entry, or with the meta file of a
store path. Per model:

  unchanged          the revision points where it did and lists the same files
  moved              the revision (branch, tag, stage, alias, S3 prefix) points elsewhere now;
                     what was locked is still there (\`nix-model-repo update\` moves the lock)
  gone               the source, the locked revision or a locked file no longer exists
  changed-in-place   the same revision (or S3 key, or URL) now has other bytes
  damaged            (--deep) a local copy in the store no longer has its recorded bytes

  NAME               a lockfile entry (default: every entry), or a model \`list\` shows
  PATH               a model's store path or a link to one (./result): its meta file is the record

options:
  --deep             also hash the local copies in the store, file by file
  --endpoint URL     for a PATH: the source's endpoint (a Hub mirror, the MLflow server…),
                     which meta files do not record
  --token-env VAR    also read tokens from $VAR (as auth.tokenEnvVar)
${LOCK_OPTIONS_USAGE}

exit status (the most serious finding decides, in this order):
  13  changed in place
  12  damaged (--deep)
  11  gone
  1   a model could not be verified (network, credentials, no such source)
  10  moved
  0   every model unchanged
  2   usage error, no such model, or an unreadable lockfile`;

/** Exit status per state, and which wins when models differ: the first in this list. */
const SEVERITY: readonly { readonly state: VerifyState; readonly exitCode: number }[] = [
  { state: "changed-in-place", exitCode: 13 },
  { state: "damaged", exitCode: 12 },
  { state: "gone", exitCode: 11 },
  { state: "error", exitCode: 1 },
  { state: "moved", exitCode: 10 },
  { state: "unchanged", exitCode: 0 },
];

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
      deep: { type: "boolean", default: false },
      endpoint: { type: "string" },
      "token-env": { type: "string" },
    });
    const lockOption = lockOptionOf(values.lock);
    const lock = await readLock(lockOption);
    const names = positionals.length > 0 ? [...new Set(positionals)] : Object.keys(lock?.models ?? {});
    if (names.length === 0) {
      throw usageError(
        lock === null
          ? `nothing to verify: there is no ${lockOption.path}; name a model or a store path`
          : `${lockOption.path} has no models`,
        usage,
      );
    }
    const subjects = new Subjects(lock, {
      endpoint: values.endpoint,
      tokenEnvVar: values["token-env"],
      deep: values.deep,
    });
    // Interrupted, a listing stops, and a git source's scratch clone is removed, before the exit.
    handleInterrupts();
    const results: Verification[] = [];
    for (const name of names) {
      const subject = await subjects.of(name);
      const result =
        "state" in subject
          ? subject
          : await verify(subject, { deep: values.deep, env: process.env, signal: interruptSignal });
      results.push(result);
      if (!values.json) printLines(text(result));
    }
    const exitCode = SEVERITY.find(({ state }) => results.some((result) => result.state === state))?.exitCode ?? 0;
    if (values.json) printJson({ lock: lock === null ? null : lockOption.path, exitCode, models: results });
    return exitCode;
  },
};

/** Turns NAME|PATH arguments into what to verify; an argument that cannot be verified becomes an error result. */
class Subjects {
  private inventory: Promise<Inventory> | undefined;

  constructor(
    private readonly lock: LockFile | null,
    private readonly options: { endpoint: string | undefined; tokenEnvVar: string | undefined; deep: boolean },
  ) {}

  async of(argument: string): Promise<VerifySubject | Verification> {
    const entry = looksLikePath(argument) ? undefined : this.lock?.models[argument];
    if (entry !== undefined) return this.ofEntry(argument, entry);
    const model = looksLikePath(argument)
      ? await modelAtPath(argument, await this.store())
      : modelNamed(
          argument,
          await this.store(),
          this.lock === null ? "there is no lockfile here" : "the lockfile has no entry of that name",
        );
    return this.ofStoreModel(model);
  }

  private async ofEntry(name: string, entry: LockEntry): Promise<VerifySubject> {
    return {
      name,
      from: "lock",
      storePath: null,
      target: entry.source.target,
      spec: specOf(name, entry.source, this.options.tokenEnvVar),
      resolved: entry.resolved,
      files: entry.files,
      localCopies: this.options.deep ? await lockEntryCopies(name, entry) : [],
    };
  }

  private async ofStoreModel(model: StoreModel): Promise<VerifySubject | Verification> {
    const recorded = recordedTarget(model.meta.source);
    const base = { name: model.name, from: "store" as const, storePath: model.path };
    if (recorded.kind === "none") return unverifiable(base, recorded.display, recorded.why);
    const source =
      this.options.endpoint === undefined ? recorded.source : { ...recorded.source, endpoint: this.options.endpoint };
    let spec: VerifySubject["spec"];
    try {
      spec = specOf(model.name, source, this.options.tokenEnvVar);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      return unverifiable(base, source.target, error.details.what);
    }
    const record = await storeModelRecord(model);
    return {
      ...base,
      target: source.target,
      spec,
      resolved: model.meta.resolved,
      files: record.files,
      localCopies: this.options.deep ? record.copies : [],
    };
  }

  private store(): Promise<Inventory> {
    this.inventory ??= takeInventory();
    return this.inventory;
  }
}

function unverifiable(
  base: Pick<Verification, "name" | "from" | "storePath">,
  target: string,
  reason: string,
): Verification {
  return {
    ...base,
    target,
    state: "error",
    revision: { recorded: null, upstream: null },
    ...NOTHING_COMPARED,
    local: null,
    reason,
  };
}

function text(result: Verification): string[] {
  const head = `${result.name}: ${result.state === "changed-in-place" ? "CHANGED IN PLACE" : result.state}`;
  const lines = [`${head}  (${result.target}${result.storePath === null ? "" : `, ${result.storePath}`})`];
  const { recorded, upstream } = result.revision;
  const revision = (value: string | null) => (value === null ? "?" : value.length === 40 ? value.slice(0, 12) : value);
  switch (result.state) {
    case "unchanged":
      lines.push(`  still ${revision(recorded)}; ${compared(result)}`);
      break;
    case "moved":
      lines.push(
        recorded !== upstream
          ? `  now ${revision(upstream)}, locked ${revision(recorded)}`
          : "  the source lists files the record does not have",
        `  ${result.moved?.changed ?? 0} changed, ${result.moved?.added ?? 0} added, ${result.moved?.removed ?? 0} removed; what was locked is still there`,
        ...(result.from === "lock" ? [`  \`nix-model-repo update ${result.name}\` moves the lock`] : []),
      );
      break;
    case "changed-in-place":
      lines.push(
        `  ${revision(recorded)} now lists other bytes than were recorded:`,
        ...result.inPlace.map((change) => `    ${change.path}: ${side(change.before)} -> ${side(change.after)}`),
        ...(result.inPlaceCount > result.inPlace.length
          ? [`    … and ${result.inPlaceCount - result.inPlace.length} more`]
          : []),
        "  A revision was rewritten, an object overwritten, or a mirror serves other content: find out why before building or updating.",
      );
      break;
    case "gone":
    case "error":
      lines.push(`  ${result.reason ?? ""}`);
      break;
    case "damaged":
      break;
  }
  if (result.unverified.length > 0 && result.state !== "error" && result.state !== "gone")
    lines.push(
      `  only the size could be compared for ${result.unverified.length} file(s): ${result.unverified.slice(0, 5).join(", ")}${result.unverified.length > 5 ? ", …" : ""}`,
    );
  if (result.local !== null) {
    const { local } = result;
    lines.push(
      `  local copies: ${local.checked} hashed (${humanBytes(local.bytes)} intact)${local.absent > 0 ? `, ${local.absent} not in the store` : ""}`,
      ...local.damaged.map((damage) => `    DAMAGED ${damage.path} (${damage.file}) ${damage.why}`),
      ...(local.damaged.length > 0
        ? ["  Repair it: nix-store --repair-path, or delete the path and build again."]
        : []),
    );
  }
  return lines;
}

function compared(result: Verification): string {
  const parts = Object.entries(result.comparedBy).map(([kind, count]) => `${count} by ${kind}`);
  return parts.length === 0 ? "no files to compare" : `files compared: ${parts.join(", ")}`;
}

function side(file: { size: number | null; sha256: string | null } | null): string {
  if (file === null) return "(none)";
  const size = file.size === null ? "size ?" : humanBytes(file.size);
  return file.sha256 === null ? size : `${size}, sha256 ${file.sha256.slice(0, 12)}…`;
}

export default command;
