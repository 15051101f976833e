import { REPO_TYPES, repoKey, type HubRepo, type RepoFile, type RepoType } from "../types.js";
import { XorbUrlSigner } from "./presigned.js";
import { XetStore, type XetFile, type XetStoreOptions } from "./store.js";
import { XetTokenIssuer } from "./tokens.js";

/**
 * Everything serve needs for its Xet repos: the chunk store, the token issuer and the URL
 * signer, and which stored file each repo file is. A repo is prepared (every LFS file of every
 * snapshot chunked, in path order) the first time a request about it needs Xet data.
 */

export interface XetServeOptions extends XetStoreOptions {
  /** Lifetime of the tokens `xet-read-token` issues; default 3600 s. 0 makes them expire at once. */
  readonly tokenTtlSeconds?: number;
  /** Lifetime of pre-signed xorb URLs; default 3600 s. */
  readonly urlTtlSeconds?: number;
}

const DEFAULT_TTL_SECONDS = 3600;

export class XetService {
  readonly store: XetStore;
  readonly tokens: XetTokenIssuer;
  readonly signer: XorbUrlSigner;
  private readonly prepared = new WeakMap<HubRepo, Promise<Map<string, XetFile>>>();
  private readonly ready = new WeakMap<HubRepo, Map<string, XetFile>>();

  constructor(options: XetServeOptions = {}) {
    this.store = new XetStore(options);
    this.tokens = new XetTokenIssuer(options.tokenTtlSeconds ?? DEFAULT_TTL_SECONDS);
    this.signer = new XorbUrlSigner(options.urlTtlSeconds ?? DEFAULT_TTL_SECONDS);
  }

  /** Builds the Xet records of a Xet repo's LFS files (once per loaded repo). */
  prepare(repo: HubRepo): Promise<void> {
    if (!repo.xet) return Promise.resolve();
    let pending = this.prepared.get(repo);
    if (!pending) {
      pending = (async () => {
        const bySha256 = new Map<string, XetFile>();
        const files = [...repo.snapshots.values()].flatMap((snapshot) => [...snapshot.files.values()]);
        files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
        for (const file of files) {
          if (file.lfs && !bySha256.has(file.lfs.sha256)) {
            bySha256.set(file.lfs.sha256, await this.store.file(file.lfs.sha256, file.contentPath, file.size));
          }
        }
        this.ready.set(repo, bySha256);
        return bySha256;
      })();
      pending.catch(() => this.prepared.delete(repo));
      this.prepared.set(repo, pending);
    }
    return pending.then(() => undefined);
  }

  /** The Xet record of a prepared repo's file; undefined for regular (non-LFS) files and non-Xet repos. */
  fileOf(repo: HubRepo, file: RepoFile): XetFile | undefined {
    return file.lfs ? this.ready.get(repo)?.get(file.lfs.sha256) : undefined;
  }

  /** The file with this Xet hash, if the (prepared) repo has it in any snapshot. */
  async fileInRepo(repo: HubRepo, hash: string): Promise<XetFile | undefined> {
    await this.prepare(repo);
    const file = this.store.fileByHash(hash);
    const files = this.ready.get(repo);
    return file && files && [...files.values()].includes(file) ? file : undefined;
  }

  /** What a Xet token is scoped to: "models/org/name". */
  static scope(repo: HubRepo): string {
    return repoKey(repo.type, repo.id);
  }

  static parseScope(scope: string): { type: RepoType; id: string } | undefined {
    const type = REPO_TYPES.find((candidate) => scope.startsWith(`${candidate}s/`));
    return type && { type, id: scope.slice(type.length + 2) };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
