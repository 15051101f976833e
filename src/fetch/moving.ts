import type { SourceSpec } from "../sources/registry.js";
import { GIT_OID } from "../util/hex-ids.js";

/**
 * Whether a source names content that can change without the name changing — a branch, a
 * tag, an MLflow stage, alias or "latest", an Ollama tag, the objects under an S3
 * prefix — so that `update` must ask the source again; or content that cannot: a commit,
 * a version number, a URL pinned by its sha256. A pinned source is never moved.
 * Returns what it is pinned to, or null when it moves.
 */
export function pinnedTo(source: SourceSpec): string | null {
  switch (source.type) {
    case "huggingface":
      return GIT_OID.test(source.revision) ? `commit ${source.revision}` : null;
    case "git-lfs":
    case "git-xet":
      return `commit ${source.rev}`;
    case "mlflow":
      return source.modelVersion !== null && source.modelVersion.toLowerCase() !== "latest"
        ? `version ${source.modelVersion}`
        : null;
    case "url":
      return "the sha256 of each URL";
    case "ollama":
    case "s3":
      return null;
  }
}
