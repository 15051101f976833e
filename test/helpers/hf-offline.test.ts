/**
 * The offline-lookup verifier (test/helpers/hf-offline.ts) on hand-built cache folders, good
 * and broken. Each scenario states what huggingface_hub does; when HUGGINGFACE_HUB_SRC is
 * set, the same calls run through the real library and must give the same outcomes.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CACHED_NO_EXIST,
  assertEveryFileFoundOffline,
  hfHubDownloadOffline,
  pythonStrRepr,
  repoFolderName,
  scanCacheDir,
  snapshotDownloadOffline,
  tryToLoadFromCache,
  type HFCacheInfo,
} from "./hf-offline.js";
import { realHubSkipReason, runRealHub, type HubCall, type HubOutcome } from "./hf-python.js";

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const sha256 = (content: string | Buffer) => createHash("sha256").update(content).digest("hex");
const C1 = sha1("commit one");
const C2 = sha1("commit two");
const C3 = sha1("commit three");
const REPO = "acme/tiny";
const FOLDER = "models--acme--tiny";

const FILES = {
  "config.json": '{"hidden_size": 8}\n',
  "model.safetensors": "pretend safetensors bytes",
  "a/b/c.bin": "nested file, three levels down",
} as const;
/** FILES as assertEveryFileFoundOffline takes them: contents as Buffers (a string there is a sha256). */
const EXPECTED: Record<string, Buffer> = Object.fromEntries(
  Object.entries(FILES).map(([path, content]) => [path, Buffer.from(content)]),
);

/** Writes one repo folder by hand. Pointers are relative symlinks unless a scenario says otherwise. */
class RepoWriter {
  constructor(readonly folder: string) {
    mkdirSync(join(folder, "snapshots"), { recursive: true });
  }
  blob(content: string): string {
    const name = sha256(content);
    mkdirSync(join(this.folder, "blobs"), { recursive: true });
    writeFileSync(join(this.folder, "blobs", name), content);
    return name;
  }
  pointer(commit: string, path: string, target: string): void {
    const at = join(this.folder, "snapshots", commit, path);
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(target, at);
  }
  /** blob + the huggingface_hub-style relative pointer (`../` per directory level, plus two). */
  file(commit: string, path: string, content: string): void {
    const depth = path.split("/").length - 1;
    this.pointer(commit, path, `${"../".repeat(depth + 2)}blobs/${this.blob(content)}`);
  }
  ref(name: string, content: string): void {
    mkdirSync(dirname(join(this.folder, "refs", name)), { recursive: true });
    writeFileSync(join(this.folder, "refs", name), content);
  }
  /** The standard good repo: refs/main → C1 with FILES. */
  standard(): this {
    for (const [path, content] of Object.entries(FILES)) this.file(C1, path, content);
    this.ref("main", C1);
    return this;
  }
}

/** What the TS reader must return: a path under the cache, null, the no-exist sentinel, or an error class. */
type Expected =
  | { path: string }
  | null
  | "NO_EXIST"
  | { error: string }
  | { scan: (cache: string) => Partial<HFCacheInfo> };

interface Scenario {
  readonly name: string;
  /** Builds the cache under `work` and returns the cache dir to pass to the readers. */
  build(work: string): string;
  readonly checks: readonly (readonly [HubCall, Expected])[];
}

const t = (filename: string, revision?: string): HubCall => ({
  op: "try_to_load_from_cache",
  repoId: REPO,
  filename,
  ...(revision ? { revision } : {}),
});
const h = (filename: string, revision?: string): HubCall => ({
  op: "hf_hub_download",
  repoId: REPO,
  filename,
  ...(revision ? { revision } : {}),
});
const s = (revision?: string, localFilesOnly = false): HubCall => ({
  op: "snapshot_download",
  repoId: REPO,
  ...(revision ? { revision } : {}),
  ...(localFilesOnly ? { localFilesOnly } : {}),
});
/** snapshot_download of a commit under HF_HUB_OFFLINE=1 without trees/<commit>.json. */
const offlineMode = { error: "OfflineModeIsEnabled" };
const scan: HubCall = { op: "scan_cache_dir" };
const at = (...parts: string[]) => ({ path: join(FOLDER, ...parts) });
const notFound = { error: "LocalEntryNotFoundError" };

