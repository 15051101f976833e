/**
 * Shared set-up for transfer and HTTP client tests: quick retry settings, a temp
 * directory, an HTTP client, and items for files served by the fault server.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHttpClient, type HttpClient } from "../../src/http/client.js";
import { defaultHttpSettings, type Credential, type HttpSettings } from "../../src/http/settings.js";
import type { ExpectedDigests, TransferItem } from "../../src/transfer/types.js";
import type { ProgressReporter } from "../../src/progress/types.js";

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

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
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
