import { describe, expect, it } from "vitest";
import { FieldReader } from "../../src/spec/fields.js";
import { normaliseS3Prefix, type S3Source } from "../../src/sources/s3/spec.js";
import { parseSourceSpec } from "../../src/sources/registry.js";
import { s3Prefetch } from "../../src/sources/s3/prefetch-target.js";
import { expectedDigestsFor } from "../../src/sources/s3/plan.js";
import { requestUrl } from "../../src/sources/s3/undici-handler.js";
import { resolveEndpoint, resolveRegion } from "../../src/sources/s3/client.js";
import { S3Failure, s3Failure } from "../../src/sources/s3/errors.js";

/** Through the registry, as the fetcher reads a spec. */
const parse = (value: Record<string, unknown>) =>
  parseSourceSpec(FieldReader.root({ type: "s3", ...value }, "spec.source")) as S3Source;
const noFlags = { files: undefined, endpoint: undefined, repoType: undefined };

describe("source.s3 spec", () => {
  it("reads the source and makes the prefix a folder", () => {
    expect(parse({ bucket: "models", prefix: "llama/7b" })).toEqual({
      type: "s3",
      bucket: "models",
      prefix: "llama/7b/",
      region: null,
      files: null,
      endpoint: null,
    });
    // The whole bucket: null in the spec (spec strings are never empty), "" once read.
    expect(parse({ bucket: "models", prefix: null }).prefix).toBe("");
    expect(parse({ bucket: "models" }).prefix).toBe("");
    expect(() => parse({ bucket: "models", prefix: "" })).toThrow(
      "spec.source.prefix must be a non-empty string or null",
    );
    expect(normaliseS3Prefix("a/")).toBe("a/");
  });

  it("refuses what could change the URL's shape or escape the folder, naming the field", () => {
    expect(() => parse({ bucket: "a/b", prefix: "x" })).toThrow("spec.source.bucket must be a bucket name");
    expect(() => parse({ bucket: "models", prefix: "/x" })).toThrow("spec.source.prefix must be a folder of keys");
    expect(() => parse({ bucket: "models", prefix: "a/../b" })).toThrow("spec.source.prefix");
    expect(() => parse({ bucket: "models", prefix: "a//b" })).toThrow("spec.source.prefix");
    expect(() => parse({ bucket: "models", prefix: "x", region: "Europe" })).toThrow("spec.source.region");
    expect(() => parse({ bucket: "models", prefix: "x", endpoint: "ftp://x" })).toThrow(
      "spec.source.endpoint must be an http(s) URL",
    );
    expect(() => parse({ bucket: "models", prefix: "x", endpoint: "https://k:s@minio" })).toThrow(
      "must not contain credentials",
    );
    expect(() => parse({ bucket: "models", prefix: "x", profile: "p" })).toThrow("unknown field spec.source.profile");
  });
});

describe("s3:// prefetch targets", () => {
  it("reads bucket and prefix, and puts only explicit options in the snippet", () => {
    const target = s3Prefetch.parse("//models/llama/7b", {
      ...noFlags,
      endpoint: "http://127.0.0.1:9000",
      region: "auto",
      files: ["*.json"],
    });
    expect(target.source).toEqual({
      type: "s3",
      bucket: "models",
      prefix: "llama/7b/",
      region: "auto",
      files: ["*.json"],
      endpoint: "http://127.0.0.1:9000",
    });
    expect(target.defaultName).toBe("7b");
    expect(target.nixAttribute).toBe("s3");
    expect(s3Prefetch.parse("//models", noFlags).nixValue).toEqual({ bucket: "models", prefix: "" });
    expect(s3Prefetch.parse("//models", noFlags).source).toMatchObject({ prefix: null });
    expect(s3Prefetch.parse("//models/", noFlags).defaultName).toBe("models");
  });

  it("refuses a target without a bucket", () => {
    expect(() => s3Prefetch.parse("models/x", noFlags)).toThrow("Write it as s3://bucket/prefix");
    expect(() => s3Prefetch.parse("///x", noFlags)).toThrow("Cannot read the S3 target");
  });
});