const scenarios: Scenario[] = [
  {
    name: "a good layout (refs/main, nested paths, a PR ref, a dataset, cache markers)",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER)).standard();
      repo.file(C2, "config.json", "older config\n");
      repo.ref("refs/pr/1", C2);
      new RepoWriter(join(cache, "datasets--acme--data")).file(C1, "train.csv", "a,b\n1,2\n");
      mkdirSync(join(cache, ".locks", FOLDER), { recursive: true });
      writeFileSync(join(cache, "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55\n");
      writeFileSync(join(cache, ".DS_Store"), "");
      return cache;
    },
    checks: [
      [t("config.json"), at("snapshots", C1, "config.json")],
      [t("a/b/c.bin"), at("snapshots", C1, "a", "b", "c.bin")],
      [t("missing.txt"), null],
      [t("config.json", "refs/pr/1"), at("snapshots", C2, "config.json")],
      [t("config.json", C2), at("snapshots", C2, "config.json")],
      [t("config.json", "v1.0"), null],
      [h("config.json"), at("snapshots", C1, "config.json")],
      [h("a/b/c.bin"), at("snapshots", C1, "a", "b", "c.bin")],
      [h("a/b/c.bin", C1), at("snapshots", C1, "a", "b", "c.bin")],
      [h("missing.txt"), notFound],
      [h("config.json", "v1.0"), notFound],
      [s(), at("snapshots", C1)],
      [s(undefined, true), at("snapshots", C1)],
      // A pinned commit skips the cache-only branch under HF_HUB_OFFLINE and needs trees/.
      [s(C2), offlineMode],
      [s(C2, true), at("snapshots", C2)],
      [s("refs/pr/1"), at("snapshots", C2)],
      [s("v1.0"), notFound],
      [
        { op: "try_to_load_from_cache", repoId: "acme/data", repoType: "dataset", filename: "train.csv", revision: C1 },
        { path: join("datasets--acme--data", "snapshots", C1, "train.csv") },
      ],
      [
        scan,
        {
          scan: (cache) => ({
            warnings: [],
            incompleteFiles: [],
            repos: [
              expect.objectContaining({ repoId: "acme/data", repoType: "dataset", nbFiles: 1 }),
              expect.objectContaining({
                repoId: REPO,
                repoType: "model",
                repoPath: join(cache, FOLDER),
                nbFiles: 4,
                // Sorted by commit hash.
                revisions: [
                  [
                    C1,
                    expect.objectContaining({
                      commitHash: C1,
                      refs: ["main"],
                      files: expect.arrayContaining([expect.objectContaining({ fileName: "c.bin" })]),
                    }),
                  ],
                  [C2, expect.objectContaining({ commitHash: C2, refs: ["refs/pr/1"] })],
                ]
                  .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1))
                  .map(([, matcher]) => matcher),
              }),
            ],
          }),
        },
      ],
    ],
  },
  {
    name: "a trailing newline in refs/main",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER)).standard();
      repo.ref("main", `${C1}\n`);
      return cache;
    },
    checks: [
      [t("config.json"), null],
      [h("config.json"), notFound],
      [h("config.json", C1), at("snapshots", C1, "config.json")],
      [s(), notFound],
      [s(C1), offlineMode],
      [s(C1, true), at("snapshots", C1)],
      [
        scan,
        {
          scan: (cache) => ({
            warnings: [`Reference(s) refer to missing commit hashes: {'${C1}\\n': {'main'}} (${join(cache, FOLDER)}).`],
          }),
        },
      ],
    ],
  },
  {
    name: "a missing blob (dangling pointer)",
    build(work) {
      const cache = join(work, "cache");
      new RepoWriter(join(cache, FOLDER)).standard();
      rmSync(join(cache, FOLDER, "blobs", sha256(FILES["config.json"])));
      return cache;
    },
    checks: [
      [t("config.json"), null],
      [t("model.safetensors"), at("snapshots", C1, "model.safetensors")],
      [h("config.json"), notFound],
      // Without trees/<commit>.json snapshot_download cannot tell the folder is incomplete.
      [s(), at("snapshots", C1)],
      // The message names where the link points, not the link.
      [
        scan,
        {
          scan: (cache) => ({
            warnings: [`Blob missing (broken symlink): ${join(cache, FOLDER, "blobs", sha256(FILES["config.json"]))}`],
            repos: [],
          }),
        },
      ],
    ],
  },
  {
    name: "an absolute symlink",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER));
      repo.ref("main", C1);
      repo.file(C1, "model.safetensors", FILES["model.safetensors"]);
      repo.file(C1, "a/b/c.bin", FILES["a/b/c.bin"]);
      repo.pointer(C1, "config.json", join(cache, FOLDER, "blobs", repo.blob(FILES["config.json"])));
      return cache;
    },
    // Every reader accepts it; only the project's layout rule rejects it.
    checks: [
      [t("config.json"), at("snapshots", C1, "config.json")],
      [h("config.json"), at("snapshots", C1, "config.json")],
      [s(), at("snapshots", C1)],
      [scan, { scan: () => ({ warnings: [] }) }],
    ],
  },
  {
    name: "no refs/main",
    build(work) {
      const cache = join(work, "cache");
      new RepoWriter(join(cache, FOLDER)).standard();
      rmSync(join(cache, FOLDER, "refs"), { recursive: true });
      return cache;
    },
    checks: [
      [t("config.json"), null],
      [t("config.json", C1), at("snapshots", C1, "config.json")],
      [h("config.json"), notFound],
      [h("a/b/c.bin", C1), at("snapshots", C1, "a", "b", "c.bin")],
      [s(), notFound],
      [s(undefined, true), notFound],
      [s(C1), offlineMode],
      [s(C1, true), at("snapshots", C1)],
      // scan_cache_dir does not require refs/.
      [scan, { scan: () => ({ warnings: [] }) }],
    ],
  },
  {
    name: "a nested pointer one ../ short",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER));
      repo.ref("main", C1);
      repo.pointer(C1, "a/b/c.bin", `../../../blobs/${repo.blob(FILES["a/b/c.bin"])}`);
      return cache;
    },
    checks: [
      [t("a/b/c.bin"), null],
      [h("a/b/c.bin"), notFound],
      // snapshots/<c>/a/b + ../../../ is snapshots/, so the link dangles at snapshots/blobs/<x>.
      [
        scan,
        {
          scan: (cache) => ({
            warnings: [
              `Blob missing (broken symlink): ${join(cache, FOLDER, "snapshots", "blobs", sha256(FILES["a/b/c.bin"]))}`,
            ],
          }),
        },
      ],
    ],
  },
  {
    name: "trees/<commit>.json listing a file the snapshot lacks",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER)).standard();
      mkdirSync(join(cache, FOLDER, "trees"));
      const listing = (formatVersion: number, paths: string[]) =>
        JSON.stringify({
          format_version: formatVersion,
          files: Object.fromEntries(paths.map((path) => [path, { size: 1, blob_id: "x" }])),
        });
      writeFileSync(join(cache, FOLDER, "trees", `${C1}.json`), listing(1, ["config.json", "extra.bin"]));
      // A listing in a format this reader does not know is ignored.
      repo.file(C2, "config.json", "v2\n");
      writeFileSync(join(cache, FOLDER, "trees", `${C2}.json`), listing(2, ["config.json", "extra.bin"]));
      // A complete listing lets HF_HUB_OFFLINE snapshot_download of a pinned commit work.
      repo.file(C3, "config.json", "v3\n");
      repo.file(C3, "a/b.bin", "v3 b\n");
      writeFileSync(join(cache, FOLDER, "trees", `${C3}.json`), listing(1, ["a/b.bin", "config.json"]));
      return cache;
    },
    checks: [
      [s(), { error: "IncompleteSnapshotError" }],
      [s(undefined, true), { error: "IncompleteSnapshotError" }],
      // Under HF_HUB_OFFLINE a pinned commit "downloads" each listed file: extra.bin is missing.
      [s(C1), notFound],
      [s(C1, true), { error: "IncompleteSnapshotError" }],
      [s(C2), offlineMode],
      [s(C2, true), at("snapshots", C2)],
      [s(C3), at("snapshots", C3)],
      [s(C3, true), at("snapshots", C3)],
      // hf_hub_download of a present file does not consult trees/.
      [h("config.json"), at("snapshots", C1, "config.json")],
    ],
  },
  {
    name: ".no_exist markers",
    build(work) {
      const cache = join(work, "cache");
      new RepoWriter(join(cache, FOLDER)).standard();
      mkdirSync(join(cache, FOLDER, ".no_exist", C1), { recursive: true });
      writeFileSync(join(cache, FOLDER, ".no_exist", C1, "adapter_config.json"), "");
      return cache;
    },
    checks: [
      [t("adapter_config.json"), "NO_EXIST"],
      [h("adapter_config.json"), notFound],
      [scan, { scan: () => ({ warnings: [] }) }],
    ],
  },
  {
    name: "real files instead of symlinks in the snapshot (HF_HUB_DISABLE_SYMLINKS)",
    build(work) {
      const cache = join(work, "cache");
      const repo = new RepoWriter(join(cache, FOLDER));
      repo.ref("main", C1);
      for (const [path, content] of Object.entries(FILES)) {
        mkdirSync(dirname(join(repo.folder, "snapshots", C1, path)), { recursive: true });
        writeFileSync(join(repo.folder, "snapshots", C1, path), content);
      }
      return cache;
    },
    checks: [
      [t("a/b/c.bin"), at("snapshots", C1, "a", "b", "c.bin")],
      [h("config.json"), at("snapshots", C1, "config.json")],
      [scan, { scan: () => ({ warnings: [] }) }],
    ],
  },
  {
    name: "the cache dir reached through a symlink",
    build(work) {
      const real = join(work, "real-cache");
      new RepoWriter(join(real, FOLDER)).standard();
      symlinkSync(real, join(work, "cache"));
      return join(work, "cache");
    },
    // hf_hub_download and snapshot_download resolve the cache dir; try_to_load_from_cache does not.
    checks: [
      [t("config.json"), at("snapshots", C1, "config.json")],
      [h("config.json"), { path: join("..", "real-cache", FOLDER, "snapshots", C1, "config.json") }],
      [s(), { path: join("..", "real-cache", FOLDER, "snapshots", C1) }],
    ],
  },
  {
    name: "broken entries at the cache root",
    build(work) {
      const cache = join(work, "cache");
      new RepoWriter(join(cache, FOLDER)).standard();
      writeFileSync(join(cache, "stray.txt"), "");
      mkdirSync(join(cache, "nodashes"));
      new RepoWriter(join(cache, "kernels--acme--kern")).standard();
      mkdirSync(join(cache, "models--acme--nosnap", "blobs"), { recursive: true });
      new RepoWriter(join(cache, "models--acme--refsfile")).standard();
      rmSync(join(cache, "models--acme--refsfile", "refs"), { recursive: true });
      writeFileSync(join(cache, "models--acme--refsfile", "refs"), C1);
      new RepoWriter(join(cache, "models--acme--filesnap")).standard();
      writeFileSync(join(cache, "models--acme--filesnap", "snapshots", "README"), "");
      writeFileSync(join(cache, FOLDER, "blobs", "abc.deadbeef.incomplete"), "part");
      return cache;
    },
    checks: [
      [t("config.json"), at("snapshots", C1, "config.json")],
      [
        scan,
        {
          scan: (cache) => ({
            warnings: [
              `Refs directory cannot be a file: ${join(cache, "models--acme--refsfile", "refs")}`,
              `Repo path is not a directory: ${join(cache, "stray.txt")}`,
              `Repo path is not a valid HuggingFace cache directory: ${join(cache, "nodashes")}`,
              `Repo type must be \`dataset\`, \`model\` or \`space\`, found \`kernel\` (${join(cache, "kernels--acme--kern")}).`,
              `Snapshots dir doesn't exist in cached repo: ${join(cache, "models--acme--nosnap", "snapshots")}`,
              `Snapshots folder corrupted. Found a file: ${join(cache, "models--acme--filesnap", "snapshots", "README")}`,
            ].sort(),
            incompleteFiles: [join(cache, FOLDER, "blobs", "abc.deadbeef.incomplete")],
            repos: [expect.objectContaining({ repoId: REPO })],
          }),
        },
      ],
    ],
  },
  {
    name: "names the library refuses",
    build(work) {
      const cache = join(work, "cache");
      new RepoWriter(join(cache, FOLDER)).standard();
      return cache;
    },
    checks: [
      [{ op: "hf_hub_download", repoId: "a/b/c", filename: "config.json" }, { error: "HFValidationError" }],
      [{ op: "try_to_load_from_cache", repoId: "acme--tiny", filename: "config.json" }, { error: "HFValidationError" }],
      [{ op: "snapshot_download", repoId: "acme/tiny.git" }, { error: "HFValidationError" }],
      [h("../refs/main"), { error: "ValueError" }],
      [h("/etc/passwd"), { error: "ValueError" }],
      [h("C:evil"), { error: "ValueError" }],
      [
        { op: "hf_hub_download", repoId: REPO, filename: "config.json", repoType: "bogus" as "model" },
        { error: "ValueError" },
      ],
      // try_to_load_from_cache does not validate file names: "../" simply misses.
      [t("../refs/main"), null],
    ],
  },
];

