import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { hubErrors, type HubError } from "./hub-errors.js";
import type { HubRepo } from "./types.js";

/**
 * Who is asking, and what they may see. There are no users: a token is either in the
 * accepted set (then it may read every gated and private repo) or it is not. Tokens are
 * compared by digest in constant time and never stored in request logs.
 */

export interface Caller {
  /** An Authorization header was sent at all (decides 401 vs 404/403, like the Hub). */
  readonly sentCredentials: boolean;
  /** The bearer token is in the accepted set. */
  readonly accepted: boolean;
}

const digest = (token: string) => createHash("sha256").update(token).digest();

export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: Iterable<string>) {
    this.digests = [...tokens]
      .map((token) => token.trim())
      .filter((token) => token !== "")
      .map(digest);
  }

  get size(): number {
    return this.digests.length;
  }

  accepts(token: string): boolean {
    const candidate = digest(token);
    // Compare against every entry so the time taken does not tell which one matched.
    let found = false;
    for (const known of this.digests) found = timingSafeEqual(known, candidate) || found;
    return found;
  }
}

export function identifyCaller(headers: IncomingHttpHeaders, tokens: TokenSet): Caller {
  const header = headers.authorization;
  if (header === undefined || header.trim() === "") return { sentCredentials: false, accepted: false };
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return { sentCredentials: true, accepted: match !== null && tokens.accepts(match[1]!.trim()) };
}

/** Private repos are invisible without an accepted token: the same answer as a missing repo. */
export function checkRepoVisible(repo: HubRepo, caller: Caller): HubError | undefined {
  return repo.private && !caller.accepted ? hubErrors.repoNotFound(caller.sentCredentials) : undefined;
}

/**
 * Gated repos: as on the Hub, metadata (info, tree, paths-info) stays public; file content
 * needs an accepted token. No token: 401 GatedRepo ("Please log in"); a token that is not
 * accepted: 403 GatedRepo ("not in the authorized list").
 */
export function checkContentAccess(repo: HubRepo, caller: Caller): HubError | undefined {
  if (!repo.gated || caller.accepted) return undefined;
  return caller.sentCredentials
    ? hubErrors.gatedNotAuthorized(repo.type, repo.id)
    : hubErrors.gatedNotAuthenticated(repo.type, repo.id);
}
