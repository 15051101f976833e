import type { HttpClient } from "../http/client.js";
import type { AuthSpec } from "../spec/auth.js";
import type { XetSetting } from "../spec/network.js";
import type { ResolvedModel } from "../model/resolved-model.js";
import type { ExplainHook } from "../errors/explain.js";
import type { FailureContext } from "../errors/render.js";

/**
 * What a source adapter does: turn a source spec into a resolved, checked list of
 * files (with sizes and the digests the source vouches for) and the facts to
 * record (commit, version). The shared engine moves the bytes and src/layout writes
 * the output; adapters neither retry, hash nor write (docs/architecture.md). They throw
 * typed failures, or UserErrors for what only they can tell (nothing matches `files`),
 * and explain failures through the hook they give `explainFailuresWith`.
 */
export interface AdapterContext {
  readonly http: HttpClient;
  readonly auth: AuthSpec;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** `network.xet`: whether sources that can download through Xet do (see sources/xet/mode.ts). */
  readonly xet: XetSetting;
  /**
   * What a lockfile says this source resolved to (the meta file's `resolved`: commit,
   * version, manifestDigest): an adapter with a moving pointer resolves to exactly that
   * instead of asking where the pointer is now (docs/lockfile.md). Absent: resolve afresh.
   */
  readonly pinned?: Readonly<Record<string, string>>;
  /**
   * The paths a per-file fetch needs (a lock's `select`, src/fetch/fetch-selected.ts): an
   * adapter whose source can answer for these paths alone may ask for them instead of
   * listing everything. It returns those it finds; the fetch refuses a missing one.
   * Absent: the whole listing.
   */
  readonly wanted?: readonly string[];
  /**
   * Gives the fetch the source's words for the failures it recognises (a gated repo, an
   * expired credential), for every failure from now on, while resolving and while
   * downloading: src/errors/explain.ts asks this hook first. Called again, the newer
   * hook replaces the older (MLflow, once it knows its artifacts are in S3).
   */
  explainFailuresWith(hook: ExplainHook): void;
}

export interface SourceAdapter<S> {
  /** Identifying fields for messages: source, repo, revision... */
  describe(spec: S): FailureContext;
  resolve(spec: S, context: AdapterContext): Promise<ResolvedModel>;
}
