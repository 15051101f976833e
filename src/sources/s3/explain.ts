import type { Explanation } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import type { FailureContext } from "../../errors/render.js";
import type { S3Access } from "./client.js";
import { S3Failure } from "./errors.js";

/**
 * The S3 source's explain hook: S3 failures in the user's terms: which bucket, through
 * which endpoint and region, with which credentials (their origin, never their values),
 * and what to do.
 */
export function explainS3Failure(failure: Failure, access: S3Access, context: FailureContext): Explanation | undefined {
  if (!(failure instanceof TransferFailure)) return undefined;
  const code = failure instanceof S3Failure ? failure.s3Code : undefined;
  const where: FailureContext = {
    ...context,
    endpoint: access.endpoint ?? "AWS S3",
    region: access.region,
    credentials: access.credentialsOrigin,
  };
  const fix = fixesFor(failure.status, code, access);
  if (fix === undefined) return undefined;
  return {
    what: whatFor(failure.status, code, context),
    context: where,
    cause: failure.message,
    fix,
    help: "docs/sources/s3.md",
  };
}

function whatFor(status: number | undefined, code: string | undefined, context: FailureContext): string {
  const bucket = context["bucket"];
  if (code === "NoSuchBucket") return `The bucket ${bucket} does not exist on this endpoint`;
  if (code === "PreconditionFailed" || status === 412)
    return `An object of s3://${bucket} changed while it was being fetched`;
  if (status === 301 || code === "PermanentRedirect") return `The bucket ${bucket} is in another region`;
  return `Access to s3://${bucket} was refused`;
}

function fixesFor(status: number | undefined, code: string | undefined, access: S3Access): string[] | undefined {
  if (code === "NoSuchBucket" || (status === 404 && code !== "NoSuchKey")) {
    return [
      "Check the bucket name, and that endpoint points at the server holding it (source.s3.endpoint, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).",
    ];
  }
  if (code === "PreconditionFailed" || status === 412) {
    return [
      "Someone overwrote it during the fetch (its ETag no longer matches the listing). Fetch again once the upload is complete.",
    ];
  }
  if (status === 301 || code === "PermanentRedirect") {
    return ['Set source.s3.region to the bucket\'s region (for R2: "auto").'];
  }
  if (status === 401 || status === 403) {
    return access.anonymous
      ? [
          "The bucket is not public: give the fetcher AWS credentials.",
          "Inside Nix builds they come from the builder's environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE with AWS_PROFILE (~/.aws is not read: HOME is /homeless-shelter).",
          "With nix-daemon these must be in the daemon's environment (systemd EnvironmentFile), and files readable by the build users; see docs/sources/s3.md.",
        ]
      : [
          `The credentials (from ${access.credentialsOrigin}) may not read this bucket: grant s3:ListBucket on the bucket and s3:GetObject on the prefix.`,
          "Check that they are not expired (temporary credentials need a fresh AWS_SESSION_TOKEN).",
        ];
  }
  return undefined;
}
