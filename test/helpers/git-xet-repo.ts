/**
 * A git-xet repository for end-to-end tests: real git and the test LFS server (offering the
 * xet transfer) hold the repository; serve holds its LFS files in Xet storage, its xorbs on
 * another host (127.0.0.2), as huggingface.co's CAS does.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { pushLfsRepo, type PushedRepo } from "./git-lfs-repo.js";
import { GitLfsServer } from "./git-lfs-server.js";
import { writeHubRepo } from "./hub-fixture.js";

export interface GitXetRepo {
  readonly lfs: GitLfsServer;
  readonly hub: HubServer;
  readonly repo: PushedRepo;
  close(): Promise<void>;
}

export async function startGitXetRepo(
  repoId: string,
  files: Record<string, Buffer | string>,
  token: string,
): Promise<GitXetRepo> {
  const lfs = await GitLfsServer.start({ token });
  const repo = await pushLfsRepo(lfs, repoId, files, { token });
  const root = await mkdtemp(join(tmpdir(), "nmr-git-xet-"));
  const lfsFiles = Object.fromEntries(
    Object.entries(files).filter(([path]) => repo.files.find((file) => file.path === path)?.lfs),
  );
  const mirror = await writeHubRepo(root, { repoId: "acme/xet-storage", files: lfsFiles, isLfs: () => true });
  await writeFile(join(mirror.folder, ".xet"), "");
  const hub = await startHubServer({ root, cdn: { host: "127.0.0.2" }, xet: { xorbMaxBytes: 256 * 1024 } });
  lfs.xet = { hubUrl: hub.url, hubRepo: "acme/xet-storage" };
  return {
    lfs,
    hub,
    repo,
    async close() {
      await lfs.close();
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
