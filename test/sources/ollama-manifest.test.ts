/**
 * Manifest checks: digests from the registry become file names, so anything but
 * "sha256:" + 64 lowercase hex is refused before a byte is written.
 */
import { describe, expect, it } from "vitest";
import { parseOllamaManifest } from "../../src/sources/ollama/manifest.js";
import { UserError } from "../../src/errors/user-error.js";

const hex = (char: string) => char.repeat(64);
const blob = (digest: string, size = 10, mediaType = "application/vnd.ollama.image.model") => ({
  mediaType,
  digest,
  size,
});
const manifest = (fields: Record<string, unknown>) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: blob(`sha256:${hex("c")}`, 5, "application/vnd.docker.container.image.v1+json"),
      layers: [blob(`sha256:${hex("a")}`), blob(`sha256:${hex("b")}`, 3, "application/vnd.ollama.image.template")],
      ...fields,
    }),
  );

function refusal(bytes: Buffer): string {
  try {
    parseOllamaManifest(bytes, "the manifest of r/ns/m:t");
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("Ollama manifests", () => {
  it("lists the config first, then the layers in order, with their roles", () => {
    const { blobs } = parseOllamaManifest(manifest({}), "m");
    expect(blobs.map((b) => [b.role, b.sha256, b.size])).toEqual([
      ["config", hex("c"), 5],
      ["layer 1", hex("a"), 10],
      ["layer 2", hex("b"), 3],
    ]);
    expect(blobs[2]!.mediaType).toBe("application/vnd.ollama.image.template");
  });

  it("skips a config without a digest, as Ollama does, and accepts the OCI manifest type", () => {
    expect(
      parseOllamaManifest(manifest({ config: { mediaType: "x", digest: "", size: 0 } }), "m").blobs.map((b) => b.role),
    ).toEqual(["layer 1", "layer 2"]);
    expect(parseOllamaManifest(manifest({ config: undefined }), "m").blobs).toHaveLength(2);
    expect(
      parseOllamaManifest(manifest({ mediaType: "application/vnd.oci.image.manifest.v1+json" }), "m").blobs,
    ).toHaveLength(3);
  });

  it.each([
    ["a path", "sha256:../../../../tmp/x"],
    ["a separator", `sha256:${hex("a").slice(0, 32)}/${hex("a").slice(0, 31)}`],
    ["uppercase hex", `sha256:${hex("A")}`],
    ["a short digest", `sha256:${hex("a").slice(1)}`],
    ["a long digest", `sha256:${hex("a")}0`],
    ["another algorithm", `sha512:${hex("a")}`],
    ["the dash form", `sha256-${hex("a")}`],
    ["a trailing newline", `sha256:${hex("a")}\n`],
    ["no digest", undefined],
  ])("refuses a layer digest with %s", (_, digest) => {
    const message = refusal(manifest({ layers: [blob(`sha256:${hex("a")}`), { mediaType: "x", digest, size: 1 }] }));
    expect(message).toContain("Refusing the manifest of r/ns/m:t: layer 2 has the digest");
    expect(message).toContain('which is not "sha256:" and 64 lowercase hex digits');
  });

  it("refuses a hostile config digest too", () => {
    expect(refusal(manifest({ config: blob("sha256:../../x") }))).toContain("config has the digest");
  });

  it.each([
    ["negative", -1],
    ["fractional", 1.5],
    ["a string", "10"],
    ["beyond 2^53", 2 ** 60],
  ])("refuses a %s size", (_, size) => {
    expect(refusal(manifest({ layers: [{ mediaType: "x", digest: `sha256:${hex("a")}`, size }] }))).toContain(
      "layer 1 has the size",
    );
  });

  it("refuses malformed manifests with a reason", () => {
    expect(refusal(Buffer.from("not json"))).toContain("it is not valid JSON");
    expect(refusal(Buffer.from([0x7b, 0xff, 0x7d]))).toContain("it is not valid JSON");
    expect(refusal(Buffer.from("[]"))).toContain("it is not a JSON object");
    expect(refusal(manifest({ schemaVersion: 1 }))).toContain("schemaVersion is 1, not 2");
    expect(refusal(manifest({ layers: [] }))).toContain("it has no layers");
    expect(refusal(manifest({ layers: undefined }))).toContain("it has no layers list");
    expect(refusal(manifest({ layers: [{ digest: `sha256:${hex("a")}`, size: 1 }] }))).toContain(
      "layer 1 has no mediaType",
    );
    expect(refusal(manifest({ mediaType: "text/html" }))).toContain(
      'its mediaType "text/html" is not an image manifest',
    );
    expect(refusal(manifest({ mediaType: "application/vnd.oci.image.index.v1+json" }))).toContain(
      "it is a manifest list",
    );
  });

  it("accepts a blob listed twice with one size and refuses two sizes for one digest", () => {
    const twice = manifest({ layers: [blob(`sha256:${hex("c")}`, 5), blob(`sha256:${hex("a")}`)] });
    expect(parseOllamaManifest(twice, "m").blobs).toHaveLength(3);
    const conflicting = manifest({ layers: [blob(`sha256:${hex("c")}`, 6)] });
    expect(refusal(conflicting)).toContain("config and layer 1 name the same digest");
  });
});
