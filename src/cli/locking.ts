import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LockOutcome, lockModel, type PathToAdd } from "../fetch/lock-fetch.js";
import { parseSpec, SPEC_VERSION } from "../fetch/spec.js";
import { UserError } from "../errors/user-error.js";
import type { LockEntry, LockSource } from "../lockfile/index.js";
import { addFixed, nixStoreAvailable, validStorePaths } from "../nix/store.js";
import { createProgressReporter } from "../progress/reporter.js";
import type { SourceSpec } from "../sources/registry.js";
import { parseTarget } from "./commands/prefetch.js";
import { handleInterrupts, interruptSignal, removeOnExit } from "./interrupt.js";

/**
 * What `add` and `update` share: a lock source read as `prefetch` reads a target, one
 * locking run (src/fetch/lock-fetch.ts) in a scratch folder, and its fixed-output paths
 * added to the store at exactly the paths `fromLock` asks for.
 */

/** The options every lock command takes (parseCommandArgs), and their usage text. */
export const LOCK_OPTIONS = {
  lock: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** LOCK_OPTIONS in the words of a usage text. */
export const LOCK_OPTIONS_USAGE = `  --lock FILE        the lockfile (default: ./models.lock.json)
  --json             print JSON on stdout instead of text (progress stays on stderr)`;

export interface LockRun {
  readonly name: string;
  readonly source: LockSource;
  readonly previous: LockEntry | undefined;
  readonly largeFileBytes: number;
  readonly tokenEnvVar: string | undefined;
  readonly dryRun: boolean;
}

export interface LockRunResult extends LockOutcome {
  /** The store paths added (or already valid); null when Nix is not installed. */
  readonly storePaths: readonly string[] | null;
}

/** The spec's source for a lock source: the grammar of `prefetch` (and of the Nix library's parseModelSpec). */
export function sourceSpecOf(source: LockSource): SourceSpec {
  return specOf("lock", source, undefined).source;
}

export function specOf(name: string, source: LockSource, tokenEnvVar: string | undefined) {
  const target = parseTarget(source.target, {
    files: source.files,
    endpoint: source.endpoint,
    repoType: source.repoType,
    region: source.region,
    unpack: false,
  });
  return parseSpec({
    specVersion: SPEC_VERSION,
    name,
    source: target.source,
    auth: { tokenEnvVar: tokenEnvVar ?? null, tokenFile: null },
  });
}

export async function runLock(run: LockRun): Promise<LockRunResult> {
  const spec = specOf(run.name, run.source, run.tokenEnvVar);
  const nix = await nixStoreAvailable();
  // Ctrl-C stops the downloads and removes the scratch folder (as prefetch does); the
  // lockfile is written only after this returns, so it stays as it was.
  handleInterrupts();
  const workdir = await mkdtemp(join(tmpdir(), "nix-model-repo-lock-"));
  const scratch = removeOnExit(workdir);
  try {
    const outcome = await lockModel(
      {
        name: run.name,
        source: run.source,
        spec,
        previous: run.previous,
        largeFileBytes: run.largeFileBytes,
        workdir,
        validPaths: nix ? validStorePaths : async () => new Set(),
        dryRun: run.dryRun,
      },
      { env: process.env, progress: createProgressReporter(), signal: interruptSignal },
    );
    if (outcome.toAdd === undefined || !nix) return { ...outcome, storePaths: null };
    const storePaths = await addToStore(outcome.toAdd);
    // Interrupted while adding to the store: what was added is garbage Nix may collect; the
    // lockfile is not written.
    interruptSignal.throwIfAborted();
    return { ...outcome, storePaths };
  } finally {
    await rm(workdir, { recursive: true, force: true });
    scratch.release();
  }
}

/** Adds each path unless the store has it; each must land where fromLock looks. */
async function addToStore(paths: readonly PathToAdd[]): Promise<string[]> {
  const valid = await validStorePaths(paths.map((path) => path.storePath));
  const added: string[] = [];
  for (const path of paths) {
    if (!valid.has(path.storePath)) {
      const storePath = await addFixed(path.file, path.mode, "The lockfile is unchanged; run the command again.");
      if (storePath !== path.storePath) {
        throw new UserError({
          what: "A downloaded file was added to the store at another path than the one fromLock asks for",
          context: { added: storePath, expected: path.storePath },
          fix: ["This is a bug in nix-model-repo (the naming rule of src/nix/store-names.json): please report it."],
        });
      }
    }
    added.push(path.storePath);
  }
  return added;
}
