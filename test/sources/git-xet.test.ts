/**
 * source.git-xet against real git (git http-backend), the test LFS server answering the Batch
 * API's `xet` transfer (test/helpers/git-lfs-server.ts), and serve as the Xet storage (its
 * CAS, for a Hub repo holding the same files). The commit comes through git; LFS objects
 * through Xet, or the basic transfer when Xet is off, unusable or fails.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { UserError } from "../../src/errors/user-error.js";
import { fetchModelInto } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { narHash } from "../../src/nar/hash.js";
import { silentProgress } from "../../src/progress/silent.js";
import { faults, startHubServer, type HubServer } from "../../src/serve/index.js";
import { clearSecretsForTesting } from "../../src/util/secrets.js";
import { pushLfsRepo, type PushedRepo } from "../helpers/git-lfs-repo.js";
import { GitLfsServer, hasGitLfs } from "../helpers/git-lfs-server.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { xetRepoFiles } from "../serve/xet-fixture.js";

const TOKEN = `glpat-xet-${randomBytes(12).toString("hex")}`;
const HUB_REPO = "acme/xet-mirror";

describe.skipIf(!hasGitLfs)("source.git-xet", () => {
  let lfs: GitLfsServer;
  let hub: HubServer;
  let root: string;
  let scratch: string;
  let repo: PushedRepo;
  let outputs = 0;
  const files = xetRepoFiles();

  beforeAll(async () => {
    lfs = await GitLfsServer.start({ token: TOKEN });
    repo = await pushLfsRepo(lfs, "acme/model", files, { token: TOKEN });
    root = await mkdtemp(join(tmpdir(), "nmr-git-xet-hub-"));
    scratch = await mkdtemp(join(tmpdir(), "nmr-git-xet-out-"));
    // The same LFS files as a Hub repo serve keeps in Xet: its CAS is the git-xet storage.
    const lfsFiles = Object.fromEntries(
      Object.entries(files).filter(([path]) => repo.files.find((file) => file.path === path)?.lfs),
    );
    const written = await writeHubRepo(root, { repoId: HUB_REPO, files: lfsFiles, isLfs: () => true });
    await writeFile(join(written.folder, ".xet"), "");
    hub = await startHubServer({ root, cdn: { host: "127.0.0.2" }, xet: { xorbMaxBytes: 256 * 1024 } });
    lfs.log.length = 0; // the push's requests
  });

  afterAll(async () => {
    await lfs?.close();
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
    clearSecretsForTesting();
  });

  afterEach(() => {
    lfs.xet = { hubUrl: hub.url, hubRepo: HUB_REPO };
    lfs.log.length = 0;
    hub.setFaults(undefined);
    hub.clearRequests();
    vi.restoreAllMocks();
  });

  async function fetchGitXet(
    xet: "auto" | "off" | "required",
    extra: { endpoint?: string; files?: string[] } = {},
  ): Promise<{ out: string; log: string; error: unknown }> {
    lfs.xet ??= { hubUrl: hub.url, hubRepo: HUB_REPO };
    const out = join(scratch, `out-${++outputs}`);
    const spec = parseSpec({
      specVersion: SPEC_VERSION,
      name: "git-xet-test",
      source: {
        type: "git-xet",
        url: repo.url,
        rev: repo.commit,
        files: extra.files ?? null,
        xet: { endpoint: extra.endpoint ?? null },
      },
      network: { xet, retry: { maxAttempts: 2, baseDelay: 0 } },
      auth: { tokenEnvVar: "GIT_TOKEN" },
    });
    let log = "";
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      log += String(chunk);
      return true;
    });
    try {
      await fetchModelInto(spec, out, {
        env: { PATH: process.env["PATH"], GIT_TOKEN: TOKEN },
        progress: silentProgress,
      });
      return { out, log, error: undefined };
    } catch (error) {
      return { out, log, error };
    } finally {
      vi.restoreAllMocks();
    }
  }

  const lfsContentGets = () =>
    lfs.log.filter((request) => request.method === "GET" && /\/objects\/[0-9a-f]{64}$/.test(request.path));
  const lfsPaths = () => repo.files.filter((file) => file.lfs).map((file) => file.path);

  /** Every file of the commit, or of the LFS files only `only` (git files always come). */
  async function expectModel(out: string, only?: string): Promise<void> {
    for (const file of repo.files.filter(
      (candidate) => !candidate.lfs || only === undefined || candidate.path === only,
    )) {
      const bytes = await readFile(join(out, "snapshots", repo.commit, file.path));
      expect(bytes.length, file.path).toBe(file.size);
      expect(bytes.equals(Buffer.from(files[file.path] ?? bytes)), file.path).toBe(true);
    }
  }

  it("takes the LFS objects through Xet, and through basic with Xet off: the same output", async () => {
    lfs.xet = { hubUrl: hub.url, hubRepo: HUB_REPO };
    const viaXet = await fetchGitXet("required");
    expect(viaXet.error).toBeUndefined();
    await expectModel(viaXet.out);
    expect(hub.requests.filter((request) => request.route === "xet-reconstruction")).toHaveLength(lfsPaths().length);
    expect(lfsContentGets()).toHaveLength(0);

    lfs.log.length = 0;
    hub.clearRequests();
    const viaBasic = await fetchGitXet("off");
    expect(viaBasic.error).toBeUndefined();
    expect(hub.requests).toHaveLength(0);
    expect(lfsContentGets()).toHaveLength(lfsPaths().length);
    expect((await narHash(viaXet.out)).sri).toBe((await narHash(viaBasic.out)).sri);
    const meta = JSON.parse(await readFile(join(viaXet.out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta.source).toEqual({ type: "git-xet", rev: repo.commit, files: null });
  });

  it("sends the git token to the git host only, the Xet token to the CAS only, nothing to xorb URLs", async () => {
    const { error, log } = await fetchGitXet("required");
    expect(error).toBeUndefined();
    expect(log).not.toContain(TOKEN);
    for (const request of lfs.log) expect(request.authorization, request.path).toBeDefined();
    for (const request of hub.requests) {
      if (request.route === "xet-reconstruction") expect(request.credential).toBe("xet-token");
      else expect(request.credential, request.route).toBe("none");
    }
  });

  it("refreshes the token through the action's href when the CAS refuses it", async () => {
    hub.setFaults(faults.times(1, faults.xetTokenExpired(), (request) => request.route === "xet-reconstruction"));
    const { error, out } = await fetchGitXet("required");
    expect(error).toBeUndefined();
    await expectModel(out);
    const refreshes = lfs.log.filter((request) => request.path.endsWith("/xet-read-token"));
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.authorization).toBeDefined();
  });

  it("sends the Xet token to xet.endpoint instead of the CAS the LFS server names", async () => {
    const other = `http://127.0.0.2:${new URL(hub.url).port}`;
    const { error } = await fetchGitXet("required", { endpoint: other });
    expect(error).toBeUndefined();
    const reconstructions = hub.requests.filter((request) => request.route === "xet-reconstruction");
    expect(reconstructions.length).toBeGreaterThan(0);
    expect(reconstructions.every((request) => request.host.startsWith("127.0.0.2"))).toBe(true);
  });

  it("without X-Xet-Hash in the actions (as huggingface.co answers): basic with a log line, or a clear error", async () => {
    lfs.xet = { hubUrl: hub.url, hubRepo: HUB_REPO, withoutHash: true };
    const auto = await fetchGitXet("auto");
    expect(auto.error).toBeUndefined();
    await expectModel(auto.out);
    expect(auto.log).toMatch(/LFS objects of .* come through the basic transfer: .*no Xet file hash \(X-Xet-Hash\)/);
    expect(lfsContentGets()).toHaveLength(lfsPaths().length);

    const required = await fetchGitXet("required");
    expect(required.error).toBeInstanceOf(UserError);
    expect((required.error as Error).message).toContain(
      `network.xet = "required", but ${lfsPaths().length} LFS objects of ${repo.url} cannot come through Xet`,
    );
    expect((required.error as Error).message).toContain("no Xet file hash (X-Xet-Hash)");
    expect(existsSync(required.out)).toBe(false);
  });

  it("names its own option, files, when the patterns match no LFS file, under source git-xet", async () => {
    const { error, out } = await fetchGitXet("auto", { files: ["*.gguf"] });
    expect(error).toBeInstanceOf(UserError);
    const { details, message } = error as UserError;
    expect(message).toContain(`No LFS file of ${repo.url} matches the files patterns`);
    expect(message).not.toContain("lfsFiles");
    expect(details.context).toMatchObject({ source: "git-xet", files: '["*.gguf"]' });
    expect(existsSync(out)).toBe(false);
  });

  it("falls back to the basic transfer, from where Xet stopped, when the Xet data is bad", async () => {
    hub.setFaults(faults.always({ xet: "chunk-version" }, (request) => request.route === "xet-xorb"));
    const target = "model.safetensors";
    const { error, out, log } = await fetchGitXet("auto", { files: [target] });
    expect(error).toBeUndefined();
    await expectModel(out, target);
    expect(log).toContain(`${target}: the Xet download failed`);
    expect(log).toContain("through the LFS basic transfer instead");
    // The fallback asked the Batch API for basic alone, then downloaded the object.
    expect(lfsContentGets()).toHaveLength(1);
  });
});