/** Runs one call through the TS readers, in the runner's outcome shape. */
function runTs(cache: string, call: HubCall): HubOutcome {
  try {
    switch (call.op) {
      case "try_to_load_from_cache": {
        const value = tryToLoadFromCache(cache, call.repoId, call.filename, call);
        return { ok: true, value: value === CACHED_NO_EXIST ? { cachedNoExist: true } : value };
      }
      case "hf_hub_download":
        return { ok: true, value: hfHubDownloadOffline(cache, call.repoId, call.filename, call) };
      case "snapshot_download":
        return { ok: true, value: snapshotDownloadOffline(cache, call.repoId, call) };
      case "scan_cache_dir":
        return { ok: true, value: scanCacheDir(cache) };
    }
  } catch (error) {
    const typed = error as Error;
    return { ok: false, error: typed.name, message: typed.message };
  }
}

const label = (call: HubCall) =>
  call.op === "scan_cache_dir"
    ? "scan_cache_dir()"
    : `${call.op}(${"filename" in call ? call.filename : ""}${call.revision ? `, revision=${call.revision.slice(0, 12)}` : ""})`;

let root: string;
const caches = new Map<string, string>();
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "hf-offline-"));
  scenarios.forEach((scenario, index) => {
    const work = join(root, `s${index}`);
    mkdirSync(work);
    caches.set(scenario.name, scenario.build(work));
  });
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe.each(scenarios)("offline readers on $name", (scenario) => {
  it.each(scenario.checks.map(([call, expected]) => [label(call), call, expected] as const))(
    "%s",
    (_label, call, expected) => {
      const cache = caches.get(scenario.name) as string;
      const outcome = runTs(cache, call);
      if (expected === null) expect(outcome).toEqual({ ok: true, value: null });
      else if (expected === "NO_EXIST") expect(outcome).toEqual({ ok: true, value: { cachedNoExist: true } });
      else if ("error" in expected) expect(outcome).toMatchObject({ ok: false, error: expected.error });
      else if ("path" in expected) expect(outcome).toEqual({ ok: true, value: join(cache, expected.path) });
      else expect(outcome).toMatchObject({ ok: true, value: expected.scan(cache) });
    },
  );
});

