import { open } from "node:fs/promises";
import type { SpecDocument } from "../errors/failures.js";
import { UserError } from "../errors/user-error.js";
import { JsonError, parseJson } from "../json/index.js";
import { parseSriSha256 } from "../nar/sri.js";
import { FieldReader, invalid } from "../spec/fields.js";
import { checkHttpUrl } from "../spec/url.js";
import { compareBytes } from "../util/canonical-json.js";
import {
  LOCK_VERSION,
  type LockEntry,
  type LockFile,
  type LockLayout,
  type LockSource,
  type LockedFile,
  SOURCE_ID_KEYS,
  type SourceIds,
} from "./types.js";
import { GIT_OID, SHA256_HEX } from "../util/hex-ids.js";

/**
 * Reads a lockfile as untrusted JSON: bounded parsing (src/json), then every field checked
 * with the one field reader (src/spec/fields.ts), so a hand-edited or hostile lock fails
 * with a message naming the entry and the field — `models."tiny".files[2].sha256 must be 64
 * lowercase hex digits` — and nothing downstream ever sees an unchecked value. The Nix
 * library (lib/lock/check.nix) applies the same rules at evaluation.
 */

/** A lock of 100,000 files is about 30 MiB; anything past this is not a lockfile. */
const MAX_LOCK_BYTES = 256 * 1024 * 1024;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** Store-name characters, not starting with "." or "-": the name becomes an attribute and store path names. */
const ENTRY_NAME = /^[A-Za-z0-9_+][A-Za-z0-9_+.=?-]{0,99}$/;
/**
 * Characters a terminal acts on (C0, DEL, C1), the Unicode line and paragraph separators, and
 * bidirectional overrides, which make a printed name read differently from what it is: the
 * characters src/util/printable.ts escapes (a tab included), refused in every string of a
 * lock, so `add`, `update` and `list` can print what they read as it is.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Whether a string may go into a lock (and so be printed): no control characters, no bidi overrides. */
export function isPrintable(text: string): boolean {
  return !UNPRINTABLE.test(text);
}

/** Whether `name` may name a lock entry (an attribute and the start of store names). */
export function isEntryName(name: string): boolean {
  return ENTRY_NAME.test(name);
}
const MAX_SEGMENT_BYTES = 255;
const REPO_TYPES = ["model", "dataset", "space"] as const;
const OLLAMA_BLOB = /^blobs\/sha256-([0-9a-f]{64})$/;
const OLLAMA_MANIFEST = /^manifests\/[^/]+\/[^/]+\/[^/]+\/[^/]+$/;

export function lockDocument(file: string): SpecDocument {
  return {
    title: `lockfile ${file}`,
    fix: [
      "The lockfile is written by `nix-model-repo add` and `nix-model-repo update`, never by hand: undo the edit (e.g. `git checkout -- <lockfile>`), or write the entry again with `nix-model-repo add NAME TARGET`.",
    ],
    help: "docs/lockfile.md",
    exitCode: 2,
  };
}

/** Reads and checks a lockfile; a missing file is an empty lock when `missingOk`. */
export async function readLockFile(
  path: string,
  { missingOk = false }: { missingOk?: boolean } = {},
): Promise<LockFile> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readAtMost(path, MAX_LOCK_BYTES);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && missingOk) return emptyLock();
    throw new UserError(
      {
        what: `Cannot read the lockfile ${path}`,
        cause: code ?? (error as Error).message,
        fix:
          code === "ENOENT"
            ? ["Create it with `nix-model-repo add NAME TARGET`, or point --lock at it."]
            : ["Check the path and its permissions."],
      },
      { exitCode: 2 },
    );
  }
  if (bytes === undefined) {
    throw new UserError(
      {
        what: `The lockfile ${path} is longer than ${MAX_LOCK_BYTES / (1024 * 1024)} MiB: it is not a lockfile`,
        fix: lockDocument(path).fix,
      },
      { exitCode: 2 },
    );
  }
  return parseLockFile(bytes, path);
}

/**
 * The file's bytes, or undefined when it goes on past `limit`: read in chunks rather than
 * whole, since the path may be a device or a pipe (`--lock /dev/zero`, a link to one) whose
 * end never comes.
 */
async function readAtMost(path: string, limit: number): Promise<Buffer | undefined> {
  const handle = await open(path, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) return undefined;
    }
  } finally {
    await handle.close();
  }
}

export function emptyLock(): LockFile {
  return { lockVersion: LOCK_VERSION, models: {} };
}

