/**
 * The per-file fetch of a locked model (the spec's `select`, src/fetch/fetch-selected.ts):
 * only the files named, pinned to the locked commit whatever the branch says now, checked
 * against the lock's size and sha256, into a file or a folder of <sha256> files; anything
 * else refused naming the file, with no output left.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { explainForUser } from "../../src/errors/explain.js";
import { runFetchSpec } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { silentProgress } from "../../src/progress/silent.js";
import { faults, type HubServer, startHubServer } from "../../src/serve/index.js";
import { type FixtureFile, writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";

const options = { env: {}, progress: silentProgress };

describe("fetching the files a lock names", () => {
  let root: string;
  let work: string;
  let hub: HubServer;
  let old: WrittenHubRepo;
  let wide: WrittenHubRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-select-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-select-out-"));
    // main has moved on since the lock was written: the old commit is still there, unnamed.
    old = await writeHubRepo(root, {
      repoId: "acme/tiny",
      files: { "config.json": '{"v":1}', "model.safetensors": Buffer.alloc(5000, 1), "vocab.txt": "a\nb\n" },
      refs: {},
      extraCommits: [{ files: { "config.json": '{"v":2}' }, refs: ["main"] }],
    });
    // More files than one paths-info question asks about (1000).
    wide = await writeHubRepo(root, {
      repoId: "acme/wide",
      files: Object.fromEntries(Array.from({ length: 1001 }, (_, index) => [`rows/${index}.json`, `{"row":${index}}`])),
    });
    hub = await startHubServer({ root });
  });

  afterEach(() => {
    hub.setFaults(undefined);
    hub.clearRequests();
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const file = (path: string): FixtureFile => old.files.find((f) => f.path === path)!;
  const spec = (
    output: "file" | "directory",
    files: readonly { path: string; size: number; sha256: string }[],
    { repo = "acme/tiny", commit = old.commit } = {},
  ) =>
    parseSpec({
      specVersion: SPEC_VERSION,
      name: "tiny",
      source: { type: "huggingface", repo, revision: "main", endpoint: hub.url },
      select: { output, resolved: { commit }, files },
    });
  const pick = (path: string) => ({ path, size: file(path).size, sha256: file(path).sha256 });

  it("fetches one file as the output itself, from the pinned commit, not where main points now", async () => {
    const out = join(work, "one");
    await runFetchSpec(spec("file", [pick("config.json")]), out, options);
    expect(await readFile(out, "utf8")).toBe('{"v":1}');
    // Pinned: no question about where the branch points, no listing of the repo: the Hub is
    // asked about the one path, then it is downloaded.
    expect(hub.requests.map((request) => `${request.method} ${request.route}`)).toEqual([
      "POST paths-info",
      "GET resolve",
    ]);
    expect(hub.requests[0]?.url).toBe(`/api/models/acme/tiny/paths-info/${old.commit}`);
    expect(hub.requests[1]?.url).toBe(`/acme/tiny/resolve/${old.commit}/config.json`);
  });

  it("fetches the small files into a folder named by content, each content once", async () => {
    const out = join(work, "small");
    await runFetchSpec(spec("directory", [pick("config.json"), pick("vocab.txt")]), out, options);
    expect((await readdir(out)).sort()).toEqual([file("config.json").sha256, file("vocab.txt").sha256].sort());
    expect(await readFile(join(out, file("vocab.txt").sha256), "utf8")).toBe("a\nb\n");
  });

  it("refuses a file the pinned commit does not list, before downloading anything", async () => {
    const out = join(work, "missing");
    const missing = { path: "gone.bin", size: 1, sha256: "0".repeat(64) };
    await expect(runFetchSpec(spec("file", [missing]), out, options)).rejects.toThrow(
      "gone.bin is locked, but acme/tiny @ main does not list it at the locked revision",
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a file whose listed size or digest is not the lock's: changed in place", async () => {
    const out = join(work, "changed");
    const wrongSize = { ...pick("model.safetensors"), size: 4999 };
    await expect(runFetchSpec(spec("file", [wrongSize]), out, options)).rejects.toThrow(
      "model.safetensors of acme/tiny @ main is not the file the lock pins: it changed in place upstream",
    );
    const wrongDigest = { ...pick("model.safetensors"), sha256: "f".repeat(64) };
    await expect(runFetchSpec(spec("file", [wrongDigest]), out, options)).rejects.toThrow("changed in place");
    expect(existsSync(out)).toBe(false);
  });

  it("checks the bytes against the lock's sha256 even when the source vouches only for a git oid", async () => {
    const out = join(work, "corrupt");
    const lying = { ...pick("vocab.txt"), sha256: "e".repeat(64) };
    const error = await runFetchSpec(spec("directory", [lying]), out, options).catch((caught: unknown) => caught);
    expect(String((error as Error).message)).toContain("vocab.txt");
    expect((error as { code?: string }).code).toBe("NMR_INTEGRITY");
    expect(existsSync(out)).toBe(false);
  });

  it("refuses a spec whose select is malformed, naming the field", () => {
    expect(() =>
      parseSpec({
        specVersion: SPEC_VERSION,
        name: "tiny",
        source: { type: "huggingface", repo: "acme/tiny" },
        select: { output: "file", resolved: {}, files: [pick("config.json"), pick("vocab.txt")] },
      }),
    ).toThrow('spec.select.files must name exactly one file when output = "file"');
    expect(() =>
      parseSpec({
        specVersion: SPEC_VERSION,
        name: "tiny",
        source: { type: "huggingface", repo: "acme/tiny" },
        select: { output: "file", resolved: {}, files: [{ path: "x", size: 1, sha256: "XYZ" }] },
      }),
    ).toThrow("spec.select.files[0].sha256 must be 64 lowercase hex digits");
  });

  describe("asks the Hub about the locked paths only, and trusts its answer no further", () => {
    const answering = (body: object) =>
      hub.setFaults(faults.always({ respond: { status: 200, body } }, (request) => request.route === "paths-info"));
    const realEntry = (path: string) => {
      const listed = file(path);
      return { type: "file", path, size: listed.size, oid: listed.gitOid };
    };

    it("asks once per thousand paths, and never lists the tree", async () => {
      const out = join(work, "wide");
      const rows = wide.files.map((row) => ({ path: row.path, size: row.size, sha256: row.sha256 }));
      await runFetchSpec(spec("directory", rows, { repo: "acme/wide", commit: wide.commit }), out, options);
      expect((await readdir(out)).length).toBe(new Set(rows.map((row) => row.sha256)).size);
      expect(hub.requests.filter((request) => request.route === "paths-info")).toHaveLength(2);
      expect(hub.requests.filter((request) => request.route === "tree")).toHaveLength(0);
    });

    it("ignores entries for paths it did not ask about, hostile ones included", async () => {
      const out = join(work, "extra-entries");
      answering([
        { type: "file", path: "../../escaped.bin", size: 1, oid: "1".repeat(40) },
        { type: "directory", path: "rows", oid: "2".repeat(40) },
        realEntry("config.json"),
        { ...realEntry("config.json"), size: 1 },
      ]);
      await runFetchSpec(spec("file", [pick("config.json")]), out, options);
      expect(await readFile(out, "utf8")).toBe('{"v":1}');
      expect(existsSync(join(work, "..", "escaped.bin"))).toBe(false);
      expect(hub.requests.map((request) => request.route)).toEqual(["paths-info", "resolve"]);
    });

    it("refuses a malformed entry for a locked path, naming it, with no output", async () => {
      const out = join(work, "malformed");
      answering([{ ...realEntry("config.json"), size: -1 }]);
      await expect(runFetchSpec(spec("file", [pick("config.json")]), out, options)).rejects.toThrow(
        "The Hub's paths-info answer for acme/tiny has a malformed entry: size is not a non-negative integer",
      );
      expect(existsSync(out)).toBe(false);
    });

    it("refuses an answer that is not a list, with no output", async () => {
      const out = join(work, "not-a-list");
      answering({ paths: [realEntry("config.json")] });
      await expect(runFetchSpec(spec("file", [pick("config.json")]), out, options)).rejects.toThrow(
        "The Hub's paths-info answer for acme/tiny is not a list",
      );
      expect(existsSync(out)).toBe(false);
    });

    it("lists the tree instead when the endpoint has no paths-info route (a mirror, a proxy)", async () => {
      for (const status of [404, 405]) {
        hub.clearRequests();
        const out = join(work, `no-paths-info-${status}`);
        hub.setFaults(
          faults.always({ respond: { status, body: "Not Found" } }, (request) => request.route === "paths-info"),
        );
        await runFetchSpec(spec("file", [pick("config.json")]), out, options);
        expect(await readFile(out, "utf8")).toBe('{"v":1}');
        expect(hub.requests.map((request) => `${request.status} ${request.route}`)).toEqual([
          `${status} paths-info`,
          "200 tree",
          "200 resolve",
        ]);
      }
    });

    it("takes the Hub's own not-found at face value: no listing, the Hub's reason", async () => {
      const out = join(work, "no-revision");
      const error = await runFetchSpec(
        spec("file", [pick("config.json")], { commit: "0".repeat(40) }),
        out,
        options,
      ).catch((caught: unknown) => caught);
      expect(explainForUser(error).message).toContain(
        `acme/tiny no longer has commit ${"0".repeat(40)}, which the lockfile pins`,
      );
      expect(hub.requests.map((request) => request.route)).toEqual(["paths-info"]);
      expect(existsSync(out)).toBe(false);
    });

    it("refuses a locked path the answer leaves out, before downloading anything", async () => {
      const out = join(work, "left-out");
      answering([realEntry("vocab.txt")]);
      await expect(runFetchSpec(spec("file", [pick("config.json")]), out, options)).rejects.toThrow(
        "config.json is locked, but acme/tiny @ main does not list it at the locked revision",
      );
      expect(hub.requests.filter((request) => request.route === "resolve")).toHaveLength(0);
      expect(existsSync(out)).toBe(false);
    });
  });
});
