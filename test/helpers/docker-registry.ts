/**
 * Debian's `docker-registry` (distribution 2.8) as the Ollama registry in tests: started
 * by the test with its own config (filesystem storage in a temp dir, 127.0.0.1 on a free
 * port, no auth), filled through the registry API exactly as a client pushes, and read by
 * the fetcher like registry.ollama.ai (distribution 2.8 checks only that a manifest's blobs
 * exist: registry/storage/schema2manifesthandler.go).
 *
 * Redirect mode mimics registry.ollama.ai's 307 to Cloudflare R2: the storage middleware
 * `redirect` makes blob GETs answer 307 to {baseurl}/docker/registry/v2/blobs/sha256/
 * <2hex>/<hex>/data, and `startStorageServer` serves the storage directory there, on
 * another host (127.0.0.2), recording what arrives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join, normalize, sep } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const DOCKER_REGISTRY = "/usr/bin/docker-registry";
export const hasDockerRegistry = existsSync(DOCKER_REGISTRY);

export const SCHEMA2_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const OLLAMA_CONFIG = "application/vnd.docker.container.image.v1+json";
export const OLLAMA_LAYER = (kind: "model" | "template" | "params" | "license" | "system" | "projector") =>
  `application/vnd.ollama.image.${kind}`;

export interface DockerRegistry {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** "127.0.0.1:PORT" */
  readonly host: string;
  readonly storage: string;
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** Storage root; two registries may share one (one to push, both to read). */
  readonly storage: string;
  /** Blob GETs answer 307 to this base URL + the blob's storage path. */
  readonly redirectTo?: string;
}

export async function startDockerRegistry(options: RegistryOptions): Promise<DockerRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const middleware = options.redirectTo
    ? `middleware:
  storage:
    - name: redirect
      options:
        baseurl: ${options.redirectTo}
`
    : "";
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${options.storage}
  delete:
    enabled: true
${middleware}http:
  addr: ${host}
  secret: nix-model-repo-tests
`;
  await mkdir(options.storage, { recursive: true });
  const configFile = join(options.storage, `..`, `registry-${port}.yml`);
  await writeFile(configFile, config);
  const child = spawn(DOCKER_REGISTRY, ["serve", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://${host}`;
  await waitUntilServing(`${url}/v2/`, child, () => stderr);
  return {
    url,
    host,
    storage: options.storage,
    close: () => stop(child),
  };
}

async function waitUntilServing(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}):\n${stderr()}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill();
  throw new Error(`docker-registry did not answer ${url} within 5 s:\n${stderr()}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Upload a blob the way clients do: POST an upload session, PUT the bytes with ?digest=. */
export async function pushBlob(registryUrl: string, repository: string, bytes: Buffer): Promise<string> {
  const digest = `sha256:${sha256Hex(bytes)}`;
  const start = await fetch(`${registryUrl}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`blob upload POST: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get("location")!, registryUrl);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  if (put.status !== 201) throw new Error(`blob upload PUT: ${put.status} ${await put.text()}`);
  return digest;
}

export async function pushManifest(
  registryUrl: string,
  repository: string,
  tag: string,
  manifest: Buffer,
  mediaType = SCHEMA2_MANIFEST,
): Promise<Response> {
  return fetch(`${registryUrl}/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    body: manifest,
    headers: { "content-type": mediaType },
  });
}

export interface PushedBlob {
  readonly mediaType: string;
  readonly digest: string;
  readonly sha256: string;
  readonly bytes: Buffer;
}

export interface PushedModel {
  readonly repository: string;
  readonly tag: string;
  /** The manifest bytes as pushed (and as the registry serves them). */
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly config: PushedBlob;
  readonly layers: readonly PushedBlob[];
}

