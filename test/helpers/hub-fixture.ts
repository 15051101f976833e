/**
 * Writes Hub-cache repo folders (what huggingface_hub leaves under HF_HUB_CACHE) from plain
 * content, for tests and the bundled example. The result is exactly the layout the real
 * client writes: blobs named by etag (git blob sha1 for regular files, sha256 for LFS files),
 * snapshot entries as relative symlinks one `../` deeper per directory level, refs without a
 * trailing newline (nested for "refs/pr/1").
 *
 * Only well-formed paths can be written. To test a client against hostile paths, serve a
 * hand-made listing with the server's `treeOverride`, or answer with a fault hook.
 *
 *     const { commit, folder, files } = await writeHubRepo(cacheRoot, {
 *       repoId: "acme/tiny",
 *       files: { "config.json": "{}", "model.safetensors": bytes },
 *       refs: { main: "commit", "refs/pr/1": "commit" },
 *       gated: true,
 *     });
 */
import { createHash } from "node:crypto";
import { mkdir, symlink, writeFile, lstat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { gitBlobOid } from "../../src/serve/git-objects.js";
import { defaultIsLfs } from "../../src/serve/lfs-heuristic.js";
import { repoFolderName, type RepoType } from "../../src/serve/types.js";

export type FileContents = Readonly<Record<string, Buffer | string>>;

export interface HubRepoFixture {
  readonly repoId: string;
  readonly repoType?: RepoType;
  readonly files: FileContents;
  /** Which files live in LFS. Default: weight extensions or > 10 MiB, like the Hub's .gitattributes. */
  readonly isLfs?: (path: string, size: number) => boolean;
  /** Refs pointing at this commit; default { main: "commit" }. Names may be nested ("refs/pr/1"). */
  readonly refs?: Readonly<Record<string, "commit">>;
  /** Further snapshots of the same repo (older revisions, PRs), each with the refs naming it. */
  readonly extraCommits?: ReadonlyArray<{ readonly files: FileContents; readonly refs?: readonly string[] }>;
  /** Writes the `.gated` marker ("manual" writes that mode). */
  readonly gated?: boolean | "manual";
  /** Writes the `.private` marker. */
  readonly private?: boolean;
  /** Folder name under cacheRoot; default the cache's `models--org--name`. */
  readonly folderName?: string;
  /** Also write `.nix-model-repo-meta.json` with this content (a fetched output). */
  readonly meta?: unknown;
}

export interface FixtureFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Git blob sha1 of the content. */
  readonly gitOid: string;
  /** The blob name and the etag the Hub reports: sha256 for LFS files, else gitOid. */
  readonly etag: string;
  readonly lfs: boolean;
  readonly content: Buffer;
}

export interface WrittenCommit {
  readonly commit: string;
  readonly files: FixtureFile[];
}

export interface WrittenHubRepo extends WrittenCommit {
  readonly folder: string;
  readonly extraCommits: WrittenCommit[];
}

const CLEAN_SEGMENT = /^(?!\.{1,2}$)[^/\\\0]+$/;

function assertCleanPath(path: string): void {
  if (path.startsWith("/") || !path.split("/").every((segment) => CLEAN_SEGMENT.test(segment))) {
    throw new Error(`writeHubRepo: refusing to write the hostile path ${JSON.stringify(path)} (use treeOverride)`);
  }
}

function describeFiles(files: FileContents, isLfs: (path: string, size: number) => boolean): FixtureFile[] {
  return Object.keys(files)
    .sort()
    .map((path) => {
      assertCleanPath(path);
      const value = files[path]!;
      const content = typeof value === "string" ? Buffer.from(value) : value;
      const sha256 = createHash("sha256").update(content).digest("hex");
      const gitOid = gitBlobOid(content);
      const lfs = isLfs(path, content.length);
      return { path, size: content.length, sha256, gitOid, etag: lfs ? sha256 : gitOid, lfs, content };
    });
}

/** Deterministic stand-in for a commit id: sha1 over the repo and its sorted manifest. */
function commitId(type: RepoType, repoId: string, files: readonly FixtureFile[]): string {
  const hash = createHash("sha1").update(`nix-model-repo fixture\n${type}s/${repoId}\n`);
  for (const file of files) hash.update(`${file.path}\0${file.size}\0${file.sha256}\n`);
  return hash.digest("hex");
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function writeSnapshot(folder: string, commit: string, files: readonly FixtureFile[]): Promise<void> {
  for (const file of files) {
    const blob = join(folder, "blobs", file.etag);
    if (!(await exists(blob))) {
      await mkdir(dirname(blob), { recursive: true });
      await writeFile(blob, file.content);
    }
    const pointer = join(folder, "snapshots", commit, file.path);
    await mkdir(dirname(pointer), { recursive: true });
    if (!(await exists(pointer))) await symlink(relative(dirname(pointer), blob), pointer);
  }
}

async function writeRef(folder: string, name: string, commit: string): Promise<void> {
  assertCleanPath(name);
  const path = join(folder, "refs", name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, commit); // no trailing newline: huggingface_hub reads refs without strip
}

export async function writeHubRepo(cacheRoot: string, fixture: HubRepoFixture): Promise<WrittenHubRepo> {
  const type = fixture.repoType ?? "model";
  const isLfs = fixture.isLfs ?? defaultIsLfs;
  const folder = join(cacheRoot, fixture.folderName ?? repoFolderName(type, fixture.repoId));
  await mkdir(join(folder, "snapshots"), { recursive: true });

  const files = describeFiles(fixture.files, isLfs);
  const commit = commitId(type, fixture.repoId, files);
  await writeSnapshot(folder, commit, files);
  for (const name of Object.keys(fixture.refs ?? { main: "commit" })) await writeRef(folder, name, commit);

  const extraCommits: WrittenCommit[] = [];
  for (const extra of fixture.extraCommits ?? []) {
    const extraFiles = describeFiles(extra.files, isLfs);
    const extraCommit = commitId(type, fixture.repoId, extraFiles);
    await writeSnapshot(folder, extraCommit, extraFiles);
    for (const name of extra.refs ?? []) await writeRef(folder, name, extraCommit);
    extraCommits.push({ commit: extraCommit, files: extraFiles });
  }

  if (fixture.gated) await writeFile(join(folder, ".gated"), fixture.gated === "manual" ? "manual\n" : "auto\n");
  if (fixture.private) await writeFile(join(folder, ".private"), "");
  if (fixture.meta !== undefined) {
    await writeFile(join(folder, ".nix-model-repo-meta.json"), `${JSON.stringify(fixture.meta, null, 2)}\n`);
  }
  return { commit, folder, files, extraCommits };
}

/** Deterministic pseudo-random bytes (for LFS-sized fixtures without storing them). */
export function pseudoRandomBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < size; index++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[index] = state & 0xff;
  }
  return out;
}
