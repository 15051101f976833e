import type { FieldReader } from "../../spec/fields.js";
import { invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";

/**
 * source.s3: every object under a prefix of a bucket, on AWS S3 or an S3-compatible
 * server (MinIO, Ceph RGW, Cloudflare R2, ...). docs/sources/s3.md.
 */
export interface S3Source {
  readonly type: "s3";
  readonly bucket: string;
  /**
   * A folder: "" (the whole bucket) or ending in "/" (normalised when read). The spec
   * writes the whole bucket as null (spec strings are never empty).
   */
  readonly prefix: string;
  /** null = $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1. */
  readonly region: string | null;
  /** fnmatch patterns over paths relative to the prefix (src/util/fnmatch.ts); null = every object. */
  readonly files: readonly string[] | null;
  /** An S3-compatible server; null = $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS. */
  readonly endpoint: string | null;
}

/**
 * Bucket names as S3-compatible servers accept them: AWS's rules (3-63 characters of
 * lowercase letters, digits, "." and "-") plus the uppercase letters and "_" of legacy
 * and some compatible servers. What matters here is that it cannot change the URL's shape.
 */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;
const REGION = /^[a-z0-9-]{1,64}$/;

export function parseS3Source(r: FieldReader): S3Source {
  const bucket = r.string("bucket");
  const prefix = r.optionalString("prefix") ?? "";
  const source: S3Source = {
    type: "s3",
    bucket,
    prefix: normaliseS3Prefix(prefix),
    region: r.optionalString("region"),
    files: r.optionalStringList("files"),
    endpoint: r.optionalString("endpoint"),
  };
  r.done();
  checkBucket(source.bucket, `${r.where}.bucket`);
  checkPrefix(prefix, `${r.where}.prefix`);
  if (source.region !== null && !REGION.test(source.region))
    throw invalid(`${r.where}.region`, 'must be a region name like "eu-west-1" (R2: "auto")', source.region);
  if (source.endpoint !== null) checkS3Endpoint(source.endpoint, `${r.where}.endpoint`);
  return source;
}

function checkBucket(bucket: string, where: string): void {
  if (!BUCKET.test(bucket))
    throw invalid(where, "must be a bucket name (letters, digits, . _ -; 2 to 255 characters, no '/')", bucket);
}

/** A prefix names a folder: keys under it become paths relative to it. */
function checkPrefix(prefix: string, where: string): void {
  if (
    prefix.startsWith("/") ||
    prefix.includes("\0") ||
    prefix
      .split("/")
      .some((segment, i, all) => (segment === "" ? i !== all.length - 1 : segment === "." || segment === ".."))
  ) {
    throw invalid(
      where,
      'must be a folder of keys like "models/tiny" (no leading "/", no empty, "." or ".." segments; "" for the whole bucket)',
      prefix,
    );
  }
}

/** "models/tiny" and "models/tiny/" are the same folder; without the "/", "models/tiny-2/..." would match too. */
export function normaliseS3Prefix(prefix: string): string {
  return prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
}

function checkS3Endpoint(endpoint: string, where: string): void {
  checkHttpUrl(endpoint, where, {
    example: "https://minio.example:9000",
    credentialsFrom: "the AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE...)",
  });
}