describe("assertEveryFileFoundOffline", () => {
  const cacheOf = (name: string) =>
    caches.get(scenarios.find((scenario) => scenario.name.startsWith(name))?.name ?? "") as string;

  it("passes a good layout and reports what it found", async () => {
    const report = await assertEveryFileFoundOffline(cacheOf("a good layout"), REPO, {
      ...EXPECTED,
      "config.json": sha256(FILES["config.json"]),
    });
    expect(report.commit).toBe(C1);
    expect(report.files.map((file) => [file.path, file.sha256])).toEqual(
      Object.entries(FILES)
        .map(([path, content]) => [path, sha256(content)])
        .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
    );
  });

  it("passes a pinned commit without refs in local_files_only mode, and a PR ref", async () => {
    await assertEveryFileFoundOffline(cacheOf("no refs/main"), REPO, EXPECTED, {
      revision: C1,
      offlineModes: ["local_files_only"],
    });
    await assertEveryFileFoundOffline(
      cacheOf("a good layout"),
      REPO,
      new Map([["config.json", Buffer.from("older config\n")]]),
      { revision: "refs/pr/1" },
    );
  });

  it("rejects a pinned commit under HF_HUB_OFFLINE when trees/<commit>.json is absent, and passes it when present", async () => {
    await expect(
      assertEveryFileFoundOffline(cacheOf("no refs/main"), REPO, EXPECTED, { revision: C1 }),
    ).rejects.toThrow(/snapshot_download\(revision='[0-9a-f]{40}'\) with HF_HUB_OFFLINE failed: OfflineModeIsEnabled/);
    const report = await assertEveryFileFoundOffline(
      cacheOf("trees/"),
      REPO,
      { "config.json": Buffer.from("v3\n"), "a/b.bin": Buffer.from("v3 b\n") },
      { revision: C3 },
    );
    expect(report.commit).toBe(C3);
  });

  it.each([
    [
      "a trailing newline in refs/main",
      /Reference\(s\) refer to missing commit hashes[\s\S]*refs\/main ends with whitespace[\s\S]*try_to_load_from_cache\(config.json\) returned null/,
    ],
    ["a missing blob", /Blob missing[\s\S]*config.json: pointer does not resolve \(dangling symlink\)/],
    ["an absolute symlink", /config.json: symlink target is absolute/],
    ["no refs/main", /refs\/main is missing/],
    ["a nested pointer one ../ short", /a\/b\/c.bin: pointer does not resolve/],
    [
      "trees/<commit>.json",
      /snapshot_download\(revision='main'\) with HF_HUB_OFFLINE failed: IncompleteSnapshotError[\s\S]*local_files_only=True\) with local_files_only failed: IncompleteSnapshotError/,
    ],
    ["real files instead of symlinks", /config.json: pointer is not a symlink/],
    [
      "broken entries at the cache root",
      /scan_cache_dir: Repo path is not a directory[\s\S]*incomplete download left behind/,
    ],
  ])("rejects %s", async (name, message) => {
    await expect(assertEveryFileFoundOffline(cacheOf(name), REPO, EXPECTED)).rejects.toThrow(message);
  });

  it("rejects wrong content, a missing file, an extra file and an empty directory", async () => {
    const cache = join(root, "extra");
    const repo = new RepoWriter(join(cache, FOLDER)).standard();
    repo.file(C1, "README.md", "extra\n");
    mkdirSync(join(repo.folder, "snapshots", C1, "empty", "dir"), { recursive: true });
    const expected = { ...EXPECTED, "config.json": sha256("something else"), "tokenizer.json": sha256("{}") };
    const error = await assertEveryFileFoundOffline(cache, REPO, expected).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(error?.message).toContain(
      `config.json: content sha256 ${sha256(FILES["config.json"])}, expected ${sha256("something else")}`,
    );
    expect(error?.message).toContain("tokenizer.json: no pointer");
    expect(error?.message).toContain("unexpected file in the snapshot: README.md");
    expect(error?.message).toContain("empty directory in the snapshot: empty/dir");
    // Extra files are fine when asked for; the empty directory still is not.
    const lenient = await assertEveryFileFoundOffline(cache, REPO, EXPECTED, { allowExtraFiles: true }).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    expect(lenient?.message).toContain("empty directory in the snapshot: empty/dir");
    expect(lenient?.message).not.toContain("README.md");
  });

  it("rejects a pointer into another repo's blobs", async () => {
    const cache = join(root, "foreign");
    const repo = new RepoWriter(join(cache, FOLDER)).standard();
    const other = new RepoWriter(join(cache, "models--acme--other")).standard();
    rmSync(join(repo.folder, "snapshots", C1, "config.json"));
    repo.pointer(C1, "config.json", `../../../models--acme--other/blobs/${other.blob(FILES["config.json"])}`);
    await expect(assertEveryFileFoundOffline(cache, REPO, EXPECTED)).rejects.toThrow(
      /config.json: pointer resolves to .*models--acme--other\/blobs\/.*, outside the repo's blobs/,
    );
  });
});

