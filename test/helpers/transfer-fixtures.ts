/**
 * Shared set-up for transfer and HTTP client tests: quick retry settings, a temp
 * directory, an HTTP client, items for files served by the fault server, and
 * `useFaultBed`, the one fixture that starts and stops them around a test file.
 */
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttpClient, type HttpClient } from "../../src/http/client.js";
import { defaultHttpSettings, type Credential, type HttpSettings } from "../../src/http/settings.js";
import type { ExpectedDigests, TransferItem } from "../../src/transfer/types.js";
import type { ProgressReporter } from "../../src/progress/types.js";
import { clearSecretsForTesting } from "../../src/util/secrets.js";
import { FaultServer } from "./fault-server.js";

export const MiB = 1024 * 1024;

/** Fast retries so fault tests take milliseconds, not the production seconds. */
export function quickSettings(overrides: Partial<HttpSettings> = {}): HttpSettings {
  return {
    ...defaultHttpSettings,
    connectTimeoutMs: 5_000,
    readTimeoutMs: 5_000,
    maxAttempts: 4,
    baseDelayMs: 20,
    maxDelayMs: 100,
    ...overrides,
  };
}

export interface TempDir {
  readonly path: string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), "nmr-transfer-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Every file under `dir`, relative, sorted (to assert nothing stray was left). */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function gitBlobSha1(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export function item(
  http: HttpClient,
  url: string,
  destination: string,
  options: { path?: string; size?: number | undefined; expected?: ExpectedDigests; credential?: Credential } = {},
): TransferItem {
  return {
    path: options.path ?? new URL(url).pathname.slice(1),
    source: http.byteSource(url, { credential: options.credential }),
    size: options.size,
    expected: options.expected ?? {},
    destination,
  };
}

/**
 * For the low-speed limit's tests: 100 bytes/s over 1 s of waiting, two connections at most
 * without progress. The read timeout (5 s) alone never fires on a server that drips one
 * byte every 2 s, so only the low-speed limit can end it.
 */
export function lowSpeedTestSettings(): HttpSettings {
  return quickSettings({
    lowSpeedLimitBytesPerSec: 100,
    lowSpeedTimeMs: 1_000,
    readTimeoutMs: 5_000,
    maxAttempts: 2,
    baseDelayMs: 10,
    maxDelayMs: 20,
  });
}

export function client(settings: HttpSettings = quickSettings()): HttpClient {
  return createHttpClient(settings);
}

/** A reporter that records every call, for assertions on what the engine reports. */
export function recordingProgress(): ProgressReporter & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    begin: (summary) => events.push(`begin ${summary.label}`),
    fileStarted: (path) => events.push(`started ${path}`),
    fileProgress: () => {},
    fileRetrying: (path, reason) => events.push(`retrying ${path}: ${reason}`),
    fileFinished: (path, size) => events.push(`finished ${path} ${size}`),
    end: ({ ok }) => events.push(`end ${ok}`),
  };
}

/** What `useFaultBed` gives a test file. */
export interface FaultBed {
  /** A FaultServer on loopback; its request log is emptied before each test. */
  readonly server: FaultServer;
  /** An HTTP client with quick retries, or the settings given. */
  readonly http: HttpClient;
  /** A temporary directory: one for the whole file, or a fresh one for each test with `freshDir`. */
  readonly dir: TempDir;
}

/**
 * The loopback bed of a test file: the fault server, a client and a directory, made
 * before the file's first test and removed after its last, with every secret a test
 * registered forgotten. Call it once at the top of the file:
 *
 *   const bed = useFaultBed();
 *   it("...", async () => { bed.server.serveBytes("/a", bytes); ... bed.http ... });
 */
export function useFaultBed(options: { readonly settings?: HttpSettings; readonly freshDir?: boolean } = {}): FaultBed {
  let server: FaultServer | undefined;
  let http: HttpClient | undefined;
  let dir: TempDir | undefined;
  beforeAll(async () => {
    server = await FaultServer.start();
    http = client(options.settings ?? quickSettings());
    if (!options.freshDir) dir = await tempDir();
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
    await dir?.remove();
    clearSecretsForTesting();
  });
  beforeEach(async () => {
    if (server) server.log.length = 0;
    if (options.freshDir) dir = await tempDir();
  });
  afterEach(async () => {
    if (options.freshDir) await dir?.remove();
  });
  const ready = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`the fault bed's ${name} is only there while the file's tests run`);
    return value;
  };
  return {
    get server() {
      return ready(server, "server");
    },
    get http() {
      return ready(http, "http client");
    },
    get dir() {
      return ready(dir, "directory");
    },
  };
}
