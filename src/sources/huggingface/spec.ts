import type { FieldReader } from "../../spec/fields.js";
import { invalid } from "../../spec/fields.js";
import { checkHttpUrl } from "../../spec/url.js";

/** The kinds of Hub repository (huggingface_hub's REPO_TYPES). */
export const HUB_REPO_TYPES = ["model", "dataset", "space"] as const;
export type HubRepoType = (typeof HUB_REPO_TYPES)[number];

export interface HuggingFaceSource {
  readonly type: "huggingface";
  /** "org/name" or a single-segment legacy id ("gpt2"). */
  readonly repo: string;
  readonly repoType: HubRepoType;
  /** Branch, tag, "refs/pr/N" or a 40-hex commit. */
  readonly revision: string;
  /** huggingface_hub allow_patterns; null = every file. */
  readonly files: readonly string[] | null;
  /** Hub endpoint; null = $HF_ENDPOINT, else https://huggingface.co. */
  readonly endpoint: string | null;
}

/**
 * huggingface_hub's validate_repo_id (utils/_validators.py), in the ASCII the Hub's own
 * names use: [namespace/]name, each part letters, digits, _ . - that starts and ends with
 * a letter, digit or _, at most 96 characters; no "--" or ".." (the cache folder
 * models--org--name is split at "--"); not ending in ".git". lib/utils.nix isHubRepoId is
 * the same rule; test/spec-values.json holds both to it.
 */
const REPO_ID_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const MAX_REPO_ID_PART_LENGTH = 96;

export function parseHuggingFaceSource(r: FieldReader): HuggingFaceSource {
  const source: HuggingFaceSource = {
    type: "huggingface",
    repo: r.string("repo"),
    repoType: r.choice("repoType", HUB_REPO_TYPES, "model"),
    revision: r.optionalString("revision") ?? "main",
    files: r.optionalStringList("files"),
    endpoint: r.optionalString("endpoint"),
  };
  r.done();
  checkRepoId(source.repo, `${r.where}.repo`);
  checkRevision(source.revision, `${r.where}.revision`);
  if (source.endpoint !== null) {
    checkHttpUrl(source.endpoint, `${r.where}.endpoint`, {
      example: "https://huggingface.co",
      credentialsFrom: "auth.tokenFile or HF_TOKEN",
    });
  }
  return source;
}

function checkRepoId(repo: string, where: string): void {
  const parts = repo.split("/");
  const valid =
    parts.length <= 2 &&
    parts.every((part) => REPO_ID_PART.test(part) && part.length <= MAX_REPO_ID_PART_LENGTH) &&
    !repo.includes("--") &&
    !repo.includes("..") &&
    !repo.endsWith(".git");
  if (!valid) {
    throw invalid(
      where,
      `must be a Hub repo id like "org/name" (letters, digits, - _ .; each part starting and ending with a letter, digit or _, at most ${MAX_REPO_ID_PART_LENGTH} characters; no "--" or ".."; not ending in ".git")`,
      repo,
    );
  }
}

/** A revision becomes refs/<revision> in the output, so it must be a safe relative path. */
function checkRevision(revision: string, where: string): void {
  const segments = revision.split("/");
  if (revision.includes("\0") || revision.includes("\\") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw invalid(where, 'must be a branch, tag, "refs/pr/N" or commit (no empty, "." or ".." segments)', revision);
  }
}
