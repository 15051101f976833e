import { discoverRepos } from "./discovery.js";
import { GIT_OID } from "../util/hex-ids.js";
import { loadRepo } from "./repo-loader.js";
import { parseRepoSpec, repoKey, type HubRepo, type RepoType, type Snapshot } from "./types.js";

export interface AccessOverrides {
  readonly gated?: readonly string[];
  readonly private?: readonly string[];
  /** Repos to serve through Xet besides those with a `.xet` marker. */
  readonly xet?: readonly string[];
}

function specKey(spec: string): string {
  const { type, id } = parseRepoSpec(spec);
  return repoKey(type, id);
}

/** The repos being served, by type and id, and how a revision name picks a snapshot. */
export class RepoRegistry {
  private constructor(private readonly repos: ReadonlyMap<string, HubRepo>) {}

  /**
   * `access` marks repos gated or private in addition to their marker files, for folders
   * that cannot hold one (read-only Nix store outputs). Entries are "org/name",
   * "datasets/org/name" or "spaces/org/name".
   */
  static async load(
    root: string,
    warn: (message: string) => void,
    access: AccessOverrides = {},
  ): Promise<RepoRegistry> {
    const gated = new Set((access.gated ?? []).map(specKey));
    const hidden = new Set((access.private ?? []).map(specKey));
    const xet = new Set((access.xet ?? []).map(specKey));
    const repos = new Map<string, HubRepo>();
    for (const location of await discoverRepos(root, warn)) {
      try {
        const loaded = await loadRepo(location, warn);
        const key = repoKey(loaded.type, loaded.id);
        const repo: HubRepo = {
          ...loaded,
          gated: loaded.gated || (gated.has(key) ? "auto" : false),
          private: loaded.private || hidden.has(key),
          xet: loaded.xet || xet.has(key),
        };
        if (repo.snapshots.size === 0) warn(`serving ${location.folder} with no usable snapshot`);
        repos.set(key, repo);
      } catch (error) {
        warn(`skipping ${location.folder}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const key of [...gated, ...hidden]) {
      if (!repos.has(key)) warn(`${key} is marked gated or private but is not served`);
    }
    for (const key of xet) {
      if (!repos.has(key)) warn(`${key} is marked for Xet but is not served`);
    }
    return new RepoRegistry(repos);
  }

  get(type: RepoType, id: string): HubRepo | undefined {
    return this.repos.get(repoKey(type, id));
  }

  list(): HubRepo[] {
    return [...this.repos.values()];
  }
}

/**
 * The snapshot a revision names: a ref ("main", "v1.0", "refs/pr/1"), a full lowercase
 * commit hash that has a snapshot, or "HEAD" (the default branch, as the Hub resolves it;
 * @huggingface/hub asks for it when no revision is given). A repo without refs/main whose
 * cache holds exactly one snapshot treats that one as its default branch.
 */
export function resolveRevision(repo: HubRepo, revision: string): Snapshot | undefined {
  const viaRef = repo.refs.get(revision);
  if (viaRef !== undefined) return repo.snapshots.get(viaRef);
  if (GIT_OID.test(revision)) return repo.snapshots.get(revision);
  if (revision === "HEAD" || revision === "main") {
    const main = repo.refs.get("main");
    if (main !== undefined) return repo.snapshots.get(main);
    if (repo.snapshots.size === 1) return [...repo.snapshots.values()][0];
  }
  return undefined;
}

/**
 * Splits "<revision>/<path…>" segments when the client did not percent-encode a revision
 * containing "/" (`tree/refs/pr/1/sub`): the first segment if it resolves, else the longest
 * run of leading segments that names a ref. Undefined if none resolves.
 */
export function splitRevision(
  repo: HubRepo,
  segments: readonly string[],
): { revision: string; snapshot: Snapshot; rest: string[] } | undefined {
  const first = segments[0];
  if (first === undefined) return undefined;
  const direct = resolveRevision(repo, first);
  if (direct) return { revision: first, snapshot: direct, rest: segments.slice(1) };
  for (let count = segments.length; count >= 2; count--) {
    const candidate = segments.slice(0, count).join("/");
    const commit = repo.refs.get(candidate);
    const snapshot = commit === undefined ? undefined : repo.snapshots.get(commit);
    if (snapshot) return { revision: candidate, snapshot, rest: segments.slice(count) };
  }
  return undefined;
}
