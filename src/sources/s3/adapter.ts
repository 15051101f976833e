import { lowSpeedLimitOf } from "../../http/settings.js";
import type { ResolvedModel } from "../../model/resolved-model.js";
import type { SourceAdapter } from "../adapter.js";
import { compileAllowPatterns } from "../../util/fnmatch.js";
import { UserError } from "../../errors/user-error.js";
import type { AuthSpec } from "../../spec/auth.js";
import { openS3 } from "./client.js";
import { nothingSelected } from "../nothing-selected.js";
import { explainS3Failure } from "./explain.js";
import { planS3Folder } from "./folder.js";
import type { S3Source } from "./spec.js";

/**
 * source.s3: the objects under a prefix, as one snapshot in the Hugging Face layout
 * (paths relative to the prefix, blobs named by content sha256, a commit derived from
 * the file manifest).
 */
export const s3Adapter: SourceAdapter<S3Source> = {
  describe(source) {
    return { source: "s3", bucket: source.bucket, prefix: source.prefix };
  },

  async resolve(source, context) {
    refuseTokenAuth(context.auth);
    const access = await openS3({
      region: source.region,
      endpoint: source.endpoint,
      env: context.env,
      dispatcher: context.http.dispatcher,
      lowSpeed: lowSpeedLimitOf(context.http.settings),
    });
    const failureContext = { source: "s3", bucket: source.bucket, prefix: source.prefix };
    context.explainFailuresWith((failure) => explainS3Failure(failure, access, failureContext));

    const keep = compileAllowPatterns(source.files);
    const listing = await planS3Folder(access, { bucket: source.bucket, prefix: source.prefix }, keep, context);
    if (listing.files.length === 0) {
      throw nothingSelected({
        noun: "object",
        where: `under s3://${source.bucket}/${source.prefix}`,
        context: {
          ...failureContext,
          files: source.files === null ? undefined : JSON.stringify(source.files),
          endpoint: access.endpoint ?? "AWS S3",
          credentials: access.credentialsOrigin,
        },
        patternRule: 'Patterns are fnmatch patterns over paths relative to the prefix ("*" also matches "/").',
        available: listing.sample,
        availableCount: listing.count,
        whenEmpty: ['Check the prefix (a folder of keys, e.g. "models/tiny"), the bucket and the endpoint.'],
      });
    }

    return {
      commit: null,
      refs: [],
      files: listing.files,
      // No endpoint (a mirror serves the same bytes) and no region (where the bucket lives,
      // and otherwise taken from the builder's AWS_REGION: the hash would depend on the machine).
      metaSource: { type: source.type, bucket: source.bucket, prefix: source.prefix, files: source.files },
      resolved: {},
    } satisfies ResolvedModel;
  },
};

/** S3 signs requests with a key pair, not a bearer token: a token file has nothing to give it. */
function refuseTokenAuth(auth: AuthSpec): void {
  if (auth.tokenFile === null && auth.tokenEnvVar === null) return;
  throw new UserError({
    what: `auth.${auth.tokenFile !== null ? "tokenFile" : "tokenEnvVar"} does not apply to source.s3`,
    fix: [
      "S3 uses the AWS credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE with AWS_PROFILE, in the builder's environment.",
      "Remove the auth option; see docs/sources/s3.md.",
    ],
  });
}
