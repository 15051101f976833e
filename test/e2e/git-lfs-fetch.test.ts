/**
 * source.git-lfs end to end against `git http-backend` plus the LFS server written for
 * the tests (test/helpers/git-lfs-server.ts). The test repos get their LFS objects from
 * the real `git lfs push`, and the real `git lfs pull` reads them back, so the server
 * speaks the protocols; then nix-build (real Nix, stand-in pkgs) runs the fetcher, which
 * runs the host's git.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { cloneAndPull, pushLfsRepo, type PushedRepo } from "../helpers/git-lfs-repo.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  libPrelude,
  nixAvailable,
  nixBuild,
  nixReadableTempDir,
  reportedHash,
  hubCacheWith,
  regularFilesUnder,
  FAKE_HASH,
} from "../helpers/nix.js";
import { runCli, type CliResult } from "../helpers/cli.js";

const TOKEN = `glpat-e2e-${randomBytes(12).toString("hex")}`;
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function modelFiles(): Record<string, Buffer | string> {
  return {
    "config.json": JSON.stringify({ model_type: "tiny", run: randomBytes(8).toString("hex") }),
    "tokenizer.json": JSON.stringify({ vocab: { a: 0, b: 1 } }),
    "model.safetensors": randomBytes(2 * 1024 * 1024 + 3),
    "onnx/model.bin": randomBytes(120_000),
    // Bytes a checkout would rewrite (eol=crlf below): the output must hold what was committed.
    "README.md": "line one\nline two\n",
  };
}

/** The fixed-output derivation itself (phase 1): what the source produces, before any validation. */
function expression(fields: string): string {
  return `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
}

function expectedFiles(repo: PushedRepo, keep: (path: string) => boolean = () => true): Map<string, string> {
  return new Map(repo.files.filter((file) => keep(file.path)).map((file) => [file.path, file.sha256]));
}

/** The fetcher as the builder runs it, outside Nix: quick, and where an escape would really land. */
async function fetchWithCli(
  source: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
  auth: Record<string, unknown> = {},
): Promise<CliResult & { out: string }> {
  const dir = await mkdtemp(join(tmpdir(), "nmr-lfs-cli-"));
  const spec = join(dir, "spec.json");
  const out = join(dir, "out");
  await writeFile(
    spec,
    JSON.stringify({ specVersion: 1, name: "cli", source: { type: "git-lfs", lfsFiles: null, ...source }, auth }),
  );
  return { ...(await runCli(["fetch", "--spec", spec, "--out", out], { env })), out };
}

async function meta(
  out: string,
): Promise<{ files: { path: string; sha256: string }[]; source: unknown; resolved: Record<string, string> }> {
  return JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
}

describe.skipIf(!hasGitLfs)(
  "the git + LFS test server, checked with the real git-lfs client (needs Debian's git and git-lfs)",
  () => {
    it("takes `git lfs push` and `git push`, and serves `git clone` and `git lfs pull`", async () => {
      const server = await GitLfsServer.start({ token: TOKEN });
      try {
        const files = modelFiles();
        const repo = await pushLfsRepo(server, "acme/roundtrip", files, { token: TOKEN });
        expect(
          repo.files
            .filter((file) => file.lfs)
            .map((file) => file.path)
            .sort(),
        ).toEqual(["model.safetensors", "onnx/model.bin"]);
        // Uploads went through the batch API and were verified by the content's sha256.
        expect(existsSync(server.objectPath("acme/roundtrip", sha256(files["model.safetensors"]!)))).toBe(true);
        const clone = await cloneAndPull(repo.url, { token: TOKEN });
        try {
          // Buffer.equals: a deep toEqual over megabytes takes seconds.
          for (const [path, content] of Object.entries(files))
            expect((await readFile(join(clone.dir, path))).equals(Buffer.from(content)), path).toBe(true);
        } finally {
          await clone.cleanup();
        }
        const batches = server.log.filter((request) => request.path.endsWith("/objects/batch"));
        expect(batches.length).toBeGreaterThanOrEqual(2);
        expect(batches.every((request) => request.status === 200)).toBe(true);
        // Anonymous access is refused the way git expects (401 + a challenge).
        expect(server.log.some((request) => request.status === 401)).toBe(true);
      } finally {
        await server.close();
      }
    });
  },
);

describe.skipIf(!nixAvailable || !hasGitLfs)(
  "fetchModel from a git + LFS host, built by Nix (needs nix-build, git and git-lfs)",
  () => {
    let server: GitLfsServer;
    let privateServer: GitLfsServer;
    let repo: PushedRepo;
    let files: Record<string, Buffer | string>;
    let hash: string | undefined;
    let outPath: string | undefined;

    beforeAll(async () => {
      server = await GitLfsServer.start();
      privateServer = await GitLfsServer.start({ token: TOKEN });
      files = modelFiles();
      // An .lfsconfig without lfs.url: the endpoint is still the default one.
      repo = await pushLfsRepo(
        server,
        "acme/tiny",
        { ...files, ".lfsconfig": "" },
        { attributes: ["*.md text eol=crlf"] },
      );
    });

    afterAll(async () => {
      await server?.close();
      await privateServer?.close();
    });

    const source = () => `source.git-lfs = { url = "${repo.url}"; rev = "${repo.commit}"; };`;

    it("fails a wrong hash and shows the right one", async () => {
      const result = await nixBuild(expression(`name = "lfs-tiny"; ${source()} hash = "${FAKE_HASH}";`));
      expect(result.stderr).toContain("hash mismatch in fixed-output derivation");
      hash = reportedHash(result);
      expect(hash).toMatch(/^sha256-/);
    });

    it("builds the Hugging Face layout with the real commit and every file's real content", async () => {
      const result = await nixBuild(expression(`name = "lfs-tiny"; ${source()} hash = "${hash}";`));
      expect(result.stderr).not.toContain("error:");
      expect(result.ok).toBe(true);
      outPath = result.outPath!;
      const cache = await hubCacheWith(outPath, "acme/tiny");
      const report = await assertEveryFileFoundOffline(cache, "acme/tiny", expectedFiles(repo));
      expect(report.commit).toBe(repo.commit);
      // Pinned to the commit: the listing in trees/<commit>.json lets offline snapshot_download work.
      await assertEveryFileFoundOffline(cache, "acme/tiny", expectedFiles(repo), { revision: repo.commit });
      expect(await readFile(join(outPath, "refs", "main"), "utf8")).toBe(repo.commit);
      const tree = JSON.parse(await readFile(join(outPath, "trees", `${repo.commit}.json`), "utf8"));
      expect(tree.files["model.safetensors"].lfs_sha256).toBe(sha256(files["model.safetensors"]!));
      expect(await meta(outPath)).toMatchObject({
        source: { type: "git-lfs", rev: repo.commit, lfsFiles: null },
        resolved: { commit: repo.commit },
      });
    });

    it("gives the same hash when built again", async () => {
      const result = await nixBuild(
        expression(`name = "lfs-tiny"; ${source()} hash = "${hash}"; network.concurrency = 1;`),
        { check: true },
      );
      expect(result.stderr).not.toContain("error:");
      expect(result.ok).toBe(true);
    });

    it("fails naming the file when the LFS server sends a corrupted object", async () => {
      server.faults = { corruptObjects: new Set([sha256(files["model.safetensors"]!)]) };
      try {
        const result = await nixBuild(expression(`name = "lfs-tiny-corrupt"; ${source()} hash = "${FAKE_HASH}";`));
        expect(result.ok).toBe(false);
        expect(result.stderr).toContain("model.safetensors");
        expect(result.stderr).toMatch(/sha256: expected [0-9a-f]{64}, got/);
        expect(result.stderr).not.toContain("hash mismatch in fixed-output derivation");
      } finally {
        server.faults = {};
      }
    });

    it("fetches only the LFS files lfsFiles selects, and every file stored in git", async () => {
      const result = await fetchWithCli({ url: repo.url, rev: repo.commit, lfsFiles: ["*.safetensors"] });
      expect(result.stderr).not.toContain("error");
      expect(result.code).toBe(0);
      const kept = (await meta(result.out)).files.map((file) => file.path);
      expect(kept).toEqual([
        ".gitattributes",
        ".lfsconfig",
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
      ]);
      const onlyFolder = await fetchWithCli({ url: repo.url, rev: repo.commit, lfsFiles: ["onnx"] });
      expect((await meta(onlyFolder.out)).files.map((file) => file.path)).toContain("onnx/model.bin");
      expect((await meta(onlyFolder.out)).files.map((file) => file.path)).not.toContain("model.safetensors");
    });

    it("sends no credential to an href on another host; the server's signed headers get the bytes", async () => {
      server.faults = { hrefHost: "127.0.0.2", signedHrefs: true };
      const before = server.log.length;
      try {
        const result = await fetchWithCli(
          { url: repo.url, rev: repo.commit },
          { LFS_TOKEN: TOKEN },
          { tokenEnvVar: "LFS_TOKEN" },
        );
        expect(result.stderr).not.toContain("error");
        expect(result.code).toBe(0);
        const requests = server.log.slice(before);
        const toOtherHost = requests.filter((request) => request.host === "127.0.0.2");
        expect(toOtherHost.length).toBe(2);
        expect(toOtherHost.every((request) => request.authorization === undefined)).toBe(true);
        // The repository's own host got it: git and the Batch API.
        expect(
          requests.some(
            (request) =>
              request.host === "127.0.0.1" &&
              request.path.endsWith("/objects/batch") &&
              request.authorization?.startsWith("Basic "),
          ),
        ).toBe(true);
        expect(
          requests.some((request) => request.path.endsWith("/git-upload-pack") && request.authorization !== undefined),
        ).toBe(true);
        expect(result.stderr).not.toContain(TOKEN);
      } finally {
        server.faults = {};
      }
    });

    it("renews an href that has expired before downloading", async () => {
      server.faults = { expiresIn: 1 };
      const before = server.log.length;
      try {
        const result = await fetchWithCli({ url: repo.url, rev: repo.commit });
        expect(result.code).toBe(0);
        // One batch for the plan, then one per object whose href expires within the margin.
        expect(server.log.slice(before).filter((request) => request.path.endsWith("/objects/batch")).length).toBe(3);
      } finally {
        server.faults = {};
      }
    });

    it("honours lfs.url from .lfsconfig, and keeps the token from an LFS host that is not the repo's", async () => {
      const moved = await pushLfsRepo(server, "acme/moved", {
        ...modelFiles(),
        ".lfsconfig": `[lfs]\n\turl = ${server.origin("127.0.0.2")}/lfs-elsewhere/acme/moved\n`,
      });
      const before = server.log.length;
      const result = await fetchWithCli(
        { url: moved.url, rev: moved.commit },
        { LFS_TOKEN: TOKEN },
        { tokenEnvVar: "LFS_TOKEN" },
      );
      expect(result.stderr).not.toContain("error:");
      expect(result.code).toBe(0);
      expect(result.stderr).toContain("LFS endpoint from .lfsconfig lfs.url");
      expect(result.stderr).toContain("no credentials are sent to it");
      const requests = server.log.slice(before);
      const batch = requests.filter((request) => request.path === "/lfs-elsewhere/acme/moved/objects/batch");
      expect(batch.length).toBe(1);
      expect(batch[0]!.host).toBe("127.0.0.2");
      expect(
        requests
          .filter((request) => request.host === "127.0.0.2")
          .every((request) => request.authorization === undefined),
      ).toBe(true);
      const found = new Map((await meta(result.out)).files.map((file) => [file.path, file.sha256]));
      expect(found).toEqual(expectedFiles(moved));
    });

    it("refuses broken pointers (an oid that is a path, bad hex) naming the file, and writes nothing", async () => {
      for (const [name, oid] of [
        ["evil-path", "sha256:../../../../tmp/nmr-lfs-escape"],
        ["evil-hex", `sha256:${"g".repeat(64)}`],
      ] as const) {
        const evil = await pushLfsRepo(
          server,
          `acme/${name}`,
          {
            "config.json": "{}",
            // Committed as a plain git file (nothing tracked): a pointer only by its text.
            "weights.bin.pointer": `version https://git-lfs.github.com/spec/v1\noid ${oid}\nsize 12\n`,
          },
          { track: [] },
        );
        const result = await fetchWithCli({ url: evil.url, rev: evil.commit });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain("weights.bin.pointer");
        expect(result.stderr).toContain("is a broken Git LFS pointer");
        expect(existsSync(result.out)).toBe(false);
      }
      expect(existsSync("/tmp/nmr-lfs-escape")).toBe(false);
      expect((await readdir(tmpdir())).filter((entry) => entry.startsWith("nix-model-repo-git-"))).toEqual([]);
    });

    it("reports an object the LFS server does not have, naming the file", async () => {
      const missing = await pushLfsRepo(
        server,
        "acme/missing",
        {
          "weights.bin": `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256("never pushed")}\nsize 12\n`,
        },
        { track: [] },
      );
      const result = await fetchWithCli({ url: missing.url, rev: missing.commit });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("The LFS server does not have weights.bin");
    });

    it("refuses a branch name for rev, in Nix and in the fetcher", async () => {
      const nix = await nixBuild(
        expression(`source.git-lfs = { url = "${repo.url}"; rev = "main"; }; hash = "${FAKE_HASH}";`),
      );
      expect(nix.ok).toBe(false);
      expect(nix.stderr).toContain("source.git-lfs.rev must be a full 40-hex commit id");
      expect(nix.stderr).toContain(`git ls-remote ${repo.url} main`);
      const cli = await fetchWithCli({ url: repo.url, rev: "main" });
      expect(cli.stderr).toContain("spec.source.rev must be a full commit id");
    });

    it("fails clearly for a commit the repository does not have", async () => {
      const result = await fetchWithCli({ url: repo.url, rev: "0".repeat(40) });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Commit 0{40} is not in|Cannot fetch commit 0{40}/);
    });

    it("fetches a private repo with a token that appears nowhere, and explains a refusal without one", async () => {
      const privateRepo = await pushLfsRepo(privateServer, "acme/private", modelFiles(), { token: TOKEN });
      const fields = `name = "lfs-private"; source.git-lfs = { url = "${privateRepo.url}"; rev = "${privateRepo.commit}"; }; auth.tokenEnvVar = "MY_GIT_TOKEN";`;
      const first = await nixBuild(expression(`${fields} hash = "${FAKE_HASH}";`), { env: { MY_GIT_TOKEN: TOKEN } });
      const privateHash = reportedHash(first);
      expect(privateHash, first.stderr).toMatch(/^sha256-/);
      const build = await nixBuild(expression(`${fields} hash = "${privateHash}";`), { env: { MY_GIT_TOKEN: TOKEN } });
      expect(build.ok).toBe(true);
      expect(build.stderr + first.stderr).toContain("using the git credentials from $MY_GIT_TOKEN");
      expect(await readFile(build.drvPath!, "utf8")).not.toContain(TOKEN);
      const basic = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");
      for (const text of [first.stderr, first.stdout, build.stderr, build.stdout]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(basic);
      }
      for (const file of await regularFilesUnder(build.outPath!)) {
        const bytes = await readFile(file);
        expect(bytes.includes(TOKEN)).toBe(false);
        expect(bytes.includes(basic)).toBe(false);
      }
      await assertEveryFileFoundOffline(
        await hubCacheWith(build.outPath!, "acme/private"),
        "acme/private",
        expectedFiles(privateRepo),
      );

      const anonymous = await fetchWithCli({ url: privateRepo.url, rev: privateRepo.commit });
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toContain("refused access to the repository");
      expect(anonymous.stderr).toContain("auth.tokenFile");

      // user:token in a token file chooses the user name.
      const secrets = await nixReadableTempDir("nmr-lfs-secret-");
      await writeFile(join(secrets, "token"), `someone:${TOKEN}\n`);
      await chmod(join(secrets, "token"), 0o644);
      const before = privateServer.log.length;
      const withFile = await fetchWithCli(
        { url: privateRepo.url, rev: privateRepo.commit },
        {},
        { tokenFile: join(secrets, "token") },
      );
      expect(withFile.code).toBe(0);
      expect(
        privateServer.log
          .slice(before)
          .some((request) => request.authorization === `Basic ${Buffer.from(`someone:${TOKEN}`).toString("base64")}`),
      ).toBe(true);
    });

    it("prefetches git-lfs:URL@commit into the store path the build uses", async () => {
      const prefetchRepo = await pushLfsRepo(server, "acme/prefetch", modelFiles());
      const result = await runCli([
        "prefetch",
        `git-lfs:${prefetchRepo.url}@${prefetchRepo.commit}`,
        "--files",
        "*.safetensors",
        "--json",
      ]);
      expect(result.stderr).not.toContain("error");
      expect(result.code).toBe(0);
      const prefetched = JSON.parse(result.stdout) as {
        hash: string;
        storePath: string;
        expression: string;
        name: string;
      };
      expect(prefetched.name).toBe("prefetch");
      expect(prefetched.expression).toContain(`rev = "${prefetchRepo.commit}";`);
      expect(prefetched.expression).toContain(`lfsFiles = [ "*.safetensors" ];`);
      const build = await nixBuild(
        expression(
          `name = "prefetch"; source.git-lfs = { url = "${prefetchRepo.url}"; rev = "${prefetchRepo.commit}"; lfsFiles = [ "*.safetensors" ]; }; hash = "${prefetched.hash}";`,
        ),
      );
      expect(build.outPath).toBe(prefetched.storePath);
    });
  },
);
