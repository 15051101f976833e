import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ScanInputError, scanFile, scanPaths } from "../../src/scan/index.js";
import { CORPUS_DIR } from "./helpers.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "nmr-scan-walk-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A Hub cache repo folder as the fetcher writes it: blobs, snapshot symlinks, refs. */
async function hubCache(root: string): Promise<void> {
  await mkdir(join(root, "blobs"), { recursive: true });
  await mkdir(join(root, "snapshots", COMMIT, "sub"), { recursive: true });
  await mkdir(join(root, "refs"), { recursive: true });
  await writeFile(join(root, "blobs", "aaa"), JSON.stringify({ model_type: "llama" }));
  await copyFile(join(CORPUS_DIR, "b7-model.safetensors"), join(root, "blobs", "bbb"));
  await copyFile(join(CORPUS_DIR, "m1-os-system-proto0.pkl"), join(root, "blobs", "ccc"));
  await copyFile(join(CORPUS_DIR, "b2-state-dict.pt"), join(root, "blobs", "orphan"));
  await symlink("../../blobs/aaa", join(root, "snapshots", COMMIT, "config.json"));
  await symlink("../../../blobs/bbb", join(root, "snapshots", COMMIT, "sub", "model.safetensors"));
  await symlink("../../blobs/ccc", join(root, "snapshots", COMMIT, "pytorch_model.bin"));
  await writeFile(join(root, "refs", "main"), COMMIT);
}

describe("scanPaths over directories", () => {
  it("reports each file of a Hub cache once, by its snapshot path, and finds the payload", async () => {
    const root = join(dir, "models--org--tiny");
    await hubCache(root);
    const stats = { files: 0, bytesRead: 0 };
    const report = await scanPaths([root], { stats });
    expect(stats.files).toBe(5); // refs/main and four blobs: the snapshot links add none
    expect(stats.bytesRead).toBeGreaterThan(0);
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    const snapshot = join(root, "snapshots", COMMIT);
    expect([...byPath.keys()]).toEqual([
      join(root, "blobs", "orphan"),
      join(root, "refs", "main"),
      join(snapshot, "config.json"),
      join(snapshot, "pytorch_model.bin"),
      join(snapshot, "sub", "model.safetensors"),
    ]);
    expect(byPath.get(join(snapshot, "pytorch_model.bin"))?.verdict).toBe("MALICIOUS");
    expect(byPath.get(join(snapshot, "sub", "model.safetensors"))?.format).toBe("safetensors");
    expect(byPath.get(join(root, "blobs", "orphan"))?.format).toBe("pytorch-zip");
    expect(report.verdict).toBe("MALICIOUS");
    expect(report.summary).toEqual({ files: 5, SAFE: 4, WARN: 0, INVALID: 0, MALICIOUS: 1 });
  });

  it("does not follow symlinks out of the root, and reports broken ones", async () => {
    const outside = join(dir, "outside.pkl");
    await copyFile(join(CORPUS_DIR, "m1-os-system-proto0.pkl"), outside);
    const root = join(dir, "model");
    await mkdir(root);
    await symlink(outside, join(root, "escape.pkl"));
    await symlink("../", join(root, "parent"));
    await symlink("missing-blob", join(root, "dangling"));
    await symlink(".", join(root, "loop"));
    await writeFile(join(root, "ok.json"), "{}");
    const report = await scanPaths([root]);
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    expect(byPath.get(join(root, "escape.pkl"))?.findings.map((f) => f.code)).toEqual(["SYMLINK_OUTSIDE_ROOT"]);
    expect(byPath.get(join(root, "escape.pkl"))?.verdict).toBe("WARN");
    expect(byPath.get(join(root, "parent"))?.findings[0]?.code).toBe("SYMLINK_OUTSIDE_ROOT");
    expect(byPath.get(join(root, "dangling"))?.findings[0]?.code).toBe("BROKEN_SYMLINK");
    expect(byPath.get(join(root, "ok.json"))?.verdict).toBe("SAFE");
    // The loop back to the root is walked once, not forever, and adds no second report.
    expect(report.files.filter((f) => f.path.endsWith("ok.json"))).toHaveLength(1);
    expect(report.verdict).toBe("INVALID");
  });

  it("skips FIFOs instead of blocking on them", async () => {
    execFileSync("mkfifo", [join(dir, "pipe")]);
    await writeFile(join(dir, "a.txt"), "hello\n");
    const report = await scanPaths([dir]);
    expect(report.files.find((f) => f.path.endsWith("pipe"))?.findings[0]?.code).toBe("SPECIAL_FILE");
    expect(report.files.find((f) => f.path.endsWith("a.txt"))?.format).toBe("text");
  });

  it("follows a symlink given as the path itself, and rejects paths that do not exist", async () => {
    await symlink(join(CORPUS_DIR, "m1-os-system-proto0.pkl"), join(dir, "link.pkl"));
    expect((await scanFile(join(dir, "link.pkl"))).verdict).toBe("MALICIOUS");
    expect((await scanPaths([join(dir, "link.pkl")])).files[0]?.path).toBe(join(dir, "link.pkl"));
    await expect(scanPaths([join(dir, "nope")])).rejects.toBeInstanceOf(ScanInputError);
    await expect(scanFile(dir)).rejects.toBeInstanceOf(ScanInputError);
  });

  it("scans the same file once when two arguments reach it", async () => {
    const report = await scanPaths([join(CORPUS_DIR, "b2-state-dict.pt"), join(CORPUS_DIR, "b2-state-dict.pt")]);
    expect(report.files).toHaveLength(1);
  });

  it("checks a sharded index against its shards", async () => {
    const sharded = join(CORPUS_DIR, "b8-sharded");
    expect((await scanPaths([sharded])).verdict).toBe("SAFE");
    await copyFile(join(sharded, "model-00001-of-00002.safetensors"), join(dir, "model-00001-of-00002.safetensors"));
    await writeFile(
      join(dir, "model.safetensors.index.json"),
      JSON.stringify({
        weight_map: {
          x: "model-00001-of-00002.safetensors",
          w: "model-00001-of-00002.safetensors",
          y: "model-00002-of-00002.safetensors",
        },
      }),
    );
    const report = await scanPaths([dir]);
    const index = report.files.find((f) => f.path.endsWith("index.json"));
    expect(index?.verdict).toBe("INVALID");
    expect(index?.findings.map((f) => f.code).sort()).toEqual(["INDEX_MISSING_SHARD", "INDEX_TENSOR_NOT_IN_SHARD"]);
  });
});
