import type { LockSource } from "../lockfile/index.js";

/**
 * A model's source as its meta file records it (the adapters' `metaSource`: no endpoint,
 * no URL, no secret), read back as a target in `prefetch`'s grammar: what `list` and
 * `info` show for a store path, and what `verify PATH` asks the source about. The meta
 * file leaves out what names a mirror rather than the content, so a plain-HTTP model (no
 * URLs) and a git-lfs model (no clone URL) cannot be asked again from their store path
 * alone: their lock entry has the URLs.
 */
export type RecordedTarget =
  | { readonly kind: "target"; readonly source: LockSource }
  | { readonly kind: "none"; readonly display: string; readonly why: string };

export function recordedTarget(recorded: Readonly<Record<string, unknown>>): RecordedTarget {
  const text = (key: string): string | undefined => {
    const value = recorded[key];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const patterns = (key: string): readonly string[] | undefined => {
    const value = recorded[key];
    return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string")
      ? (value as string[])
      : undefined;
  };
  const withFiles = (target: string, files: readonly string[] | undefined, extra: Partial<LockSource> = {}) =>
    ({ kind: "target", source: { target, ...(files === undefined ? {} : { files }), ...extra } }) as const;

  switch (recorded["type"]) {
    case "huggingface": {
      const repo = text("repo");
      if (repo === undefined) break;
      const revision = text("revision");
      const repoType = text("repoType");
      return withFiles(
        `hf:${repo}${revision === undefined ? "" : `@${revision}`}`,
        patterns("files"),
        repoType === "dataset" || repoType === "space" ? { repoType } : {},
      );
    }
    case "ollama": {
      const model = text("model");
      if (model === undefined) break;
      return withFiles(`ollama:${model}`, undefined);
    }
    case "s3": {
      const bucket = text("bucket");
      if (bucket === undefined) break;
      return withFiles(`s3://${bucket}/${text("prefix") ?? ""}`, patterns("files"));
    }
    case "mlflow": {
      const name = text("modelName");
      if (name === undefined) break;
      const alias = text("modelAlias");
      const selector = alias === undefined ? `/${text("modelVersion") ?? text("modelStage") ?? "latest"}` : `@${alias}`;
      return withFiles(`mlflow:${name}${selector}`, undefined);
    }
    case "url": {
      const files = Array.isArray(recorded["files"]) ? recorded["files"].length : 0;
      return {
        kind: "none",
        display: `url (${files} file${files === 1 ? "" : "s"})`,
        why: "the meta file of a url source does not record the URLs (a mirror gives the same hash): verify its lock entry instead",
      };
    }
    case "git-lfs":
    case "git-xet": {
      const rev = text("rev");
      return {
        kind: "none",
        display: `${recorded["type"]} @ ${rev ?? "?"}`,
        why: `the meta file of a ${recorded["type"]} source does not record the clone URL (a mirror gives the same hash): verify its lock entry instead`,
      };
    }
  }
  return {
    kind: "none",
    display: typeof recorded["type"] === "string" ? recorded["type"] : "unknown",
    why: "its meta file records a source this nix-model-repo does not know",
  };
}

/** What to show as a model's source: the target when there is one. */
export function sourceDisplay(recorded: Readonly<Record<string, unknown>>): string {
  const target = recordedTarget(recorded);
  return target.kind === "target" ? target.source.target : target.display;
}

/** The revision a model resolved to: the commit, MLflow version or Ollama manifest digest. */
export function resolvedRevision(resolved: Readonly<Record<string, string>>): string | null {
  return resolved["manifestDigest"] ?? resolved["version"] ?? resolved["commit"] ?? null;
}
