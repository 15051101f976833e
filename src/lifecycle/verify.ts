import { TransferFailure } from "../errors/failures.js";
import { UserError } from "../errors/user-error.js";
import { withResolvedModel } from "../fetch/fetch-model.js";
import { listFiles } from "../fetch/lock-fetch.js";
import { ollamaManifest } from "../fetch/ollama-manifest.js";
import type { FetchSpec } from "../fetch/spec.js";
import { diffFiles, type ListedFile, type LockedFile, SOURCE_ID_KEYS, sameContent } from "../lockfile/index.js";
import { silentProgress } from "../progress/silent.js";
import type { HttpSource } from "../sources/http/spec.js";
import { logger } from "../util/log.js";
import { resolvedRevision } from "./recorded-source.js";
import { type LocalCheck, checkLocalCopies, type LocalCopy } from "./verify-local.js";
import { probeUrls } from "./verify-url.js";

/**
 * `nix-model-repo verify`: has upstream changed since a model was locked (or built)?
 * The source is asked for its listing only — the Hub's tree, an S3 listing and HEADs,
 * an MLflow artifact listing, an Ollama manifest, a git commit's tree and the Git LFS
 * Batch API, a HEAD per URL — through the same adapters a fetch uses, and the answer is
 * compared with what the lock (or the meta file) recorded. No weights are downloaded.
 *
 *   unchanged         the moving revision still points where it did, and it lists the same files
 *   moved             the revision (branch, tag, stage, alias, "latest", an S3 prefix's
 *                     keys) now points elsewhere; what was locked is still there
 *   gone              the source, the locked revision or a locked file no longer exists
 *   changed-in-place  the same revision (or, for sources without revisions, the same
 *                     key or URL) now lists other bytes: a rewritten history, an
 *                     overwritten object, a lying mirror. The alarming one.
 *   damaged           (--deep) a local copy in the store no longer has the bytes it was
 *                     stored with
 *
 * What a listing can tell differs by source (docs/cli.md, "What verify can see"): a file
 * whose content the listing cannot vouch for (sizes only) counts as unchanged when its size
 * is, and is named in `unverified`.
 */
export type VerifyState = "unchanged" | "moved" | "gone" | "changed-in-place" | "damaged" | "error";

/** One model to verify: what was recorded, and how to ask its source. */
export interface VerifySubject {
  readonly name: string;
  /** Where the record comes from: a lock entry, or a store path's meta file. */
  readonly from: "lock" | "store";
  readonly storePath: string | null;
  /** A target in `prefetch`'s grammar, for messages. */
  readonly target: string;
  readonly spec: FetchSpec;
  /** What the record says the source resolved to (commit, version, manifestDigest). */
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: readonly LockedFile[];
  /** Where the bytes are on this machine, for --deep; empty when nothing is in the store. */
  readonly localCopies: readonly LocalCopy[];
}

export interface FileChange {
  readonly path: string;
  readonly before: { readonly size: number; readonly sha256: string } | null;
  readonly after: { readonly size: number | null; readonly sha256: string | null } | null;
}

export interface Verification {
  readonly name: string;
  readonly from: "lock" | "store";
  readonly storePath: string | null;
  readonly target: string;
  readonly state: VerifyState;
  /** The revision recorded, and where the source's pointer is now (null when it has none or was not asked). */
  readonly revision: { readonly recorded: string | null; readonly upstream: string | null };
  /** The recorded revision's files that the source now lists differently (the first MAX_REPORTED_CHANGES). */
  readonly inPlace: readonly FileChange[];
  /** How many there are in all: a hostile listing can add millions. */
  readonly inPlaceCount: number;
  /** Recorded files a source without revisions (S3, URLs) no longer has: what makes it gone. */
  readonly missing: readonly string[];
  /** moved: how the new revision differs from the record. */
  readonly moved: { readonly added: number; readonly removed: number; readonly changed: number } | null;
  /** How files were compared: counts per kind of evidence ("sha256", "gitOid", "lfsOid", "etag", "digest", "size"). */
  readonly comparedBy: Readonly<Record<string, number>>;
  /** Files only their size could be compared for: a same-size rewrite is not seen. */
  readonly unverified: readonly string[];
  readonly local: LocalCheck | null;
  /** Why it could not be verified (state "error"), or what is gone (state "gone"). */
  readonly reason: string | null;
}

