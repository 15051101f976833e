import type { HttpClient } from "../http/client.js";
import type { AuthSpec } from "../spec/auth.js";
import type { ResolvedModel } from "../model/resolved-model.js";
import type { FailureContext } from "../errors/user-error.js";

/**
 * What a source adapter does: turn a source spec into a resolved, checked list of
 * files (with sizes and the digests the source vouches for) and the facts to
 * record (commit, version). The shared engine moves the bytes and src/layout writes
 * the output; adapters neither retry, hash nor write (docs/architecture.md).
 */
export interface AdapterContext {
  readonly http: HttpClient;
  readonly auth: AuthSpec;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
}

export interface SourceAdapter<S> {
  /** Identifying fields for messages: source, repo, revision... */
  describe(spec: S): FailureContext;
  resolve(spec: S, context: AdapterContext): Promise<ResolvedModel>;
}
