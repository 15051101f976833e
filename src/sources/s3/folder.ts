import type { AdapterContext } from "../adapter.js";
import type { PlannedFile } from "../../model/resolved-model.js";
import { retryPolicyFrom } from "../../retry/retry.js";
import { checkRemotePaths } from "../remote-path.js";
import { logger } from "../../util/log.js";
import type { S3Access } from "./client.js";
import { listS3Objects, type S3Folder, type S3ListedObject } from "./listing.js";
import { planS3Files } from "./plan.js";
import { UserError } from "../../errors/user-error.js";
import { listingTally } from "../listing.js";

/**
 * Everything under an S3 folder as planned snapshot files: used by source.s3 and by
 * MLflow for s3:// artifact stores.
 *
 * Keys become paths relative to the prefix. Keys ending in "/" are the folder markers
 * consoles create, not files: skipped. Paths are checked like every remote path
 * (src/sources/remote-path.ts), but only those selected: a hostile key the patterns
 * exclude is never used.
 */
export interface S3FolderListing {
  /** The first few files under the folder, by relative path, before selection (for a message). */
  readonly sample: readonly string[];
  /** How many objects the listing holds. */
  readonly count: number;
  readonly files: readonly PlannedFile[];
}

export async function planS3Folder(
  access: S3Access,
  folder: S3Folder,
  keep: (path: string) => boolean,
  context: Pick<AdapterContext, "http" | "signal">,
): Promise<S3FolderListing> {
  const policy = retryPolicyFrom(context.http.settings);
  const origin = `the listing of s3://${folder.bucket}/${folder.prefix}`;
  const tally = listingTally(origin);
  const selected: { key: string; path: string }[] = [];
  // Filtered a page at a time: only the selected objects are kept.
  await listS3Objects(access, folder, policy, context.signal, (objects) => {
    const files = objects.flatMap((object) => relativeFile(object, folder, origin));
    tally.add(
      objects.length,
      files.map((file) => file.path),
    );
    for (const file of files) if (keep(file.path)) selected.push(file);
  });
  checkRemotePaths(
    selected.map((file) => file.path),
    origin,
  );
  const files = await planS3Files(
    access,
    selected.map((file) => ({ bucket: folder.bucket, key: file.key, path: file.path })),
    { policy, concurrency: context.http.settings.concurrency, signal: context.signal },
  );
  return { sample: tally.sample, count: tally.count, files };
}

function relativeFile(object: S3ListedObject, folder: S3Folder, origin: string): { key: string; path: string }[] {
  if (!object.key.startsWith(folder.prefix)) {
    // We asked for this prefix: a key outside it means the server ignored the request.
    throw new UserError({
      what: `Refusing ${origin}: it returned a key outside the prefix`,
      context: { key: JSON.stringify(object.key), prefix: JSON.stringify(folder.prefix) },
    });
  }
  if (object.key.endsWith("/")) {
    if (object.size > 0)
      logger.warn(
        `skipping ${JSON.stringify(object.key)}: a key ending in "/" is taken as a folder marker (it holds ${object.size} bytes)`,
      );
    return [];
  }
  return [{ key: object.key, path: object.key.slice(folder.prefix.length) }];
}
