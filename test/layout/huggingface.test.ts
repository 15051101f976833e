/**
 * The Hugging Face layout written from files whose blobs are in place (src/layout):
 * links one more "../" per folder, refs without a newline, a commit derived from the
 * manifest when the source has none, and the unpacked layout built on the same writer.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { manifestCommit, writeSnapshot } from "../../src/layout/huggingface.js";
import { finishUnpackedLayout } from "../../src/layout/unpacked.js";
import { META_FILE, archiveResolvedKey } from "../../src/model/meta.js";

let out: string;
beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), "nmr-layout-"));
});
afterEach(() => rm(out, { recursive: true, force: true }));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function blob(content: string): Promise<{ sha256: string; size: number }> {
  await mkdir(join(out, "blobs"), { recursive: true });
  await writeFile(join(out, "blobs", sha256(content)), content);
  return { sha256: sha256(content), size: Buffer.byteLength(content) };
}

describe("writeSnapshot", () => {
  it("links each file to its blob, writes refs and the meta file, derives the commit from the manifest", async () => {
    const a = await blob("a");
    const b = await blob("bb");
    const files = [
      { path: "nested/dir/b.bin", ...b, blob: b.sha256 },
      { path: "a.json", ...a, blob: a.sha256 },
    ];
    const meta = await writeSnapshot(out, {
      commit: null,
      refs: [],
      metaSource: { type: "url" },
      resolved: {},
      files,
    });
    const commit = manifestCommit(files);
    expect(meta.resolved).toEqual({ commit });
    expect(await readlink(join(out, "snapshots", commit, "nested/dir/b.bin"))).toBe(`../../../../blobs/${b.sha256}`);
    expect(await readFile(join(out, "snapshots", commit, "nested/dir/b.bin"), "utf8")).toBe("bb");
    expect(await readFile(join(out, "refs", "main"), "utf8")).toBe(commit);
    expect(meta.files.map((file) => file.path)).toEqual(["a.json", "nested/dir/b.bin"]);
    expect(JSON.parse(await readFile(join(out, META_FILE), "utf8"))).toEqual(meta);
  });

  it("gives the same commit whatever the order the files come in", () => {
    const files = [
      { path: "b", size: 1, sha256: "1".repeat(64) },
      { path: "a", size: 2, sha256: "2".repeat(64) },
    ];
    expect(manifestCommit(files)).toBe(manifestCommit([...files].reverse()));
    expect(manifestCommit(files)).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe("finishUnpackedLayout", () => {
  it("makes the unpacker's entries the snapshot and records each archive's sha256", async () => {
    const scratch = await mkdtemp(join(tmpdir(), "nmr-unpack-"));
    try {
      const meta = await finishUnpackedLayout(
        out,
        {
          scratchDir: scratch,
          // An unpacker that makes one entry per archive, written as a blob.
          unpack: async (downloads, writeBlob) =>
            Promise.all(
              downloads.map(async (download) => {
                const written = await writeBlob(Readable.from([Buffer.from(`entry of ${download.path}`)]));
                return { path: `${download.path}.txt`, ...written };
              }),
            ),
        },
        {
          commit: null,
          refs: [],
          metaSource: { type: "url" },
          resolved: {},
          files: [{ path: "x.tar", blobName: null }],
        },
        { items: [], transferOf: [0] },
        [{ path: "x.tar", destination: join(scratch, "blobs", "x"), size: 10, sha256: "f".repeat(64) }],
      );
      expect(meta.files).toEqual([{ path: "x.tar.txt", size: 14, sha256: sha256("entry of x.tar") }]);
      expect(meta.resolved[archiveResolvedKey("x.tar")]).toBe("f".repeat(64));
      expect(await readFile(join(out, "snapshots", meta.resolved["commit"]!, "x.tar.txt"), "utf8")).toBe(
        "entry of x.tar",
      );
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