/** Parses and checks the text of a lockfile; `file` names it in messages. */
export function parseLockFile(text: Uint8Array | string, file: string): LockFile {
  const document = lockDocument(file);
  let json: unknown;
  try {
    json = parseJson(text, { maxBytes: MAX_LOCK_BYTES, maxDepth: 16 });
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    throw new UserError(
      { what: `The lockfile ${file} is not valid JSON`, cause: error.message, fix: document.fix },
      { exitCode: 2 },
    );
  }
  return checkLockFile(json, document);
}

/**
 * Checks an entry a command is about to write (made from a source's answers), with the
 * rules of a read: a value from a broken or hostile server that the lock would refuse
 * is refused before anything is added to the store or written.
 */
export function checkNewEntry(name: string, entry: LockEntry, origin: string): LockEntry {
  const document: SpecDocument = {
    title: `lock entry from ${origin}`,
    fix: ["The source answered with a value a lockfile cannot hold: it is broken or hostile. Nothing was written."],
    help: "docs/lockfile.md",
    exitCode: 1,
  };
  return checkLockFile(JSON.parse(JSON.stringify({ lockVersion: LOCK_VERSION, models: { [name]: entry } })), document)
    .models[name]!;
}

export function checkLockFile(json: unknown, document: SpecDocument): LockFile {
  const root = FieldReader.root(json, "", document);
  const version = root.number("lockVersion", { min: 0, integer: true, fallback: -1 });
  if (version !== LOCK_VERSION) {
    throw new UserError(
      {
        what: `${document.title} has lockVersion ${version === -1 ? "missing" : version}; this nix-model-repo reads version ${LOCK_VERSION}`,
        fix: [
          version > LOCK_VERSION
            ? "It was written by a newer nix-model-repo: update nix-model-repo (and the Nix library with it)."
            : "Write the lock again with this version: `nix-model-repo add NAME TARGET` for each model.",
        ],
      },
      { exitCode: 2, code: "NMR_BAD_SPEC" },
    );
  }
  // A map whose keys are data (the model names): each entry is read by its own reader.
  root.object("models");
  const models = root.record("models");
  root.done();
  const checked: Record<string, LockEntry> = {};
  for (const name of Object.keys(models).sort(compareBytes)) {
    const where = `models.${JSON.stringify(name)}`;
    if (!ENTRY_NAME.test(name)) {
      throw invalid(
        where,
        "must be named with letters, digits and + _ . = ? - (not starting with . - = or ?), at most 100 characters",
        name,
        document,
      );
    }
    const value = models[name];
    const entry = FieldReader.root(value, where, document);
    checked[name] = readEntry(entry);
    entry.done();
  }
  return { lockVersion: LOCK_VERSION, models: checked };
}

function readEntry(r: FieldReader): LockEntry {
  const source = readSource(r.object("source"));
  const layout = readLayout(r.object("layout"));
  const resolved = readStringMap(r, "resolved");
  const recorded = readRecorded(r);
  const files = r.objectList("files", (file) => readLockedFile(file, layout));
  if (files.length === 0) throw r.refuse("files", "must list at least one file", []);
  checkPaths(r, files);
  checkBlobs(r, files);
  const smallFiles = r.nullableObject("smallFiles");
  let narHash: string | null = null;
  if (smallFiles !== null) {
    narHash = printable(smallFiles, "narHash");
    try {
      parseSriSha256(narHash);
    } catch {
      throw smallFiles.refuse("narHash", 'must be an SRI sha256 ("sha256-" and 44 base64 characters)', narHash);
    }
    smallFiles.done();
  }
  const hasSmall = files.some((file) => !file.large);
  if (hasSmall && narHash === null) throw r.refuse("smallFiles", "must give the narHash of the small files", null);
  if (!hasSmall && narHash !== null) throw r.refuse("smallFiles", "must be null: every file is large", { narHash });

  if (layout.kind === "huggingface") {
    const commit = resolved["commit"];
    if (commit === undefined || !GIT_OID.test(commit))
      throw invalid(
        `${r.where}.resolved.commit`,
        "must be a 40-hex commit (the snapshot's folder name)",
        commit,
        r.document,
      );
  } else {
    const digest = resolved["manifestDigest"];
    if (digest === undefined || !DIGEST.test(digest))
      throw invalid(
        `${r.where}.resolved.manifestDigest`,
        'must be "sha256:" and 64 lowercase hex digits',
        digest,
        r.document,
      );
    const manifests = files.filter((file) => OLLAMA_MANIFEST.test(file.path));
    if (manifests.length !== 1 || manifests[0]!.large)
      throw r.refuse(
        "files",
        "must hold exactly one manifest (manifests/<host>/<namespace>/<model>/<tag>), as a small file",
        manifests.map((file) => file.path),
      );
    if (`sha256:${manifests[0]!.sha256}` !== digest)
      throw invalid(
        `${r.where}.resolved.manifestDigest`,
        `must be the manifest's sha256 (sha256:${manifests[0]!.sha256})`,
        digest,
        r.document,
      );
  }
  return { source, layout, resolved, recorded, files, smallFiles: narHash === null ? null : { narHash } };
}

