/**
 * How verify tells a record from a listing (src/lifecycle/verify.ts compareFiles): by the
 * strongest evidence both sides have, a revisioned listing's every difference counting as
 * a change in place, a source without revisions' missing keys as gone; and what a HEAD
 * says about a URL's content (verify-url.ts digestOf).
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ListedFile, LockedFile } from "../../src/lockfile/index.js";
import { compareFiles, MAX_REPORTED_CHANGES } from "../../src/lifecycle/verify.js";
import { digestOf } from "../../src/lifecycle/verify-url.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

const locked = (path: string, ids: LockedFile["ids"] = {}, size = 10): LockedFile => ({
  path,
  size,
  sha256: sha(path),
  large: false,
  ids,
});

describe("compareFiles", () => {
  it("compares by sha256 when the listing vouches for it, else by a shared source id, else by size only", () => {
    const recorded = [
      locked("weights.bin"),
      locked("config.json", { gitOid: "a".repeat(40) }),
      locked("data.bin", { etag: '"abc"' }),
      locked("plain.bin"),
    ];
    const listed: ListedFile[] = [
      { path: "weights.bin", size: 10, sha256: sha("weights.bin"), ids: {} },
      { path: "config.json", size: 10, ids: { gitOid: "a".repeat(40) } },
      { path: "data.bin", size: 10, ids: { etag: '"abc"' } },
      { path: "plain.bin", size: 10, ids: {} },
    ];
    const evidence = compareFiles(recorded, listed, { revisioned: true });
    expect(evidence).toEqual({
      inPlace: [],
      inPlaceCount: 0,
      missing: [],
      comparedBy: { sha256: 1, gitOid: 1, etag: 1, size: 1 },
      unverified: ["plain.bin"],
    });
  });

  it("counts a different id, size or sha256 at the same revision as a change in place", () => {
    const recorded = [locked("a", { gitOid: "a".repeat(40) }), locked("b"), locked("c", { etag: '"1"' })];
    const listed: ListedFile[] = [
      { path: "a", size: 10, ids: { gitOid: "b".repeat(40) } },
      { path: "b", size: 11, ids: {} },
      { path: "c", size: 10, sha256: sha("other"), ids: { etag: '"1"' } },
    ];
    const { inPlace, inPlaceCount } = compareFiles(recorded, listed, { revisioned: false });
    expect(inPlaceCount).toBe(3);
    expect(inPlace.map((change) => change.path)).toEqual(["a", "b", "c"]);
    expect(inPlace[1]).toEqual({
      path: "b",
      before: { size: 10, sha256: sha("b") },
      after: { size: 11, sha256: null },
    });
  });

  it("with revisions, a file removed or added at the same revision is a change in place; without, removed is gone and added is not", () => {
    const recorded = [locked("kept"), locked("removed")];
    const listed: ListedFile[] = [
      { path: "kept", size: 10, sha256: sha("kept"), ids: {} },
      { path: "added", size: 5, ids: {} },
    ];
    const revisioned = compareFiles(recorded, listed, { revisioned: true });
    expect(revisioned.inPlace.map((change) => [change.path, change.before === null, change.after === null])).toEqual([
      ["removed", false, true],
      ["added", true, false],
    ]);
    expect(revisioned.missing).toEqual([]);
    const keyed = compareFiles(recorded, listed, { revisioned: false });
    expect(keyed.inPlaceCount).toBe(0);
    expect(keyed.missing).toEqual(["removed"]);
  });

  it("keeps the report bounded when a listing adds two hundred thousand files", () => {
    const listed: ListedFile[] = Array.from({ length: 200_000 }, (_, index) => ({
      path: `junk/${index}`,
      size: 1,
      ids: {},
    }));
    const evidence = compareFiles([locked("a")], listed, { revisioned: true });
    expect(evidence.inPlaceCount).toBe(200_001);
    expect(evidence.inPlace).toHaveLength(MAX_REPORTED_CHANGES);
  });
});

describe("digestOf (what a HEAD vouches for)", () => {
  const digest = createHash("sha256").update("hello").digest();
  it("reads RFC 9530 Repr-Digest and the older Digest header, sha-256 only", () => {
    expect(digestOf(`sha-512=:${"A".repeat(86)}==:, sha-256=:${digest.toString("base64")}:`, undefined)).toBe(
      digest.toString("hex"),
    );
    expect(digestOf(undefined, `SHA-256=${digest.toString("base64")}`)).toBe(digest.toString("hex"));
    expect(digestOf(undefined, "md5=XUFAKrxLKna5cZ2REBfFkg==")).toBeUndefined();
    expect(digestOf("sha-256=:short:", undefined)).toBeUndefined();
    expect(digestOf(undefined, undefined)).toBeUndefined();
  });
});
