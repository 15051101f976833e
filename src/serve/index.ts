/**
 * nix-model-repo's own Hugging Face Hub server: serves the repo folders of an HF cache (or of
 * fetched outputs) over the part of the Hub API that downloads use, faithfully enough that
 * huggingface_hub and @huggingface/hub download from it (HF_ENDPOINT / hubUrl). It is the
 * air-gapped mirror behind `nix-model-repo serve` and the Hub the tests run against.
 *
 * Programmatic use (tests):
 *
 *     import { startHubServer, faults, match } from "../src/serve/index.js";
 *
 *     const hub = await startHubServer({
 *       root,                        // HF cache dir, folder of fetched outputs, or one repo folder
 *       pageSize: 2,                 // force tree pagination (default 1000)
 *       tokens: ["hf_accepted"],     // unlock repos with a `.gated` / `.private` marker
 *       cdn: { host: "127.0.0.2" },  // LFS → 302 to http://127.0.0.2:<same port>/cdn-lfs/…
 *       faults: faults.times(1, faults.rateLimited(1), match.contentGet),
 *       treeOverride: ({ repo }) => (repo.id === "acme/evil" ? [{ type: "file", path: "../x", oid: "…", size: 1 }] : undefined),
 *     });
 *     process.env.HF_ENDPOINT = hub.url;
 *     …
 *     hub.requests.filter((r) => r.host.startsWith("127.0.0.2")).every((r) => !r.hasAuthorization);
 *     hub.requests.filter((r) => r.route === "xet-reconstruction").every((r) => r.credential === "xet-token");
 *     hub.setFaults((request) => (request.file === "model.safetensors" && request.nth === 1 ? { dropAfterBytes: 4096 } : undefined));
 *     await hub.close();
 *
 * Routes (see routes.ts): GET /api/{type}s/{repo}[/revision/{rev}] (info; `?blobs=true` adds
 * sizes, blob ids, LFS info), GET /api/{type}s/{repo}/tree/{rev}[/{path}] (`recursive`,
 * `expand`, `limit`, `cursor`; `Link: <…>; rel="next"`), POST …/paths-info/{rev},
 * GET|HEAD /[datasets/|spaces/]{repo}/resolve|raw/{rev}/{path} (Range, ETag, X-Repo-Commit,
 * X-Linked-Etag, X-Linked-Size; LFS → 302 to the CDN when configured), GET|HEAD /cdn-lfs/….
 *
 * Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo),
 * X-Error-Message and a `{"error": …}` body with the Hub's status codes: a missing or private
 * repo is 401 for anonymous callers and 404 for callers with credentials; a gated repo's
 * content is 401 without a token and 403 with a token that is not accepted, while its
 * metadata stays public, as on huggingface.co.
 *
 * Markers in a repo folder: `.gated` (content "manual" → gated "manual", else "auto"),
 * `.private`, `.xet`; or the options `gated: ["acme/tiny"]`, `private: ["datasets/acme/data"]`,
 * `xet: { repos: ["acme/tiny"] }`.
 *
 * Xet repos (see xet/ and docs/serve.md): tree entries carry `xetHash`, resolve adds
 * X-Xet-Hash and the xet-auth / xet-reconstruction-info links, and the server is also the
 * CAS: GET /api/{type}s/{repo}/xet-read-token/{rev}, GET /v1|v2/reconstructions/{file_id},
 * GET /xorbs/default/{hash} (pre-signed). `xet: { tokenTtlSeconds, urlTtlSeconds,
 * xorbMaxBytes, directory }` tunes it; `Fault.xet` and `faults.xetTokenExpired()` /
 * `faults.xorbAccessDenied()` make it misbehave; `hub.xetStats()` reports schemes and dedup.
 */
export { startHubServer } from "./server.js";
export type { HubServer, HubServerOptions, RecordedRequest, ServedRepo } from "./server.js";
export { faults, match } from "./faults.js";
export type { Fault, FaultHook, FaultRequest, RequestMatcher } from "./faults.js";
export type { XetFault } from "./xet/faults.js";
export type { XetServeOptions } from "./xet/service.js";
export type { XetStoreStats } from "./xet/store.js";
export type { TreeOverride, TreeOverrideRequest } from "./context.js";
export type { RouteKind } from "./routes.js";
export type { RepoType } from "./types.js";
export { repoFolderName } from "./types.js";
export { defaultIsLfs } from "./lfs-heuristic.js";
export { gitBlobOid, lfsPointer } from "./git-objects.js";