function readSource(r: FieldReader): LockSource {
  const target = printable(r, "target");
  const files = r.optionalStringList("files");
  files?.forEach((pattern, index) => {
    if (UNPRINTABLE.test(pattern))
      throw invalid(`${r.path("files")}[${index}]`, "must not contain control characters", pattern, r.document);
  });
  const endpoint = r.optionalString("endpoint");
  if (endpoint !== null) {
    checkHttpUrl(endpoint, r.path("endpoint"), {
      example: "https://hf-mirror.example",
      credentialsFrom: "the environment",
    });
  }
  const repoType = r.optionalString("repoType");
  if (repoType !== null && !REPO_TYPES.includes(repoType as (typeof REPO_TYPES)[number]))
    throw r.refuse("repoType", 'must be "model", "dataset" or "space"', repoType);
  const region = r.optionalString("region");
  if (region !== null && !/^[a-z0-9-]{1,64}$/.test(region))
    throw r.refuse("region", "must be a region name like eu-west-1", region);
  r.done();
  return {
    target,
    ...(files === null ? {} : { files }),
    ...(endpoint === null ? {} : { endpoint }),
    ...(repoType === null ? {} : { repoType: repoType as (typeof REPO_TYPES)[number] }),
    ...(region === null ? {} : { region }),
  };
}

function readLayout(r: FieldReader): LockLayout {
  const kind = r.choice("kind", ["huggingface", "ollama"] as const);
  if (kind === "ollama") {
    r.done();
    return { kind };
  }
  const refs = r.stringList("refs");
  refs.forEach((ref, index) => {
    const where = `${r.path("refs")}[${index}]`;
    if (UNPRINTABLE.test(ref) || ref.includes("\\") || ref.split("/").some((s) => s === "" || s === "." || s === ".."))
      throw invalid(
        where,
        'must be a revision name like "main" or "refs/pr/1" (no empty, "." or ".." segment, no backslash)',
        ref,
        r.document,
      );
  });
  if (new Set(refs).size !== refs.length) throw r.refuse("refs", "must name each ref once", refs);
  r.done();
  return { kind, refs };
}

/** An object of strings (resolved): commit, version, manifestDigest... */
function readStringMap(r: FieldReader, key: string): Record<string, string> {
  r.object(key);
  const value = r.record(key);
  const map: Record<string, string> = {};
  for (const name of Object.keys(value).sort(compareBytes)) {
    const item = value[name];
    const where = `${r.path(key)}.${name}`;
    if (UNPRINTABLE.test(name) || name === "") throw invalid(r.path(key), "must have plain keys", name, r.document);
    if (typeof item !== "string" || item === "" || UNPRINTABLE.test(item))
      throw invalid(where, "must be a non-empty string without control characters", item, r.document);
    map[name] = item;
  }
  return map;
}

/** The meta file's `source`: any JSON object with a `type`, kept as it is (only printable strings). */
function readRecorded(r: FieldReader): Record<string, unknown> {
  r.object("recorded");
  const value = r.record("recorded");
  const type = value["type"];
  if (typeof type !== "string" || type === "")
    throw invalid(`${r.path("recorded")}.type`, "must name the source type", type, r.document);
  const check = (item: unknown, where: string): void => {
    if (typeof item === "string") {
      if (UNPRINTABLE.test(item)) throw invalid(where, "must not contain control characters", item, r.document);
    } else if (Array.isArray(item)) {
      for (const [index, element] of item.entries()) check(element, `${where}[${index}]`);
    } else if (typeof item === "object" && item !== null)
      for (const [key, element] of Object.entries(item)) check(element, `${where}.${key}`);
  };
  check(value, r.path("recorded"));
  return value;
}