describe("digests S3 vouches for", () => {
  const md5 = "9e107d9d372bb6826bd81d3542a419d6";
  const sha256Base64 = Buffer.from("d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592", "hex").toString(
    "base64",
  );

  it("takes a plain ETag as the MD5 of a single-part, unencrypted or SSE-S3 object on AWS", () => {
    expect(expectedDigestsFor({ ETag: `"${md5}"` }, false)).toEqual({ md5 });
    expect(expectedDigestsFor({ ETag: `"${md5.toUpperCase()}"`, ServerSideEncryption: "AES256" }, false)).toEqual({
      md5,
    });
  });

  it("never takes a multipart, SSE-KMS or SSE-C ETag, nor any encrypted one on a compatible server", () => {
    expect(expectedDigestsFor({ ETag: `"${md5}-3"` }, false)).toEqual({});
    expect(expectedDigestsFor({ ETag: `"${md5}"`, ServerSideEncryption: "aws:kms" }, false)).toEqual({});
    expect(expectedDigestsFor({ ETag: `"${md5}"`, SSECustomerAlgorithm: "AES256" }, false)).toEqual({});
    expect(expectedDigestsFor({ ETag: `"${md5}"`, ServerSideEncryption: "AES256" }, true)).toEqual({});
    expect(expectedDigestsFor({ ETag: `"${md5}"` }, true)).toEqual({ md5 });
    expect(expectedDigestsFor({}, false)).toEqual({});
  });

  it("takes a full-object SHA-256 checksum, not a composite one", () => {
    expect(expectedDigestsFor({ ChecksumSHA256: sha256Base64, ChecksumType: "FULL_OBJECT" }, false)).toEqual({
      sha256: "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
    });
    expect(expectedDigestsFor({ ChecksumSHA256: sha256Base64, ChecksumType: "COMPOSITE" }, false)).toEqual({});
    expect(expectedDigestsFor({ ChecksumSHA256: `${sha256Base64}-4` }, false)).toEqual({});
  });
});

describe("the SDK's requests through undici", () => {
  it("encodes the query as the SDK signs it: sorted, RFC 3986, bare keys for null", () => {
    const url = requestUrl({
      protocol: "https:",
      hostname: "s3.amazonaws.com",
      path: "/bucket/a%20b",
      query: { prefix: "x y/(1)*", "list-type": "2", uploads: null, tag: ["b", "a"] },
    });
    expect(url.href).toBe(
      "https://s3.amazonaws.com/bucket/a%20b?list-type=2&prefix=x%20y%2F%281%29%2A&tag=b&tag=a&uploads",
    );
    expect(requestUrl({ protocol: "http:", hostname: "::1", port: 9000, path: "/b", query: {} }).href).toBe(
      "http://[::1]:9000/b",
    );
  });
});

describe("region and endpoint from the environment", () => {
  it("prefers the spec, then AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1", () => {
    expect(resolveRegion("eu-west-1", { AWS_REGION: "us-west-2" })).toBe("eu-west-1");
    expect(resolveRegion(null, { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "ap-south-1" })).toBe("us-west-2");
    expect(resolveRegion(null, { AWS_REGION: "", AWS_DEFAULT_REGION: "ap-south-1" })).toBe("ap-south-1");
    expect(resolveRegion(null, {})).toBe("us-east-1");
  });

  it("prefers the spec, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
    expect(resolveEndpoint("http://a", { AWS_ENDPOINT_URL_S3: "http://b" })).toBe("http://a");
    expect(resolveEndpoint(null, { AWS_ENDPOINT_URL_S3: "http://b", AWS_ENDPOINT_URL: "http://c" })).toBe("http://b");
    expect(resolveEndpoint(null, { AWS_ENDPOINT_URL: "http://c" })).toBe("http://c");
    expect(resolveEndpoint(null, {})).toBeUndefined();
    expect(
      resolveEndpoint(null, { MLFLOW_S3_ENDPOINT_URL: "http://m", AWS_ENDPOINT_URL: "http://c" }, [
        "MLFLOW_S3_ENDPOINT_URL",
        "AWS_ENDPOINT_URL",
      ]),
    ).toBe("http://m");
  });
});

describe("S3 errors for the retry policy", () => {
  const serviceError = (name: string, status: number, message = "m") =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it("retries throttling and server errors, not access or missing keys", () => {
    expect(s3Failure(serviceError("SlowDown", 503), "s3://b/k").retryable).toBe(true);
    expect(s3Failure(serviceError("InternalError", 500), "s3://b/k").retryable).toBe(true);
    expect(s3Failure(serviceError("RequestTimeout", 400), "s3://b/k").retryable).toBe(true);
    const denied = s3Failure(serviceError("AccessDenied", 403, "Access Denied"), "s3://b/k");
    expect(denied.retryable).toBe(false);
    expect(denied.message).toBe("HTTP 403 from s3://b/k (AccessDenied: Access Denied)");
    expect(denied).toBeInstanceOf(S3Failure);
    expect((denied as S3Failure).s3Code).toBe("AccessDenied");
    expect(s3Failure(serviceError("NoSuchKey", 404), "s3://b/k").retryable).toBe(false);
  });

  it("classifies connection errors by their code", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(s3Failure(reset, "s3://b/k").retryable).toBe(true);
  });
});
