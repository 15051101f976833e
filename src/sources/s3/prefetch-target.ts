import { UserError } from "../../errors/user-error.js";
import { storeName, type PrefetchScheme } from "../prefetch-target.js";
import { normaliseS3Prefix } from "./spec.js";

/**
 * `s3://bucket/prefix` with --endpoint (an S3-compatible server), --region and
 * --files. Without --endpoint the build uses AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL from
 * its environment, else AWS itself; the snippet holds only what was given explicitly.
 */
export const s3Prefetch: PrefetchScheme = {
  prefixes: ["s3"],
  example: "s3://bucket/prefix [--endpoint URL] [--region REGION] [--files PATTERN]...",
  parse(rest, flags) {
    const match = /^\/\/([^/]+)(?:\/(.*))?$/.exec(rest);
    if (!match) {
      throw new UserError(
        {
          what: `Cannot read the S3 target 's3:${rest}'`,
          fix: ["Write it as s3://bucket/prefix, e.g. s3://models/llama/7b."],
        },
        { exitCode: 2 },
      );
    }
    const bucket = match[1]!;
    const prefix = normaliseS3Prefix(match[2] ?? "");
    const files = flags.files && flags.files.length > 0 ? [...flags.files] : null;
    const region = flags.region ?? null;
    const endpoint = flags.endpoint ?? null;
    const lastFolder = prefix.split("/").filter(Boolean).pop();
    return {
      // The spec writes the whole bucket as null: spec strings are never empty.
      source: { type: "s3", bucket, prefix: prefix === "" ? null : prefix, region, files, endpoint },
      defaultName: storeName(lastFolder ?? bucket),
      nixAttribute: "s3",
      nixValue: {
        bucket,
        prefix,
        ...(region === null ? {} : { region }),
        ...(files === null ? {} : { files }),
        ...(endpoint === null ? {} : { endpoint }),
      },
    };
  },
};
