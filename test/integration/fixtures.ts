/**
 * Models for the integration tests: repos on the project's own Hub server (loopback),
 * prefetched with the real CLI, which adds each at its fixed-output derivation's store
 * path. A later nix-build of the same fetchModel call is then a store hit: the tests
 * exercise the integration helpers on real fetched outputs without fetching twice.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHubServer, type HubServer } from "../../src/serve/index.js";
import { writeHubRepo, type FileContents, type HubRepoFixture, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { runCli } from "../helpers/cli.js";

/** A valid safetensors file (the validation phase's scanner reads the header): one U8 tensor. */
export function safetensors(data: Buffer): Buffer {
  const header = Buffer.from(
    JSON.stringify({ weight: { dtype: "U8", shape: [data.length], data_offsets: [0, data.length] } }),
  );
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, data]);
}

/** Fresh content each run, so the store never already holds the outputs. */
export function modelFiles(label: string): Record<string, Buffer | string> {
  return {
    "config.json": JSON.stringify({ model_type: label, run: randomBytes(8).toString("hex") }),
    "tokenizer.json": JSON.stringify({ version: "1.0", vocab: { a: 0, b: 1 } }),
    "model.safetensors": safetensors(randomBytes(64 * 1024 + 3)),
    "1_Pooling/config.json": JSON.stringify({ pooling_mode_mean_tokens: true }),
  };
}

export interface PrefetchedModel {
  readonly hash: string;
  readonly storePath: string;
  /** The fetchModel arguments (without the hash) that build exactly this model. */
  readonly args: string;
}

export interface ModelHub {
  readonly hub: HubServer;
  readonly root: string;
  /** The fixtures given to startModelHub, written, in the same order. */
  readonly repos: readonly WrittenHubRepo[];
  /** `nix-model-repo prefetch` of a repo on this hub; returns the hash and the fetchModel arguments. */
  prefetch(
    repoId: string,
    options?: { name?: string; revision?: string; files?: readonly string[]; extraArgs?: string },
  ): Promise<PrefetchedModel>;
  close(): Promise<void>;
}

/** Writes the repos, then serves them (the server discovers repos when it starts). */
export async function startModelHub(fixtures: readonly HubRepoFixture[]): Promise<ModelHub> {
  const root = await mkdtemp(join(tmpdir(), "nmr-integration-hub-"));
  const repos: WrittenHubRepo[] = [];
  for (const fixture of fixtures) repos.push(await writeHubRepo(root, fixture));
  const hub = await startHubServer({ root });
  return {
    hub,
    root,
    repos,
    async prefetch(repoId, { name, revision, files, extraArgs = "" } = {}) {
      const target = `hf:${repoId}${revision === undefined ? "" : `@${revision}`}`;
      const args = [
        "prefetch",
        target,
        "--endpoint",
        hub.url,
        "--json",
        ...(name === undefined ? [] : ["--name", name]),
      ];
      for (const pattern of files ?? []) args.push("--files", pattern);
      const result = await runCli(args);
      if (result.code !== 0) throw new Error(`prefetch ${target} failed:\n${result.stderr}`);
      const parsed = JSON.parse(result.stdout) as { hash: string; storePath: string; name: string };
      const source = [
        `repo = "${repoId}";`,
        `endpoint = "${hub.url}";`,
        revision === undefined ? "" : `revision = "${revision}";`,
        files === undefined ? "" : `files = [ ${files.map((f) => JSON.stringify(f)).join(" ")} ];`,
      ].join(" ");
      return {
        hash: parsed.hash,
        storePath: parsed.storePath,
        args: `name = "${parsed.name}"; source.huggingface = { ${source} }; ${extraArgs}`,
      };
    },
    async close() {
      await hub.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type { FileContents };
