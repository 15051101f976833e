/**
 * `list`, `info` and `gc pin|unpin|list` on a real Nix store (a private one: its roots are
 * only this test's, and garbage collection touches nothing else): models built by a
 * single-hash fetchModel and by lib.fromLock, a lock entry added but never built, two
 * locked models sharing a weight file, pins that survive `nix-collect-garbage` and go
 * with the next one once removed.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockedBlobPath, parseLockFile } from "../../src/lockfile/index.js";
import { type HubServer, startHubServer } from "../../src/serve/index.js";
import { runCli } from "../helpers/cli.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { libPrelude, nixAvailable } from "../helpers/nix.js";
import { type PrivateStore, privateStore } from "../helpers/private-store.js";
import { safetensors } from "../integration/fixtures.js";

const MiB = 1024 * 1024;

describe.skipIf(!nixAvailable)("list, info and gc on a real Nix store", () => {
  let store: PrivateStore;
  let hubRoot: string;
  let hub: HubServer;
  let work: string;
  let lock: string;
  const repos: Record<string, WrittenHubRepo> = {};
  /** The weight file two locked models share. */
  const shared = safetensors(randomBytes(MiB + 4321));
  let singleHash: string;
  const paths: Record<string, string> = {};

  const env = () => ({ ...store.env, HF_ENDPOINT: hub.url, HF_TOKEN: "" });
  const cli = (args: string[]) => runCli(args, { env: env(), cwd: work });
  const json = async (args: string[], code = 0) => {
    const result = await cli([...args, "--json"]);
    expect(result.code, result.stderr).toBe(code);
    return JSON.parse(result.stdout);
  };
  const narSize = async (path: string) => Number((await store.nixStore(["--query", "--size", path])).trim());

  beforeAll(async () => {
    store = await privateStore();
    hubRoot = await mkdtemp(join(tmpdir(), "nmr-lifecycle-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-lifecycle-work-"));
    lock = join(work, "models.lock.json");
    const config = (name: string) => JSON.stringify({ model_type: name, run: randomBytes(6).toString("hex") });
    repos["single"] = await writeHubRepo(hubRoot, {
      repoId: "acme/single",
      files: { "config.json": config("single"), "model.safetensors": safetensors(randomBytes(MiB / 2)) },
    });
    repos["alpha"] = await writeHubRepo(hubRoot, {
      repoId: "acme/alpha",
      files: { "config.json": config("alpha"), "weights.safetensors": shared },
    });
    repos["beta"] = await writeHubRepo(hubRoot, {
      repoId: "acme/beta",
      files: { "config.json": config("beta"), "weights.safetensors": shared },
    });
    repos["gamma"] = await writeHubRepo(hubRoot, {
      repoId: "acme/gamma",
      files: { "config.json": config("gamma"), "model.safetensors": safetensors(randomBytes(MiB + 17)) },
    });
    hub = await startHubServer({ root: hubRoot });

    // A single-hash fetchModel, kept by a result link.
    const prefetched = await json(["prefetch", "hf:acme/single", "--name", "single"]);
    singleHash = prefetched.hash;
    const [single] = await store.build(
      `${libPrelude} nmr.fetchModel { name = "single"; source.huggingface = { repo = "acme/single"; endpoint = "${hub.url}"; }; hash = "${singleHash}"; }`,
      join(work, "result-single"),
    );
    paths["single"] = single!;

    // Three locked models; two of them built by fromLock, one only added.
    for (const name of ["alpha", "beta", "gamma"]) {
      const added = await cli(["add", name, `hf:acme/${name}`, "--lock", lock, "--large-from", "1M"]);
      expect(added.code, added.stderr).toBe(0);
    }
    for (const name of ["alpha", "beta"]) {
      const [built] = await store.build(`${libPrelude} (nmr.fromLock ${lock}).${name}`, join(work, `result-${name}`));
      paths[name] = built!;
    }
  }, 600_000);

  afterAll(async () => {
    await hub?.close();
    await store?.close();
    await rm(hubRoot, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it("lists fetchModel and fromLock models and unbuilt lock entries, a shared weight file counted once", async () => {
    const list = await json(["list", "--lock", lock]);
    const byName = Object.fromEntries(list.models.map((model: { name: string }) => [model.name, model]));
    expect(Object.keys(byName).sort()).toEqual(["alpha", "beta", "gamma", "single"]);

    expect(byName.single).toMatchObject({
      source: "hf:acme/single@main",
      revision: repos["single"]!.commit,
      state: "built",
      storePath: paths["single"],
      lockEntry: null,
      locked: false,
      roots: [{ link: join(work, "result-single"), path: paths["single"] }],
    });
    for (const name of ["alpha", "beta"]) {
      expect(byName[name]).toMatchObject({
        source: `hf:acme/${name}`,
        revision: repos[name]!.commit,
        state: "built",
        storePath: paths[name],
        lockEntry: name,
        locked: true,
        roots: [{ link: join(work, `result-${name}`), path: paths[name] }],
      });
    }
    // Added, never built, nothing keeps its files: listed, with its files in the store.
    expect(byName.gamma).toMatchObject({ state: "in-store", storePath: null, lockEntry: "gamma", roots: [] });

    // The weight file alpha and beta share is one store path, counted once.
    const entries = parseLockFile(await readFile(lock), lock).models;
    const weights = entries["alpha"]!.files.find((file) => file.path === "weights.safetensors")!;
    const blob = lockedBlobPath(weights, store.storeDir);
    expect(entries["beta"]!.files.find((file) => file.path === "weights.safetensors")!.sha256).toBe(weights.sha256);
    expect(byName.alpha.paths).toContain(blob);
    expect(byName.beta.paths).toContain(blob);
    const blobSize = await narSize(blob);
    expect(blobSize).toBeGreaterThan(MiB);
    expect(byName.alpha.sharedBytes).toBe(blobSize);
    expect(byName.beta.sharedBytes).toBe(blobSize);
    expect(byName.single.sharedBytes).toBe(0);
    const rowBytes = list.models.reduce((sum: number, model: { bytes: number }) => sum + model.bytes, 0);
    expect(list.sharedBytes).toBe(blobSize);
    expect(list.totalBytes).toBe(rowBytes - blobSize);
    // Sizes are Nix's own: a fetchModel model is its raw output and the validated output.
    const single = byName.single as { paths: string[]; bytes: number };
    const sizes = await Promise.all(single.paths.map(narSize));
    expect(single.bytes).toBe(sizes.reduce((sum, size) => sum + size, 0));

    const text = await cli(["list", "--lock", lock]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NAME\s+SOURCE\s+REVISION\s+SIZE\s+SHARED\s+KEPT BY$/m);
    expect(text.stdout).toMatch(/^gamma\s.*not built; its files are in the store, nothing keeps them$/m);
    expect(text.stdout).toContain("several models share, counted once");
    expect(text.stderr).toContain("reading the garbage collector's roots");
  });

  it("shows a model's source, revision, files, hashes, validation report, roots and shared blobs", async () => {
    const alpha = await json(["info", "alpha", "--lock", lock]);
    const repo = repos["alpha"]!;
    expect(alpha).toMatchObject({
      name: "alpha",
      lockEntry: "alpha",
      source: "hf:acme/alpha",
      revision: repo.commit,
      resolved: { commit: repo.commit },
      layout: "huggingface",
      storePath: paths["alpha"],
      roots: [{ link: join(work, "result-alpha") }],
      validation: { result: "passed" },
    });
    expect(alpha.files).toEqual(
      repo.files.map((file) => ({
        path: file.path,
        size: file.size,
        sha256: file.sha256,
        large: file.size >= MiB,
        ...(file.size >= MiB ? { storePath: lockedBlobPath(file, store.storeDir) } : {}),
      })),
    );
    // Each store path with Nix's own NAR hash.
    for (const path of alpha.paths) {
      const nix32 = (await store.nixStore(["--query", "--hash", path.path])).trim();
      const sri = (await runCli(["hash", "--sri", path.path], { env: env() })).stdout.trim();
      expect(nix32).toMatch(/^sha256:/);
      expect(path.narHash).toBe(sri);
    }
    expect(alpha.sharing).toEqual([
      expect.objectContaining({
        name: "beta",
        storePath: paths["beta"],
        sharedPaths: [lockedBlobPath(repo.files.find((file) => file.path === "weights.safetensors")!, store.storeDir)],
        sameContent: ["weights.safetensors"],
      }),
    ]);

    // By path (a result link): the raw output's NAR hash is the single-hash fetchModel's hash.
    const single = await json(["info", join(work, "result-single")]);
    expect(single).toMatchObject({ name: "single", lockEntry: null, hash: singleHash, storePath: paths["single"] });
    expect(single.validation.validators.length).toBeGreaterThan(0);

    // A lock entry never built: its fixed-output paths, in the store or not.
    const gamma = await json(["info", "gamma", "--lock", lock]);
    expect(gamma).toMatchObject({ storePath: null, hash: null, roots: [] });
    expect(gamma.paths.every((path: { inStore: boolean }) => path.inStore)).toBe(true);

    const text = await cli(["info", "alpha", "--lock", lock]);
    expect(text.stdout).toContain(`kept by:\n  ${join(work, "result-alpha")} -> ${paths["alpha"]}`);
    expect(text.stdout).toMatch(
      /shared with:\n {2}beta \(.*\): 1 store path\(s\), [\d.]+ MiB stored once; 1 file\(s\) with the same bytes/,
    );

    const missing = await cli(["info", "nosuchmodel", "--lock", lock]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("No model named nosuchmodel");
  });

  it("pins the downloaded files of a lock entry that is not built, through garbage collection", async () => {
    const entry = parseLockFile(await readFile(lock), lock).models["gamma"]!;
    const blob = lockedBlobPath(entry.files.find((file) => file.large)!, store.storeDir);
    expect(existsSync(blob)).toBe(true);
    const pinned = await json(["gc", "pin", "gamma", "--lock", lock]);
    expect(pinned.filesOnly).toBe(true);
    expect(pinned.pinned).toHaveLength(2);
    await store.collectGarbage();
    expect(existsSync(blob)).toBe(true);
    expect(
      (await json(["list", "--lock", lock])).models.find((m: { name: string }) => m.name === "gamma").roots,
    ).toHaveLength(2);

    await json(["gc", "unpin", "gamma"]);
    await store.collectGarbage();
    expect(existsSync(blob)).toBe(false);
    const list = await json(["list", "--lock", lock]);
    expect(list.models.find((m: { name: string }) => m.name === "gamma")).toMatchObject({ state: "missing", bytes: 0 });
  });
  it("keeps a pinned model through nix-collect-garbage, and lets the next one delete it once unpinned", async () => {
    const result = join(work, "result-single");
    const pinned = await json(["gc", "pin", result]);
    const link = join(store.env["XDG_DATA_HOME"]!, "nix-model-repo", "gc-roots", "single");
    expect(pinned).toMatchObject({ name: "single", pinned: [{ link, path: paths["single"] }], filesOnly: false });
    await unlink(result);
    await store.collectGarbage();
    expect(existsSync(paths["single"]!)).toBe(true);
    expect((await json(["gc", "list"])).pins).toEqual([
      { name: "single", link, part: null, target: paths["single"], valid: true, registered: true },
    ]);
    const listed = (await json(["list", "--lock", lock])).models.find(
      (model: { name: string }) => model.name === "single",
    );
    expect(listed.roots).toEqual([{ link, path: paths["single"] }]);

    const unpinned = await json(["gc", "unpin", "single"]);
    expect(unpinned.removed).toHaveLength(1);
    await store.collectGarbage();
    expect(existsSync(paths["single"]!)).toBe(false);
    const again = await cli(["gc", "unpin", "single"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("single is not pinned");
  });
});
