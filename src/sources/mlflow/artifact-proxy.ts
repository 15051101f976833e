import type { HttpClient, JsonReader } from "../../http/client.js";
import { JsonArrayStream } from "../../json/index.js";
import { type ListingTally, listingTally } from "../listing.js";
import type { Credential } from "../../http/settings.js";
import { TransferFailure } from "../../errors/failures.js";
import { UserError } from "../../errors/user-error.js";
import type { PlannedFile } from "../../model/resolved-model.js";

/**
 * The tracking server's artifact proxy (mlflow/protos/mlflow_artifacts.proto,
 * mlflow/server/handlers.py; client: http_artifact_repo.py):
 *
 *   GET <base>?path=<dir>   → {"files": [{"path": <basename>, "is_dir": bool, "file_size": int64}]}
 *   GET <base>/<file path>  → the bytes
 *
 * The listing gives base names only, no pagination; an empty folder may omit "files";
 * file_size is absent for folders and may be a number or a decimal string (int64 in
 * proto JSON). The client walks folders recursively, as MLflow's download_artifacts does.
 * Each listing is read as it arrives, entry by entry (src/json), into compact entries, and the
 * whole walk is capped like every listing (src/sources/listing.ts).
 */
export interface ProxyArtifacts {
  readonly baseUrl: string;
  readonly root: string;
  readonly credential: Credential | undefined;
  readonly signal: AbortSignal;
}

export interface ListedArtifact {
  /** Relative to the root, "/"-separated. Checked by the caller with checkRemotePath. */
  readonly path: string;
  readonly size: number | undefined;
}

/** Folders deeper than this are taken for a server that lists a folder inside itself. */
const MAX_DEPTH = 64;

export async function listProxyArtifacts(http: HttpClient, proxy: ProxyArtifacts): Promise<ListedArtifact[]> {
  const files: ListedArtifact[] = [];
  const tally = listingTally(`the artifact listing of mlflow-artifacts ${proxy.root || "/"}`);
  const walk = async (relative: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH)
      throw refuse(proxy, `folders nest deeper than ${MAX_DEPTH} levels at ${JSON.stringify(relative)}`);
    const listed = await listFolder(http, proxy, relative, tally);
    tally.add(listed.length);
    for (const entry of listed) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDir) await walk(path, depth + 1);
      else files.push({ path, size: entry.size });
    }
  };
  await walk("", 0);
  return files;
}

/** The URL of one artifact: the proxy base, the root and the path, each segment escaped. */
export function artifactUrl(proxy: Pick<ProxyArtifacts, "baseUrl" | "root">, path: string): string {
  // The root comes from the server's URI and may already hold %XX escapes (kept, as the
  // Python client's requests library keeps them); listed names are literal.
  const root = proxy.root === "" ? "" : `/${proxy.root.split("/").map(requote).join("/")}`;
  return `${proxy.baseUrl}${root}/${path.split("/").map(encodeURIComponent).join("/")}`;
}

export function planProxyFile(http: HttpClient, proxy: ProxyArtifacts, artifact: ListedArtifact): PlannedFile {
  return {
    path: artifact.path,
    size: artifact.size,
    expected: {},
    blobName: null,
    source: http.byteSource(artifactUrl(proxy, artifact.path), {
      credential: proxy.credential,
      description: `mlflow-artifacts ${joinPath(proxy.root, artifact.path)}`,
    }),
  };
}

interface FolderEntry {
  readonly name: string;
  readonly isDir: boolean;
  readonly size: number | undefined;
}

async function listFolder(
  http: HttpClient,
  proxy: ProxyArtifacts,
  relative: string,
  tally: ListingTally,
): Promise<FolderEntry[]> {
  const url = new URL(proxy.baseUrl);
  url.searchParams.set("path", joinPath(proxy.root, relative));
  const read = (): JsonReader<FolderEntry[]> => {
    const entries: FolderEntry[] = [];
    const stream = new JsonArrayStream({
      at: "files",
      onElement: (item) => {
        tally.check(entries.length + 1);
        entries.push(folderEntry(item, proxy, relative, url));
      },
    });
    return {
      write: (chunk) => stream.write(chunk),
      end: () => {
        stream.end();
        return entries;
      },
    };
  };
  const { body } = await http.readJson(url, read, { credential: proxy.credential, signal: proxy.signal });
  return body;
}

function folderEntry(item: unknown, proxy: ProxyArtifacts, relative: string, url: URL): FolderEntry {
  if (typeof item !== "object" || item === null) throw malformed(url, "a file entry is not an object");
  const { path, is_dir: isDir, file_size: size } = item as { path?: unknown; is_dir?: unknown; file_size?: unknown };
  if (typeof path !== "string") throw malformed(url, "a file entry has no path");
  // The server sends base names; anything else would let it name a path of its choosing.
  if (
    path === "" ||
    path === "." ||
    path === ".." ||
    path.includes("/") ||
    path.includes("\\") ||
    path.includes("\0")
  ) {
    throw refuse(
      proxy,
      `the folder ${JSON.stringify(relative || "/")} lists ${JSON.stringify(path)}, which is not a plain file name`,
    );
  }
  const sizeNumber = typeof size === "string" && /^[0-9]{1,16}$/.test(size) ? Number(size) : size;
  if (
    sizeNumber !== undefined &&
    sizeNumber !== null &&
    !(typeof sizeNumber === "number" && Number.isSafeInteger(sizeNumber) && sizeNumber >= 0)
  ) {
    throw malformed(url, `file_size of ${JSON.stringify(path)} is not a size: ${JSON.stringify(size)}`);
  }
  return { name: path, isDir: isDir === true, size: typeof sizeNumber === "number" ? sizeNumber : undefined };
}

function joinPath(root: string, relative: string): string {
  return root === "" ? relative : relative === "" ? root : `${root}/${relative}`;
}

/** Escapes what a URL path cannot hold, keeping existing %XX escapes. */
function requote(segment: string): string {
  return segment
    .split(/(%[0-9A-Fa-f]{2})/)
    .map((part, index) => (index % 2 === 1 ? part : encodeURIComponent(part)))
    .join("");
}

function malformed(url: URL, why: string): TransferFailure {
  return new TransferFailure(`malformed artifact listing from ${url.origin}${url.pathname}: ${why}`, {
    retryable: false,
    code: "NMR_BAD_RESPONSE",
  });
}

function refuse(proxy: ProxyArtifacts, why: string): UserError {
  return new UserError({
    what: `Refusing the artifact listing of mlflow-artifacts ${proxy.root || "/"}: ${why}`,
    fix: ["The tracking server is broken or hostile; nothing was written."],
  });
}
