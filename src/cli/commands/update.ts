import { pinnedTo } from "../../fetch/moving.js";
import {
  DEFAULT_LARGE_FILE_BYTES,
  DEFAULT_LOCK_PATH,
  type FileDiff,
  type LockEntry,
  readLockFile,
  updateLockFile,
  withEntry,
} from "../../lockfile/index.js";
import { humanBytes } from "../../progress/format.js";
import { parseCommandArgs, sizeFlag, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, LOCK_OPTIONS_USAGE, runLock, sourceSpecOf } from "../locking.js";

const usage = `nix-model-repo update [NAME...] [options]

Moves locked models to what their sources have now (docs/lockfile.md): resolves each
moving revision again (a branch, a tag, an MLflow stage, alias or "latest", an Ollama
tag, an S3 prefix), shows per model the files added, removed and changed and the bytes to
download, downloads only those, adds the new store paths and rewrites the lockfile.
Unchanged large files keep their store paths; unchanged small files are copied from the
store, not downloaded. A model pinned to a commit or version is never moved.

  NAME               the models to update (default: every model in the lock)
${LOCK_OPTIONS_USAGE}
  --dry-run          only show what would change: nothing is downloaded or written
  --token-env VAR    also read tokens from $VAR (as auth.tokenEnvVar)
  --large-from SIZE  new files at least SIZE get a store path of their own (default 64M;
                     a file already locked keeps its choice, and so its store path)

exit status:
  0   done (or, with --dry-run, the changes are shown), whether anything changed or not
  1   resolving, downloading or adding to the store failed (the lockfile is unchanged)
  2   usage error, a NAME the lock does not have, or an unreadable lockfile`;

type Status = "pinned" | "unchanged" | "moved" | "changed";

interface ModelUpdate {
  readonly name: string;
  /** pinned: not asked; unchanged: the same files; moved: the revision points elsewhere; changed: same revision, other files. */
  readonly status: Status;
  readonly pinnedTo?: string;
  readonly resolved: {
    readonly before: Readonly<Record<string, string>>;
    readonly after: Readonly<Record<string, string>>;
  };
  readonly added: readonly { readonly path: string; readonly size: number | undefined }[];
  readonly removed: readonly { readonly path: string; readonly size: number }[];
  readonly changed: readonly { readonly path: string; readonly before: number; readonly after: number | undefined }[];
  readonly unchanged: { readonly files: number; readonly bytes: number };
  readonly download: { readonly files: number; readonly bytes: number | undefined };
  /** The entry's fixed-output paths, added or already valid (null: Nix is not installed; absent: nothing fetched). */
  readonly storePaths?: readonly string[] | null;
  /** The new entry, once downloaded (not with --dry-run). */
  readonly entry?: LockEntry;
}

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
      "dry-run": { type: "boolean", default: false },
      "token-env": { type: "string" },
      "large-from": { type: "string" },
    });
    const lockPath = values.lock ?? DEFAULT_LOCK_PATH;
    const lock = await readLockFile(lockPath);
    const names = positionals.length > 0 ? [...new Set(positionals)] : Object.keys(lock.models);
    const unknown = names.filter((name) => lock.models[name] === undefined);
    if (unknown.length > 0) {
      throw usageError(
        `${lockPath} has no model named ${unknown.map((name) => JSON.stringify(name)).join(", ")}; it has ${Object.keys(lock.models).join(", ") || "none"}`,
        usage,
      );
    }
    const dryRun = values["dry-run"];
    const options: UpdateOptions = {
      dryRun,
      tokenEnvVar: values["token-env"],
      largeFileBytes: sizeFlag("large-from", values["large-from"], DEFAULT_LARGE_FILE_BYTES),
    };
    const updates: ModelUpdate[] = [];
    for (const name of names) {
      const update = await updateOne(name, lock.models[name]!, options);
      updates.push(update);
      if (!values.json) process.stdout.write(text(update, dryRun));
    }
    const rewritten = updates.filter((update) => update.entry !== undefined && update.status !== "unchanged");
    if (rewritten.length > 0) {
      await updateLockFile(lockPath, (current) =>
        rewritten.reduce((next, update) => withEntry(next, update.name, update.entry!), current),
      );
    }
    if (values.json) {
      const report = updates.map(({ entry: _entry, ...update }) => update);
      process.stdout.write(`${JSON.stringify({ lock: lockPath, dryRun, models: report }, null, 2)}\n`);
    } else if (!dryRun) {
      process.stdout.write(
        rewritten.length > 0
          ? `${lockPath}: ${rewritten.length} model${rewritten.length === 1 ? "" : "s"} updated\n`
          : `${lockPath}: nothing to update\n`,
      );
    }
    return 0;
  },
};

