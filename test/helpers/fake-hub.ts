/**
 * The three Hub API calls the fetcher makes (revision, tree, resolve), answered by the fault
 * server (fault-server.ts) for listings no well-behaved Hub would send: pages generated as
 * they are asked for (a listing of a million entries costs the test nothing), lying sizes,
 * hostile paths. For a real Hub with real content, use `nix-model-repo serve` (src/serve).
 */
import type { FaultServer } from "./fault-server.js";

export const FAKE_COMMIT = "c".repeat(40);

export interface FakeHubRepo {
  readonly repo: string;
  /** Tree entries of page `page` (0-based), or undefined past the last page. */
  readonly page: (page: number) => readonly unknown[] | undefined;
  /** Content served by resolve, by path. */
  readonly files?: Readonly<Record<string, Buffer>>;
  /** Answer the revision call with this instead (an HTML page, an endless document). */
  readonly revision?: (response: import("node:http").ServerResponse) => void;
}

export function fakeHub(server: FaultServer, hub: FakeHubRepo): { readonly endpoint: string } {
  const api = `/api/models/${hub.repo}`;
  server.route(`${api}/revision/main`, (_request, response) => {
    if (hub.revision) return hub.revision(response);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ id: hub.repo, sha: FAKE_COMMIT }));
  });
  server.route(`${api}/tree/${FAKE_COMMIT}`, (request, response) => {
    const page = Number(new URL(request.url ?? "/", "http://x").searchParams.get("cursor") ?? "0");
    const entries = hub.page(page);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (hub.page(page + 1) !== undefined) {
      headers["link"] = `<${server.url(`${api}/tree/${FAKE_COMMIT}?recursive=true&cursor=${page + 1}`)}>; rel="next"`;
    }
    response.writeHead(200, headers);
    // Written element by element: a page of 300,000 entries is never one string here.
    response.write("[");
    for (const [index, entry] of (entries ?? []).entries()) {
      response.write(`${index === 0 ? "" : ","}${JSON.stringify(entry)}`);
    }
    response.end("]");
  });
  for (const [path, content] of Object.entries(hub.files ?? {})) {
    const resolvePath = `/${hub.repo}/resolve/${FAKE_COMMIT}/${path.split("/").map(encodeURIComponent).join("/")}`;
    server.serveBytes(resolvePath, content);
  }
  return { endpoint: server.origin() };
}

/** A Hub tree entry for a file stored in git (oid: its git blob id) or in LFS (with `lfs`). */
export function treeFile(path: string, size: number, oid: string, lfsSha256?: string): Record<string, unknown> {
  return {
    type: "file",
    path,
    size,
    oid,
    ...(lfsSha256 === undefined ? {} : { lfs: { oid: lfsSha256, size, pointerSize: 134 } }),
  };
}
