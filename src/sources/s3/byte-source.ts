import type { Readable } from "node:stream";
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { discard, guardedChunks } from "../../http/body.js";
import { parseContentRange, rangeHeaderFor } from "../../http/byte-source.js";
import { TransferFailure } from "../../errors/failures.js";
import type { ByteSource, OpenedBody } from "../../transfer/types.js";
import type { S3Access } from "./client.js";
import { s3Failure } from "./errors.js";

export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
  /**
   * The ETag seen when the object was planned. Every GET carries it as If-Match, so all
   * ranged parts of a file come from the same version of the object: one overwritten
   * mid-download fails (412) instead of mixing two versions' bytes.
   */
  readonly etag: string | undefined;
}

/** s3://bucket/key as an object's printable name. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * An S3 object as a ByteSource: one GetObject with a Range header per stream or part.
 * The engine does parts, resume, retries, hashing and the bandwidth cap.
 */
export function s3ByteSource(access: S3Access, object: S3ObjectRef): ByteSource {
  const description = s3Url(object.bucket, object.key);
  return {
    description,
    supportsRanges: true,
    async open(range, signal): Promise<OpenedBody> {
      let output: GetObjectCommandOutput;
      try {
        output = await access.client.send(
          new GetObjectCommand({
            Bucket: object.bucket,
            Key: object.key,
            Range: rangeHeaderFor(range),
            IfMatch: object.etag,
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw s3Failure(error, description);
      }
      const body = output.Body as Readable | undefined;
      if (body === undefined)
        throw new TransferFailure(`no body in the answer for ${description}`, {
          retryable: true,
          code: "NMR_BAD_RESPONSE",
          url: description,
        });
      const status = output.$metadata.httpStatusCode;
      let start = 0;
      let totalSize = output.ContentLength;
      if (status === 206) {
        const contentRange = parseContentRange(output.ContentRange);
        if (contentRange === undefined) {
          discard(body);
          // Retried like a reset, as for every HTTP source (src/http/byte-source.ts).
          throw new TransferFailure(`HTTP 206 without a valid Content-Range from ${description}`, {
            retryable: true,
            code: "NMR_BAD_RESPONSE",
            status,
            url: description,
          });
        }
        start = contentRange.first;
        totalSize = contentRange.total;
      }
      return {
        body: guardedChunks(body, new URL(description), signal),
        start,
        totalSize,
        // S3's ETags are strong: the same ETag, the same bytes.
        ...(output.ETag === undefined ? {} : { validator: `ETag ${output.ETag}` }),
        cancel: async () => discard(body),
      };
    },
  };
}