describe("names", () => {
  it("repoFolderName follows the library", () => {
    expect(repoFolderName("acme/tiny")).toBe("models--acme--tiny");
    expect(repoFolderName("gpt2")).toBe("models--gpt2");
    expect(repoFolderName("Org.Name/Model_v1.5-beta", "dataset")).toBe("datasets--Org.Name--Model_v1.5-beta");
    expect(repoFolderName("acme/demo", "space")).toBe("spaces--acme--demo");
    for (const bad of [
      "",
      "a/b/c",
      "-acme/tiny",
      "acme/tiny-",
      "acme/ti--ny",
      "acme/ti..ny",
      "acme/tiny.git",
      "acme/ti ny",
      `acme/${"x".repeat(97)}`,
    ]) {
      expect(() => repoFolderName(bad), bad).toThrow(/Repo|Cannot have/);
    }
  });

  it("pythonStrRepr quotes like Python's repr", () => {
    expect(pythonStrRepr("main")).toBe("'main'");
    expect(pythonStrRepr("abc\n")).toBe("'abc\\n'");
    expect(pythonStrRepr("it's")).toBe(`"it's"`);
    expect(pythonStrRepr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pythonStrRepr("tab\there\\")).toBe("'tab\\there\\\\'");
  });
});

describe.skipIf(realHubSkipReason !== undefined)(
  `real huggingface_hub agrees on every scenario (set HUGGINGFACE_HUB_SRC to run${realHubSkipReason ? `; skipped: ${realHubSkipReason}` : ""})`,
  () => {
    const real = new Map<string, HubOutcome[]>();
    beforeAll(async () => {
      // One Python process for every scenario: importing the library is the slow part.
      const calls = scenarios.flatMap((scenario) =>
        scenario.checks.map(([call]) => ({ ...call, cacheDir: caches.get(scenario.name) as string })),
      );
      const outcomes = await runRealHub(root, calls);
      let next = 0;
      for (const scenario of scenarios) {
        real.set(scenario.name, outcomes.slice(next, next + scenario.checks.length));
        next += scenario.checks.length;
      }
    });

    it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))("%s", (_name, scenario) => {
      const cache = caches.get(scenario.name) as string;
      const theirs = real.get(scenario.name) ?? [];
      scenario.checks.forEach(([call], index) => {
        const ours = runTs(cache, call);
        const python = theirs[index] as HubOutcome;
        // Same value, or the same exception class (messages are worded differently).
        const comparable = (outcome: HubOutcome) => (outcome.ok ? outcome : { ok: false, error: outcome.error });
        expect(comparable(ours), `${label(call)}; python said ${JSON.stringify(python)}`).toEqual(comparable(python));
      });
    });
  },
);