/** An Ollama model as `ollama push` makes it: a docker image config and ollama layers, in a schema-2 manifest. */
export async function pushOllamaModel(
  registryUrl: string,
  repository: string,
  tag: string,
  layers: readonly { readonly mediaType: string; readonly bytes: Buffer }[],
): Promise<PushedModel> {
  const configBytes = Buffer.from(
    JSON.stringify({
      model_format: "gguf",
      model_family: "llama",
      model_type: "1B",
      file_type: "Q8_0",
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  const push = async (mediaType: string, bytes: Buffer): Promise<PushedBlob> => {
    const digest = await pushBlob(registryUrl, repository, bytes);
    return { mediaType, digest, sha256: digest.slice("sha256:".length), bytes };
  };
  const config = await push(OLLAMA_CONFIG, configBytes);
  const pushed: PushedBlob[] = [];
  for (const layer of layers) pushed.push(await push(layer.mediaType, layer.bytes));
  const descriptor = (blob: PushedBlob) => ({
    mediaType: blob.mediaType,
    digest: blob.digest,
    size: blob.bytes.length,
  });
  // Compact JSON in Go's field order, as Ollama's json.Marshal writes it.
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: SCHEMA2_MANIFEST,
      config: descriptor(config),
      layers: pushed.map(descriptor),
    }),
  );
  const response = await pushManifest(registryUrl, repository, tag, manifest);
  if (response.status !== 201) throw new Error(`manifest PUT: ${response.status} ${await response.text()}`);
  return { repository, tag, manifest, manifestDigest: `sha256:${sha256Hex(manifest)}`, config, layers: pushed };
}

/** Where the filesystem driver keeps a blob's bytes (also the redirect target's path). */
export function blobDataPath(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, "");
  return join(storage, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

/** Flips one byte of a stored blob: the registry keeps serving it, with the same size, under the old digest. */
export async function corruptStoredBlob(storage: string, digest: string, offset = 0): Promise<void> {
  const file = blobDataPath(storage, digest);
  const bytes = await readFile(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  await writeFile(file, bytes);
}

/**
 * Makes `repository:tag` serve arbitrary manifest bytes, bypassing the push-time checks
 * (distribution refuses to accept a manifest with a malformed digest, but a hostile or
 * broken registry could serve one): the bytes go into the blob store and the tag's
 * links point at them, as the registry's own storage layout has it.
 */
export async function plantManifest(
  storage: string,
  repository: string,
  tag: string,
  manifest: Buffer,
): Promise<string> {
  const hex = sha256Hex(manifest);
  const data = blobDataPath(storage, `sha256:${hex}`);
  await mkdir(join(data, ".."), { recursive: true });
  await writeFile(data, manifest);
  const repo = join(storage, "docker", "registry", "v2", "repositories", ...repository.split("/"), "_manifests");
  const links = [
    join(repo, "revisions", "sha256", hex),
    join(repo, "tags", tag, "current"),
    join(repo, "tags", tag, "index", "sha256", hex),
  ];
  for (const dir of links) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "link"), `sha256:${hex}`);
  }
  return `sha256:${hex}`;
}

export interface StorageRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly status: number;
}

export interface StorageServer {
  /** "http://127.0.0.2:PORT" */
  readonly url: string;
  readonly requests: StorageRequest[];
  close(): Promise<void>;
}

/** The "R2" behind redirect mode: serves files of a registry storage root, on 127.0.0.2. */
export async function startStorageServer(root: string, host = "127.0.0.2"): Promise<StorageServer> {
  const requests: StorageRequest[] = [];
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path));
    const record = (status: number) =>
      requests.push({ method: request.method ?? "", path, authorization: request.headers.authorization, status });
    if (!file.startsWith(root + sep) || (request.method !== "GET" && request.method !== "HEAD")) {
      record(404);
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (bytes) => {
        record(200);
        response.writeHead(200, { "content-length": bytes.length, "content-type": "application/octet-stream" });
        response.end(request.method === "HEAD" ? undefined : bytes);
      },
      () => {
        record(404);
        response.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

/**
 * A pass-through proxy in front of a registry that records what each request carried
 * (Authorization) and may rewrite response headers (a fault a broken mirror could make).
 */
export async function startRecordingProxy(
  target: string,
  rewriteHeaders: (path: string, headers: IncomingHttpHeaders) => IncomingHttpHeaders = (_, headers) => headers,
): Promise<{ readonly url: string; readonly requests: ProxiedRequest[]; close(): Promise<void> }> {
  const requests: ProxiedRequest[] = [];
  const upstream = new URL(target);
  const server = createServer((request, response) => {
    requests.push({
      method: request.method ?? "",
      path: request.url ?? "",
      authorization: request.headers.authorization,
    });
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: upstream.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, rewriteHeaders(request.url ?? "", answer.headers));
        answer.pipe(response);
      },
    );
    forwarded.on("error", () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
