/** source.url's spec: sha256 forms, file names from URLs, what is refused before any download. */
import { describe, expect, it } from "vitest";
import { FieldReader } from "../../src/spec/fields.js";
import { parseHttpSource } from "../../src/sources/http/spec.js";
import { parseSha256 } from "../../src/sources/http/sha256.js";
import { httpPrefetch, withSha256 } from "../../src/sources/http/prefetch-target.js";
import { archiveKind } from "../../src/sources/http/archive/kind.js";

const hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
function parse(source: Record<string, unknown>) {
  const reader = FieldReader.root({ type: "url", ...source }, "spec.source");
  reader.choice("type", ["url"]);
  return parseHttpSource(reader);
}

describe("sha256 forms (as nixpkgs' fetchurl takes them)", () => {
  it("reads hex, SRI and nix32 to the same lowercase hex", () => {
    expect(parseSha256(hex)).toBe(hex);
    expect(parseSha256(hex.toUpperCase())).toBe(hex);
    expect(parseSha256("sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")).toBe(hex);
    // nix-hash --type sha256 --to-base32 9f86d0...
    expect(parseSha256("020ay2q1av2xs4n842rb3d7vz8qms1dcb87a5yd6azaci20x11lz")).toBe(hex);
  });

  it("refuses everything else", () => {
    for (const bad of [
      "",
      hex.slice(1),
      `${hex}0`,
      "sha256-n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgh=",
      "sha512-abc",
      "md5:abc",
      "020ay2q1av2xs4n842rb3d7vz8qms1dcb87a5yd6azaci20x11le",
    ]) {
      expect(parseSha256(bad), bad).toBeUndefined();
    }
  });
});

describe("the url source spec", () => {
  it("names files after the URL's last segment, percent-decoded, unless filename says otherwise", () => {
    const source = parse({
      urls: [
        { url: "https://e.org/models/model%20v2.safetensors?download=1", sha256: hex },
        { url: "https://e.org/get?id=7", sha256: hex.replace("9", "8"), filename: "onnx/model.onnx" },
      ],
    });
    expect(source.urls.map((file) => file.filename)).toEqual(["model v2.safetensors", "onnx/model.onnx"]);
    expect(source.unpack).toBe(false);
  });

  it("wants a filename for URLs that name no file, or a name that is not a plain one", () => {
    expect(() => parse({ urls: [{ url: "https://e.org/models/", sha256: hex }] })).toThrow(
      /has no usable file name.*filename is needed/s,
    );
    expect(() => parse({ urls: [{ url: "https://e.org/a%2F..%2Fb", sha256: hex }] })).toThrow(/filename is needed/);
    expect(() => parse({ urls: [{ url: "https://e.org/%2e%2e", sha256: hex }] })).toThrow(/filename is needed/);
  });

  it("refuses escaping or duplicate file names, bad URLs, bad digests and unknown fields", () => {
    expect(() => parse({ urls: [{ url: "https://e.org/a", filename: "../a", sha256: hex }] })).toThrow(
      /Refusing a file path from spec.source.urls\[0\].filename: it has a '\.\.' segment/,
    );
    expect(() => parse({ urls: [{ url: "https://e.org/a", filename: "/etc/a", sha256: hex }] })).toThrow(
      /it is absolute/,
    );
    expect(() =>
      parse({
        urls: [
          { url: "https://e.org/x/a.bin", sha256: hex },
          { url: "https://f.org/a.bin", sha256: hex },
        ],
      }),
    ).toThrow(/two entries name the same file/);
    expect(() => parse({ urls: [{ url: "ftp://e.org/a.bin", sha256: hex }] })).toThrow(
      /spec.source.urls\[0\].url must be an http\(s\) URL/,
    );
    expect(() => parse({ urls: [{ url: "https://u:secret@e.org/a.bin", sha256: hex }] })).toThrow(
      /must not contain credentials/,
    );
    expect(() => parse({ urls: [{ url: "https://u:secret@e.org/a.bin", sha256: hex }] })).not.toThrow(/secret/);
    expect(() => parse({ urls: [{ url: "https://e.org/a.bin", sha256: "abc" }] })).toThrow(
      /spec.source.urls\[0\].sha256 must be a sha256/,
    );
    expect(() => parse({ urls: [{ url: "https://e.org/a.bin", sha256: hex, size: 3 }] })).toThrow(
      /unknown field spec.source.urls\[0\].size/,
    );
    expect(() => parse({ urls: [] })).toThrow(/must list at least one file/);
  });

  it("unpacks only archives, told by the name", () => {
    expect(parse({ unpack: true, urls: [{ url: "https://e.org/m.TGZ", sha256: hex }] }).unpack).toBe(true);
    expect(() => parse({ unpack: true, urls: [{ url: "https://e.org/m.tar.xz", sha256: hex }] })).toThrow(
      /must end in \.tar\.gz, \.tgz, \.tar, \.zip when unpack = true/,
    );
    expect(archiveKind("a.tar.gz")).toBe("tar.gz");
    expect(archiveKind("a.tgz")).toBe("tar.gz");
    expect(archiveKind("a.tar")).toBe("tar");
    expect(archiveKind("a.zip")).toBe("zip");
    expect(archiveKind("a.gz")).toBeUndefined();
  });

  it("leaves sha256 open only as prefetch does, and prefetch fills it in from the fetch", () => {
    expect(parse({ urls: [{ url: "https://e.org/a.bin", sha256: null }] }).urls[0]!.sha256).toBeNull();
    const target = httpPrefetch.parse("https://e.org/models/bert.tar.gz", {
      files: undefined,
      endpoint: undefined,
      repoType: undefined,
      unpack: true,
    });
    expect(target.defaultName).toBe("bert");
    expect(target.source).toEqual({
      type: "url",
      urls: [{ url: "https://e.org/models/bert.tar.gz", sha256: null, filename: "bert.tar.gz" }],
      unpack: true,
    });
    const pinned = withSha256(target, {
      formatVersion: 1,
      layout: "huggingface",
      source: {},
      resolved: { "archive:bert.tar.gz": hex, commit: "c" },
      files: [],
    });
    expect(pinned.nixValue).toEqual({ urls: [{ url: "https://e.org/models/bert.tar.gz", sha256: hex }], unpack: true });
    const plain = httpPrefetch.parse("https://e.org/w.bin", {
      files: undefined,
      endpoint: undefined,
      repoType: undefined,
    });
    expect(
      withSha256(plain, {
        formatVersion: 1,
        layout: "huggingface",
        source: {},
        resolved: {},
        files: [{ path: "w.bin", size: 1, sha256: hex }],
      }).nixValue,
    ).toEqual({ urls: [{ url: "https://e.org/w.bin", sha256: hex }] });
    expect(() =>
      httpPrefetch.parse("file:///etc/passwd", { files: undefined, endpoint: undefined, repoType: undefined }),
    ).toThrow(/Cannot read the URL target/);
  });
});
