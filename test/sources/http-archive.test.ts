/**
 * Unpacking archives for source.url (unpack = true): real archives made by tar and
 * Python's zipfile unpack to content-named blobs; hostile ones (made byte by byte) are
 * refused and nothing lands outside the output.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type TarEntry, tar } from "../helpers/tar-builder.js";
import { blobWriterInto } from "../../src/layout/blob-writer.js";
import { unpackArchives } from "../../src/sources/http/archive/unpack.js";
import type { UnpackedFile } from "../../src/model/resolved-model.js";
import { buildZip, localRecord } from "../helpers/zip-builder.js";

let work: string;
let out: string;

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "nmr-archive-"));
  out = join(work, "out");
  await mkdir(out);
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

async function unpack(name: string, bytes: Buffer): Promise<UnpackedFile[]> {
  const location = join(work, name);
  await writeFile(location, bytes);
  return unpackArchives([{ path: name, location, size: bytes.length, sha256: sha256(bytes) }], blobWriterInto(out));
}

/** Every file under `dir` besides the output: nothing may be written there. */
async function strayFiles(): Promise<string[]> {
  const entries = await readdir(work, { recursive: true, withFileTypes: true });
  return entries
    .filter(
      (entry) =>
        entry.isFile() &&
        !join(entry.parentPath, entry.name).startsWith(out) &&
        !/\.(tar|tgz|gz|zip)$/.test(entry.name),
    )
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("tar archives", () => {
  it("unpacks a tar.gz made by tar, with ./ names, nested folders and a long name", async () => {
    const source = join(work, "src");
    const weights = randomBytes(300_000);
    const longName = `${"very-long-directory-name-".repeat(6)}/model.safetensors`;
    await mkdir(join(source, "onnx"), { recursive: true });
    await mkdir(join(source, longName, ".."), { recursive: true });
    await writeFile(join(source, "config.json"), '{"a":1}');
    await writeFile(join(source, "onnx", "model.onnx"), weights);
    await writeFile(join(source, longName), weights);
    await mkdir(join(source, "empty-dir"));
    execFileSync("tar", ["czf", join(work, "model.tgz"), "-C", source, "."]);

    const files = await unpack("model.tar.gz", await readFile(join(work, "model.tgz")));
    expect(files.map((f) => f.path).sort()).toEqual(["config.json", longName, "onnx/model.onnx"].sort());
    const onnx = files.find((f) => f.path === "onnx/model.onnx")!;
    expect(onnx).toEqual({ path: "onnx/model.onnx", size: weights.length, sha256: sha256(weights) });
    // Identical content is one blob.
    expect((await readdir(join(out, "blobs"))).sort()).toEqual([sha256('{"a":1}'), sha256(weights)].sort());
    expect((await readFile(join(out, "blobs", sha256(weights)))).equals(weights)).toBe(true);
  });

  it("unpacks a plain tar", async () => {
    const files = await unpack(
      "m.tar",
      await tar([
        { name: "dir/", type: "directory" },
        { name: "dir/a.txt", content: "A" },
        { name: "b.txt", content: "" },
      ]),
    );
    expect(files).toEqual([
      { path: "dir/a.txt", size: 1, sha256: sha256("A") },
      { path: "b.txt", size: 0, sha256: sha256("") },
    ]);
  });

  const hostile: [string, TarEntry[], RegExp][] = [
    ["a '..' segment", [{ name: "../escape.txt", content: "x" }], /it has a '\.\.' segment/],
    ["a '..' in the middle", [{ name: "a/../../escape.txt", content: "x" }], /it has a '\.\.' segment/],
    ["an absolute path", [{ name: "/tmp/nmr-absolute.txt", content: "x" }], /it is absolute/],
    [
      "a symlink to /etc",
      [
        { name: "etc", type: "symlink", linkname: "/etc" },
        { name: "etc/passwd", content: "x" },
      ],
      /symbolic link \(to "\/etc"\)/,
    ],
    [
      "a hard link",
      [
        { name: "a.txt", content: "x" },
        { name: "b.txt", type: "link", linkname: "/etc/passwd" },
      ],
      /hard link/,
    ],
    ["a character device", [{ name: "null", type: "character-device" }], /character device/],
    ["a block device", [{ name: "sda", type: "block-device" }], /block device/],
    ["a fifo", [{ name: "pipe", type: "fifo" }], /fifo/],
    [
      "a duplicate name",
      [
        { name: "a.txt", content: "x" },
        { name: "./a.txt", content: "y" },
      ],
      /two entries name the same file/,
    ],
    [
      "a file used as a directory",
      [
        { name: "a", content: "x" },
        { name: "a/b", content: "y" },
      ],
      /a file is also used as a directory/,
    ],
    ["a backslash", [{ name: "..\\escape.txt", content: "x" }], /backslash/],
    ["a directory named ..", [{ name: "../", type: "directory" }], /'\.\.' segment/],
  ];
  for (const [label, entries, message] of hostile) {
    it(`refuses ${label}`, async () => {
      await expect(unpack("evil.tar", await tar(entries))).rejects.toThrow(message);
      expect(await strayFiles()).toEqual([]);
      expect(existsSync("/tmp/nmr-absolute.txt")).toBe(false);
    });
  }

  it("refuses a truncated tar.gz with a message naming the archive", async () => {
    const whole = gzipSync(await tar([{ name: "a.bin", content: randomBytes(100_000) }]));
    await expect(unpack("cut.tar.gz", whole.subarray(0, whole.length / 2))).rejects.toThrow(
      /Cannot unpack the archive cut\.tar\.gz/,
    );
  });

  it("refuses a file that is not a tar", async () => {
    await expect(unpack("not.tar", Buffer.from("hello, I am not a tar archive".repeat(40)))).rejects.toThrow(
      /Cannot unpack the archive not\.tar/,
    );
  });

  it("refuses an archive with no files", async () => {
    await expect(unpack("empty.tar", await tar([{ name: "dir/", type: "directory" }]))).rejects.toThrow(
      /holds no files/,
    );
  });
});

describe("zip archives", () => {
  it("unpacks a zip made by Python's zipfile (stored and deflated, folders, UTF-8 names)", async () => {
    const weights = randomBytes(200_000);
    await writeFile(join(work, "w.bin"), weights);
    const script = `
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("config.json", '{"a":1}', compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("sub/", "")
    z.write(sys.argv[2], "sub/weights.bin", compress_type=zipfile.ZIP_STORED)
    z.writestr("tökenizer.json", "{}", compress_type=zipfile.ZIP_DEFLATED)
`;
    execFileSync("python3", ["-c", script, join(work, "made.zip"), join(work, "w.bin")]);
    const files = await unpack("model.zip", await readFile(join(work, "made.zip")));
    expect(files).toEqual([
      { path: "config.json", size: 7, sha256: sha256('{"a":1}') },
      { path: "sub/weights.bin", size: weights.length, sha256: sha256(weights) },
      { path: "tökenizer.json", size: 2, sha256: sha256("{}") },
    ]);
    expect((await readFile(join(out, "blobs", sha256(weights)))).equals(weights)).toBe(true);
  });

  it("reads an archive with a comment", async () => {
    const files = await unpack(
      "c.zip",
      buildZip([{ name: "a.txt", content: "hello" }], { comment: "a comment PK\u0005\u0006 that looks like a record" }),
    );
    expect(files).toEqual([{ path: "a.txt", size: 5, sha256: sha256("hello") }]);
  });

  const hostile: [string, Parameters<typeof buildZip>[0], RegExp][] = [
    ["zip slip (../)", [{ name: "../../escape.txt", content: "x" }], /it has a '\.\.' segment/],
    ["an absolute path", [{ name: "/tmp/nmr-absolute.txt", content: "x" }], /it is absolute/],
    ["a backslash path", [{ name: "..\\..\\escape.txt", content: "x" }], /backslash/],
    ["a symlink", [{ name: "link", content: "/etc/passwd", unixMode: 0o120777 }], /symbolic link/],
    ["a character device", [{ name: "dev", unixMode: 0o020666 }], /device, fifo or socket/],
    ["a fifo", [{ name: "pipe", unixMode: 0o010644 }], /device, fifo or socket/],
    [
      "a duplicate name",
      [
        { name: "a.txt", content: "x" },
        { name: "a.txt", content: "y" },
      ],
      /two entries name the same file/,
    ],
    [
      "a file used as a directory",
      [
        { name: "a", content: "x" },
        { name: "a/b", content: "y" },
      ],
      /a file is also used as a directory/,
    ],
    ["an encrypted entry", [{ name: "a.txt", content: "x", flags: 0x801 }], /is encrypted/],
    ["an unknown compression method", [{ name: "a.txt", content: "x", method: 12 }], /compression method 12/],
    [
      "a local name that differs",
      [{ name: "safe.txt", localName: "../evil.txt", content: "x" }],
      /named "\.\.\/evil\.txt" in its local header/,
    ],
    // b.txt's local record hides inside a.txt's stored data (30-byte header + "a.txt" = offset 35).
    [
      "overlapping entries",
      [
        { name: "a.txt", content: localRecord("b.txt", "x".repeat(1000)), method: 0 },
        { name: "b.txt", content: "x".repeat(1000), method: 0, centralOnlyAt: 35 },
      ],
      /overlap/,
    ],
    ["a wrong CRC-32", [{ name: "a.txt", content: "hello", crc32: 1234 }], /CRC-32/],
    [
      "more bytes than declared",
      [{ name: "a.txt", content: "hello world", declaredSize: 3 }],
      /more than its declared 3 bytes/,
    ],
    [
      "fewer bytes than declared",
      [{ name: "a.txt", content: "hello", declaredSize: 50 }],
      /holds 5 bytes, not the declared 50/,
    ],
    [
      "a name that is neither ASCII nor marked UTF-8",
      [{ name: "x", nameBytes: Buffer.from([0x61, 0x81, 0x62]), content: "x" }],
      /not ASCII and not marked UTF-8/,
    ],
    ["a directory with content", [{ name: "dir/", content: "x", method: 0 }], /directory entry "dir\/" has content/],
  ];
  for (const [label, entries, message] of hostile) {
    it(`refuses ${label}`, async () => {
      await expect(unpack("evil.zip", buildZip(entries))).rejects.toThrow(message);
      expect(await strayFiles()).toEqual([]);
      expect(existsSync("/tmp/nmr-absolute.txt")).toBe(false);
    });
  }

  it("refuses a truncated zip and a non-zip", async () => {
    const whole = buildZip([{ name: "a.bin", content: randomBytes(10_000) }]);
    await expect(unpack("cut.zip", whole.subarray(0, whole.length - 10))).rejects.toThrow(
      /no end-of-central-directory record/,
    );
    await expect(unpack("text.zip", Buffer.from("not a zip"))).rejects.toThrow(/Cannot unpack the archive text\.zip/);
  });
});

describe("several archives", () => {
  it("merges them into one snapshot and refuses the same path from two archives", async () => {
    const a = await tar([{ name: "a.txt", content: "A" }]);
    const b = buildZip([{ name: "b.txt", content: "B" }]);
    const locations = [join(work, "a.tar"), join(work, "b.zip")];
    await writeFile(locations[0]!, a);
    await writeFile(locations[1]!, b);
    const downloads = [
      { path: "a.tar", location: locations[0]!, size: a.length, sha256: sha256(a) },
      { path: "b.zip", location: locations[1]!, size: b.length, sha256: sha256(b) },
    ];
    expect((await unpackArchives(downloads, blobWriterInto(out))).map((f) => f.path)).toEqual(["a.txt", "b.txt"]);

    const clash = buildZip([{ name: "a.txt", content: "other" }]);
    await writeFile(locations[1]!, clash);
    const out2 = join(work, "out2");
    await expect(
      unpackArchives(
        [downloads[0]!, { ...downloads[1]!, size: clash.length, sha256: sha256(clash) }],
        blobWriterInto(out2),
      ),
    ).rejects.toThrow(/two entries name the same file/);
  });
});
