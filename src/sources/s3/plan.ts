import { HeadObjectCommand, type HeadObjectCommandOutput } from "@aws-sdk/client-s3";
import pLimit from "p-limit";
import { withRetries, type RetryPolicy } from "../../retry/retry.js";
import type { PlannedFile } from "../../model/resolved-model.js";
import type { ExpectedDigests } from "../../transfer/types.js";
import { logger } from "../../util/log.js";
import type { S3Access } from "./client.js";
import { s3ByteSource, s3Url } from "./byte-source.js";
import { s3Failure } from "./errors.js";

/** An object to fetch and the path it gets in the snapshot (already checked). */
export interface S3FileToPlan {
  readonly bucket: string;
  readonly key: string;
  readonly path: string;
}

export interface S3PlanOptions {
  readonly policy: RetryPolicy;
  readonly concurrency: number;
  readonly signal: AbortSignal;
}

/**
 * Turns objects into PlannedFiles. Each object gets a HEAD first, because only its
 * headers tell which digests S3 vouches for: the listing's ETag is the content's MD5
 * only for single-part uploads that are not encrypted with KMS or a customer key (see
 * expectedDigestsFor). The HEAD's ETag then pins the object version for every GET.
 */
export async function planS3Files(
  access: S3Access,
  files: readonly S3FileToPlan[],
  options: S3PlanOptions,
): Promise<PlannedFile[]> {
  const limit = pLimit(Math.max(1, options.concurrency));
  return Promise.all(
    files.map((file) =>
      limit(async (): Promise<PlannedFile> => {
        const head = await headObject(access, file, options);
        return {
          path: file.path,
          size: head.ContentLength,
          expected: expectedDigestsFor(head, access.endpoint !== undefined),
          blobName: null,
          source: s3ByteSource(access, { bucket: file.bucket, key: file.key, etag: head.ETag }),
          ...(head.ETag === undefined ? {} : { etag: head.ETag }),
        };
      }),
    ),
  );
}

async function headObject(
  access: S3Access,
  file: S3FileToPlan,
  options: S3PlanOptions,
): Promise<HeadObjectCommandOutput> {
  const where = s3Url(file.bucket, file.key);
  return withRetries(
    async () => {
      try {
        return await access.client.send(
          new HeadObjectCommand({ Bucket: file.bucket, Key: file.key, ChecksumMode: "ENABLED" }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw s3Failure(error, where);
      }
    },
    {
      policy: options.policy,
      signal: options.signal,
      onRetry: (failure, delayMs) => logger.info(`${failure.message}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
    },
  );
}

const PLAIN_MD5_ETAG = /^"?([0-9a-fA-F]{32})"?$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * What an object's headers vouch for:
 * - md5, from the ETag, when it is a plain 32-hex ETag (multipart uploads end in
 *   "-<parts>"), and the object is not encrypted with SSE-KMS or SSE-C (AWS documents
 *   that those ETags are not an MD5). On S3-compatible servers any server-side
 *   encryption is taken to break the rule (MinIO's encrypted ETags are not MD5s).
 * - sha256, from x-amz-checksum-sha256, when the object was uploaded with a full-object
 *   SHA-256 checksum (a COMPOSITE one is a checksum of part checksums).
 */
export function expectedDigestsFor(
  head: Pick<
    HeadObjectCommandOutput,
    "ETag" | "ServerSideEncryption" | "SSECustomerAlgorithm" | "ChecksumSHA256" | "ChecksumType"
  >,
  compatibleServer: boolean,
): ExpectedDigests {
  const digests: { md5?: string; sha256?: string } = {};
  const md5 = PLAIN_MD5_ETAG.exec(head.ETag ?? "")?.[1];
  const encryption = head.ServerSideEncryption;
  const etagIsMd5 =
    head.SSECustomerAlgorithm === undefined &&
    (encryption === undefined || (!compatibleServer && encryption === "AES256"));
  if (md5 !== undefined && etagIsMd5) digests.md5 = md5.toLowerCase();
  const sha256 = head.ChecksumSHA256;
  if (sha256 !== undefined && BASE64_SHA256.test(sha256) && head.ChecksumType !== "COMPOSITE") {
    digests.sha256 = Buffer.from(sha256, "base64").toString("hex");
  }
  return digests;
}