interface UpdateOptions {
  readonly dryRun: boolean;
  readonly tokenEnvVar: string | undefined;
  readonly largeFileBytes: number;
}

async function updateOne(
  name: string,
  entry: LockEntry,
  { dryRun, tokenEnvVar, largeFileBytes }: UpdateOptions,
): Promise<ModelUpdate> {
  const pinned = pinnedTo(sourceSpecOf(entry.source));
  const unchangedAll = {
    files: entry.files.length,
    bytes: entry.files.reduce((sum, file) => sum + file.size, 0),
  };
  if (pinned !== null) {
    return {
      name,
      status: "pinned",
      pinnedTo: pinned,
      resolved: { before: entry.resolved, after: entry.resolved },
      added: [],
      removed: [],
      changed: [],
      unchanged: unchangedAll,
      download: { files: 0, bytes: 0 },
    };
  }
  const result = await runLock({
    name,
    source: entry.source,
    previous: entry,
    largeFileBytes,
    tokenEnvVar,
    dryRun,
  });
  const { diff, resolved, download } = result.plan;
  const moved = Object.entries(resolved).some(([key, value]) => entry.resolved[key] !== value);
  const touched = diff.added.length + diff.removed.length + diff.changed.length > 0;
  return {
    name,
    status: moved ? "moved" : touched ? "changed" : "unchanged",
    resolved: { before: entry.resolved, after: result.entry?.resolved ?? { ...entry.resolved, ...resolved } },
    ...described(diff),
    download,
    ...(result.entry === undefined ? {} : { entry: result.entry, storePaths: result.storePaths }),
  };
}

function described(diff: FileDiff): Pick<ModelUpdate, "added" | "removed" | "changed" | "unchanged"> {
  return {
    added: diff.added.map((file) => ({ path: file.path, size: file.size })),
    removed: diff.removed.map((file) => ({ path: file.path, size: file.size })),
    changed: diff.changed.map(({ before, after }) => ({ path: before.path, before: before.size, after: after.size })),
    unchanged: {
      files: diff.unchanged.length,
      bytes: diff.unchanged.reduce((sum, { before }) => sum + before.size, 0),
    },
  };
}

const size = (bytes: number | undefined) => (bytes === undefined ? "size unknown" : humanBytes(bytes));

function text(update: ModelUpdate, dryRun: boolean): string {
  if (update.status === "pinned") return `${update.name}: pinned to ${update.pinnedTo}, not moved\n`;
  const moves = Object.keys(update.resolved.after)
    .filter((key) => update.resolved.before[key] !== update.resolved.after[key])
    .map((key) => `${key} ${update.resolved.before[key] ?? "none"} → ${update.resolved.after[key]}`);
  const head =
    update.status === "unchanged"
      ? `${update.name}: unchanged`
      : update.status === "moved"
        ? `${update.name}: moved (${moves.join(", ")})`
        : `${update.name}: changed in place upstream (the same revision lists other files)`;
  const lines = [
    ...update.added.map((file) => `  added     ${file.path} (${size(file.size)})`),
    ...update.removed.map((file) => `  removed   ${file.path} (${size(file.size)})`),
    ...update.changed.map((file) => `  changed   ${file.path} (${size(file.before)} → ${size(file.after)})`),
  ];
  if (update.unchanged.files > 0)
    lines.push(
      `  unchanged ${update.unchanged.files} file${update.unchanged.files === 1 ? "" : "s"} (${humanBytes(update.unchanged.bytes)})`,
    );
  if (update.status !== "unchanged") {
    const verb = dryRun ? "would download" : "downloaded";
    lines.push(
      `  ${verb} ${update.download.files} file${update.download.files === 1 ? "" : "s"} (${size(update.download.bytes)})`,
    );
  }
  return `${head}\n${lines.map((line) => `${line}\n`).join("")}`;
}

export default command;
