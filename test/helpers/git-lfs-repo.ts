/**
 * Test repos made the way users make them: `git lfs track`, commit, then the real
 * `git lfs push` and `git push` to the test server (test/helpers/git-lfs-server.ts).
 * Nothing is written into the server's storage behind the protocols' back.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gitEnv, type GitLfsServer } from "./git-lfs-server.js";

const execFileAsync = promisify(execFile);

export interface PushedFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** Stored in LFS (matched a tracked pattern). */
  readonly lfs: boolean;
}

export interface PushedRepo {
  readonly url: string;
  readonly commit: string;
  readonly files: readonly PushedFile[];
}

export interface PushOptions {
  /** Patterns given to `git lfs track`. Default ["*.bin", "*.safetensors"]. */
  readonly track?: readonly string[];
  /** Basic credentials for the push when the server wants a token. */
  readonly token?: string;
  /** More .gitattributes lines, after the ones `git lfs track` writes (e.g. "*.md text eol=crlf"). */
  readonly attributes?: readonly string[];
}

/** Runs git with a clean configuration (HOME = `home`), returning stdout. */
export async function git(
  home: string,
  cwd: string,
  args: readonly string[],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync("git", args, {
      cwd,
      env: { ...gitEnv(home), ...extraEnv },
      maxBuffer: 64 << 20,
    });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`git ${args.join(" ")} failed: ${failure.stderr ?? failure.message}`);
  }
}

/** Creates `name` on the server and pushes one commit holding `files`, LFS for tracked patterns. */
export async function pushLfsRepo(
  server: GitLfsServer,
  name: string,
  files: Readonly<Record<string, Buffer | string>>,
  options: PushOptions = {},
): Promise<PushedRepo> {
  server.createRepo(name);
  const home = await mkdtemp(join(tmpdir(), "nmr-git-home-"));
  const work = join(home, "work");
  try {
    await mkdir(work);
    await git(home, work, ["init", "--quiet", "--initial-branch=main"]);
    const track = options.track ?? ["*.bin", "*.safetensors"];
    // Without tracked patterns the repo is plain git: no LFS hooks (they would try to push
    // objects for files that merely look like pointers).
    if (track.length > 0) await git(home, work, ["lfs", "install", "--local"]);
    for (const pattern of track) await git(home, work, ["lfs", "track", pattern]);
    const attributes = [
      ...track.map((p) => `${p} filter=lfs diff=lfs merge=lfs -text\n`),
      ...(options.attributes ?? []).map((line) => `${line}\n`),
    ].join("");
    if (attributes !== "") await writeFile(join(work, ".gitattributes"), attributes);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
    }
    await git(home, work, ["add", "--all"]);
    await git(home, work, ["commit", "--quiet", "-m", "model"]);
    const url = server.repoUrl(name);
    const pushUrl = options.token ? url.replace("http://", `http://tester:${options.token}@`) : url;
    await git(home, work, ["remote", "add", "origin", pushUrl]);
    // The LFS objects first, explicitly (the pre-push hook would do the same), then the commit.
    if (track.length > 0) await git(home, work, ["lfs", "push", "origin", "main"]);
    await git(home, work, ["push", "--quiet", "origin", "main"]);
    const commit = (await git(home, work, ["rev-parse", "HEAD"])).trim();
    const lfsPaths = new Set(
      track.length === 0
        ? []
        : (await git(home, work, ["lfs", "ls-files", "--name-only"])).split("\n").filter((line) => line !== ""),
    );
    const all = attributes === "" ? { ...files } : { ...files, ".gitattributes": attributes };
    return {
      url,
      commit,
      files: Object.entries(all).map(([path, content]) => {
        const bytes = Buffer.from(content);
        return {
          path,
          size: bytes.length,
          sha256: createHash("sha256").update(bytes).digest("hex"),
          lfs: lfsPaths.has(path),
        };
      }),
    };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** Clones with the real git and pulls LFS content with the real `git lfs pull`; returns the work tree. */
export async function cloneAndPull(
  url: string,
  options: { token?: string } = {},
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), "nmr-git-clone-"));
  const dir = join(home, "clone");
  const cloneUrl = options.token ? url.replace("http://", `http://tester:${options.token}@`) : url;
  // No global config to install the filter into: clone leaves pointers, then the repo gets the hooks.
  await git(home, home, ["clone", "--quiet", cloneUrl, dir], { GIT_LFS_SKIP_SMUDGE: "1" });
  await git(home, dir, ["lfs", "install", "--local"]);
  await git(home, dir, ["lfs", "pull"]);
  return { dir, cleanup: () => rm(home, { recursive: true, force: true }) };
}