function readLockedFile(r: FieldReader, layout: LockLayout): LockedFile {
  const path = printable(r, "path");
  const size = r.number("size", { min: 0, integer: true });
  if (!Number.isSafeInteger(size)) throw r.refuse("size", "must be an integer below 2^53", size);
  const sha256 = r.string("sha256");
  if (!SHA256_HEX.test(sha256)) throw r.refuse("sha256", "must be 64 lowercase hex digits", sha256);
  const large = r.boolean("large");
  const blob = r.optionalString("blob");
  if (layout.kind === "huggingface") {
    if (blob === null || !(GIT_OID.test(blob) || SHA256_HEX.test(blob)))
      throw r.refuse("blob", "must be the blob's name: 40 or 64 lowercase hex digits", blob);
  } else {
    if (blob !== null) throw r.refuse("blob", "must be absent in the Ollama layout (the path names the blob)", blob);
    const match = OLLAMA_BLOB.exec(path);
    if (match === null && !OLLAMA_MANIFEST.test(path))
      throw r.refuse("path", "must be blobs/sha256-<hex> or manifests/<host>/<namespace>/<model>/<tag>", path);
    if (match !== null && match[1] !== sha256)
      throw r.refuse("sha256", `must be the digest its path names (${match[1]})`, sha256);
  }
  const ids = readIds(r.object("ids"));
  return { path, size, sha256, large, ...(blob === null ? {} : { blob }), ids };
}

function readIds(r: FieldReader): SourceIds {
  const ids: { -readonly [K in keyof SourceIds]: string } = {};
  for (const key of SOURCE_ID_KEYS) {
    const value = r.optionalString(key);
    if (value === null) continue;
    if (UNPRINTABLE.test(value) || value.length > 256)
      throw r.refuse(key, "must be at most 256 printable characters", value);
    ids[key] = value;
  }
  if (ids.gitOid !== undefined && !GIT_OID.test(ids.gitOid))
    throw r.refuse("gitOid", "must be 40 lowercase hex digits", ids.gitOid);
  if (ids.lfsOid !== undefined && !SHA256_HEX.test(ids.lfsOid))
    throw r.refuse("lfsOid", "must be 64 lowercase hex digits", ids.lfsOid);
  if (ids.digest !== undefined && !DIGEST.test(ids.digest))
    throw r.refuse("digest", 'must be "sha256:" and 64 lowercase hex digits', ids.digest);
  r.done();
  return ids;
}

/**
 * Paths decide where the assembly writes its links: each must be a plain relative path
 * (the rule src/sources/remote-path.ts applies to listings) and name one file only.
 */
function checkPaths(r: FieldReader, files: readonly LockedFile[]): void {
  const seen = new Set<string>();
  files.forEach((file, index) => {
    const where = `${r.path("files")}[${index}].path`;
    const segments = file.path.split("/");
    const bad = (why: string) => invalid(where, why, file.path, r.document);
    if (file.path.startsWith("/")) throw bad("must be relative");
    if (file.path.includes("\\")) throw bad("must not contain a backslash");
    for (const segment of segments) {
      if (segment === "") throw bad("must not have an empty segment (a leading, trailing or doubled '/')");
      if (segment === "." || segment === "..") throw bad(`must not have a '${segment}' segment`);
      if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)
        throw bad(`must not have a segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
    const key = file.path.normalize("NFC");
    if (seen.has(key)) throw bad("must name each file once");
    seen.add(key);
  });
  for (const [index, file] of files.entries()) {
    const segments = file.path.normalize("NFC").split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      if (seen.has(segments.slice(0, depth).join("/")))
        throw invalid(`${r.path("files")}[${index}].path`, "must not be inside another file", file.path, r.document);
    }
  }
}

/**
 * Files that share a blob (blobs/<blob> in the Hugging Face layout) share its bytes: a lock
 * giving one blob two contents would serve one file's bytes under the other's name.
 */
function checkBlobs(r: FieldReader, files: readonly LockedFile[]): void {
  const byBlob = new Map<string, LockedFile>();
  for (const [index, file] of files.entries()) {
    if (file.blob === undefined) continue;
    const first = byBlob.get(file.blob);
    if (first === undefined) byBlob.set(file.blob, file);
    else if (first.sha256 !== file.sha256 || first.size !== file.size || first.large !== file.large)
      throw invalid(
        `${r.path("files")}[${index}].blob`,
        `must name a blob of its own: ${first.path} has this blob with other content`,
        file.blob,
        r.document,
      );
  }
}

/** A required string that is safe to print. */
function printable(r: FieldReader, key: string): string {
  const value = r.string(key);
  if (UNPRINTABLE.test(value)) throw r.refuse(key, "must not contain control characters", value);
  return value;
}
