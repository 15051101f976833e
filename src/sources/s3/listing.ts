import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { withRetries, type RetryPolicy } from "../../retry/retry.js";
import { TransferFailure } from "../../errors/failures.js";
import { logger } from "../../util/log.js";
import type { S3Access } from "./client.js";
import { s3Failure } from "./errors.js";

/** One object of a listing, under the prefix. */
export interface S3ListedObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string | undefined;
}

export interface S3Folder {
  readonly bucket: string;
  /** "" or ending in "/". */
  readonly prefix: string;
}

/** Pages a listing may have before we call it a loop: 100 million keys at 1000 a page. */
const MAX_PAGES = 100_000;

/**
 * Every object whose key starts with the prefix, following ListObjectsV2's continuation
 * tokens, handed to `onPage` a page at a time (the caller keeps what it selects: a listing
 * costs what is fetched, not what the prefix holds). Each page is retried by the shared
 * policy. A server that repeats a token or claims more pages without giving a token is
 * refused rather than followed forever. The SDK reads each answer whole and parses its
 * XML recursively; undici-handler.ts bounds both.
 */
export async function listS3Objects(
  access: S3Access,
  folder: S3Folder,
  policy: RetryPolicy,
  signal: AbortSignal,
  onPage: (objects: readonly S3ListedObject[]) => void,
): Promise<void> {
  const seenTokens = new Set<string>();
  const where = `s3://${folder.bucket}/${folder.prefix}`;
  let token: string | undefined;
  for (let page = 1; ; page++) {
    const response = await withRetries(
      async () => {
        try {
          return await access.client.send(
            new ListObjectsV2Command({
              Bucket: folder.bucket,
              Prefix: folder.prefix === "" ? undefined : folder.prefix,
              ContinuationToken: token,
            }),
            { abortSignal: signal },
          );
        } catch (error) {
          throw s3Failure(error, where);
        }
      },
      {
        policy,
        signal,
        onRetry: (failure, delayMs, attempt) =>
          logger.info(
            `${failure.message}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${policy.maxAttempts})`,
          ),
      },
    );
    const objects: S3ListedObject[] = [];
    for (const entry of response.Contents ?? []) {
      if (entry.Key === undefined) continue;
      objects.push({ key: entry.Key, size: entry.Size ?? 0, etag: entry.ETag });
    }
    onPage(objects);
    if (!response.IsTruncated) return;
    const next = response.NextContinuationToken;
    const broken = (why: string) =>
      new TransferFailure(`the listing of ${where} ${why} (page ${page}); the server is broken`, {
        retryable: false,
        code: "NMR_BAD_RESPONSE",
        url: where,
      });
    if (next === undefined || next === "") throw broken("is truncated but gives no continuation token");
    if (seenTokens.has(next)) throw broken("repeats a continuation token");
    if (page >= MAX_PAGES) throw broken(`goes on for more than ${MAX_PAGES} pages`);
    seenTokens.add(next);
    token = next;
  }
}