/** The findings of a comparison that could not be made: a model that is gone, or could not be asked. */
export const NOTHING_COMPARED = {
  inPlace: [],
  inPlaceCount: 0,
  missing: [],
  moved: null,
  comparedBy: {},
  unverified: [],
} as const satisfies Partial<Verification>;

/** Changes reported one by one; past this only counted. */
export const MAX_REPORTED_CHANGES = 100;

/** Sources whose listing is of an immutable revision (a commit, a version, a manifest digest). */
const REVISIONED = new Set(["huggingface", "git-lfs", "git-xet", "mlflow", "ollama"]);

export async function verify(
  subject: VerifySubject,
  options: {
    readonly deep: boolean;
    readonly env: NodeJS.ProcessEnv;
    /** Stops the listing (Ctrl-C, SIGTERM): the verification ends with the signal's reason. */
    readonly signal?: AbortSignal;
  },
): Promise<Verification> {
  const base = {
    name: subject.name,
    from: subject.from,
    storePath: subject.storePath,
    target: subject.target,
    revision: { recorded: resolvedRevision(subject.resolved), upstream: null },
  };
  let upstream: Omit<Verification, keyof typeof base | "local"> & { revision?: Verification["revision"] };
  try {
    upstream = await compareUpstream(subject, options.env, options.signal);
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (!(error instanceof UserError)) throw error;
    const gone = isGone(error);
    upstream = {
      ...NOTHING_COMPARED,
      state: gone ? "gone" : "error",
      reason: error.details.cause ? `${error.details.what}: ${error.details.cause}` : error.details.what,
    };
  }
  const local = options.deep
    ? await checkLocalCopies(subject.name, subject.localCopies, { expectedFiles: subject.files.length })
    : null;
  const state =
    local !== null && local.damaged.length > 0 && upstream.state !== "changed-in-place" ? "damaged" : upstream.state;
  return { ...base, ...upstream, revision: upstream.revision ?? base.revision, state, local };
}

/**
 * Whether a failure says the thing asked for does not exist: a 404 or 410, or the Hub's
 * own words for it (it answers 401 RepoNotFound for a repo that is missing, so that a
 * private one cannot be told from it: without a token, "gone" may mean "private").
 */
function isGone(error: UserError): boolean {
  if (error.code === "NMR_NOT_FOUND") return true;
  const failure = error.cause;
  return failure instanceof TransferFailure && /NotFound$/.test(failure.headers["x-error-code"] ?? "");
}

type UpstreamComparison = Omit<Verification, "name" | "from" | "storePath" | "target" | "local" | "revision"> & {
  readonly revision?: Verification["revision"];
};

async function compareUpstream(
  subject: VerifySubject,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<UpstreamComparison> {
  const { spec } = subject;
  const recorded = resolvedRevision(subject.resolved);
  if (spec.source.type === "url") return compareUrls(subject, spec as FetchSpec & { source: HttpSource }, env);

  logger.info(`${subject.name}: asking ${subject.target} for its listing…`);
  // Where the source's pointer is now (a branch, a tag, a stage, an S3 prefix's keys).
  const current = await listing(spec, env, undefined, signal);
  const upstreamRevision = resolvedRevision(current.resolved);
  const revisioned = REVISIONED.has(spec.source.type);
  const samePlace = !revisioned || upstreamRevision === recorded;
  // What the recorded revision lists now: the same answer when the pointer has not moved.
  const atRecorded = samePlace ? current : await listing(spec, env, subject.resolved, signal);
  const evidence = compareFiles(subject.files, atRecorded.files, { revisioned });
  const revision = { recorded, upstream: upstreamRevision };

  if (evidence.inPlaceCount > 0) return { ...evidence, state: "changed-in-place", moved: null, revision, reason: null };
  if (evidence.missing.length > 0) {
    return {
      ...evidence,
      state: "gone",
      moved: null,
      revision,
      reason: `no longer listed: ${evidence.missing.join(", ")}`,
    };
  }
  const diff = diffFiles(subject.files, current.files);
  const moved = !samePlace || diff.added.length > 0;
  return {
    ...evidence,
    state: moved ? "moved" : "unchanged",
    moved: moved ? { added: diff.added.length, removed: diff.removed.length, changed: diff.changed.length } : null,
    revision,
    reason: null,
  };
}

interface Listing {
  readonly resolved: Readonly<Record<string, string>>;
  readonly files: readonly ListedFile[];
}

/** The source's listing (pinned to a recorded revision, or where its pointer is now), without a byte of any file. */
async function listing(
  spec: FetchSpec,
  env: NodeJS.ProcessEnv,
  pinned: Readonly<Record<string, string>> | undefined,
  signal: AbortSignal | undefined,
): Promise<Listing> {
  return withResolvedModel(
    spec,
    {
      env,
      progress: silentProgress,
      ...(pinned === undefined ? {} : { pinned }),
      ...(signal === undefined ? {} : { signal }),
    },
    async ({ model }) => {
      if (model.unpack !== undefined) {
        throw new UserError({
          what: "An unpacked archive cannot be verified file by file",
          fix: ["Verify the archive's URL instead (a url: entry without --unpack)."],
        });
      }
      return {
        resolved: model.resolved,
        files: listFiles(model, ollamaManifest(model)).map((file) => file.listed),
      };
    },
  );
}

interface Evidence {
  readonly inPlace: readonly FileChange[];
  readonly inPlaceCount: number;
  /** Recorded files the listing no longer has (sources without revisions: gone). */
  readonly missing: readonly string[];
  readonly comparedBy: Readonly<Record<string, number>>;
  readonly unverified: readonly string[];
}

/**
 * The recorded files against a listing of the same revision. For a revisioned source any
 * difference — a file changed, removed or added — is a change in place: a revision is
 * immutable. For S3 and URLs a missing key is gone and a new one is a move.
 */
export function compareFiles(
  recorded: readonly LockedFile[],
  listed: readonly ListedFile[],
  { revisioned }: { readonly revisioned: boolean },
): Evidence {
  const byPath = new Map(listed.map((file) => [file.path, file]));
  const inPlace: FileChange[] = [];
  let inPlaceCount = 0;
  const changedInPlace = (change: FileChange) => {
    if (inPlaceCount++ < MAX_REPORTED_CHANGES) inPlace.push(change);
  };
  const missing: string[] = [];
  const comparedBy: Record<string, number> = {};
  const unverified: string[] = [];
  for (const file of recorded) {
    const now = byPath.get(file.path);
    const before = { size: file.size, sha256: file.sha256 };
    if (now === undefined) {
      if (revisioned) changedInPlace({ path: file.path, before, after: null });
      else missing.push(file.path);
      continue;
    }
    const kind = evidenceKind(file, now);
    comparedBy[kind] = (comparedBy[kind] ?? 0) + 1;
    const same = sameContent(file, now);
    if (same === false)
      changedInPlace({ path: file.path, before, after: { size: now.size ?? null, sha256: now.sha256 ?? null } });
    else if (same === undefined) unverified.push(file.path);
  }
  if (revisioned) {
    const known = new Set(recorded.map((file) => file.path));
    for (const file of listed) {
      if (!known.has(file.path))
        changedInPlace({
          path: file.path,
          before: null,
          after: { size: file.size ?? null, sha256: file.sha256 ?? null },
        });
    }
  }
  return { inPlace, inPlaceCount, missing, comparedBy, unverified };
}

/** The strongest evidence both sides have for a file: its sha256, a source id, or only its size. */
function evidenceKind(before: LockedFile, after: ListedFile): string {
  if (after.sha256 !== undefined) return "sha256";
  const key = SOURCE_ID_KEYS.find((id) => before.ids[id] !== undefined && after.ids[id] !== undefined);
  return key ?? "size";
}

/** A url: source has no revision and no listing: a HEAD per URL is its listing. */
async function compareUrls(
  subject: VerifySubject,
  spec: FetchSpec & { readonly source: HttpSource },
  env: NodeJS.ProcessEnv,
): Promise<UpstreamComparison> {
  logger.info(`${subject.name}: asking each URL for its headers (HEAD)…`);
  const probes = await probeUrls(spec, env);
  const gone = probes.flatMap((probe, index) =>
    probe.goneStatus === null ? [] : [`${spec.source.urls[index]!.filename} (HTTP ${probe.goneStatus})`],
  );
  const listed = probes.flatMap((probe) => (probe.listed === null ? [] : [probe.listed]));
  const evidence = compareFiles(subject.files, listed, { revisioned: false });
  if (evidence.inPlaceCount > 0) return { ...evidence, state: "changed-in-place", moved: null, reason: null };
  if (gone.length > 0)
    return { ...evidence, state: "gone", moved: null, reason: `no longer served: ${gone.join(", ")}` };
  return { ...evidence, state: "unchanged", moved: null, reason: null };
}
