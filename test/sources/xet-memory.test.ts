/**
 * Memory on the Xet path, measured in a child process (the CLI as the builder runs it) so the
 * figure is the fetch's alone: an LZ4 bomb in every xorb range serve sends — a chunk whose few
 * bytes would decode to megabytes — is refused at the size its header declares, with a clear
 * error ("required") or the file fetched through resolve ("auto"), and peak RSS stays bounded.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faults, startHubServer, type HubServer } from "../../src/serve/index.js";
import { fetchCommand } from "../helpers/cli.js";
import { type MeasuredRun, runCliMeasured } from "../helpers/peak-rss.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { floats, text } from "../serve/xet-fixture.js";

const MiB = 1024 * 1024;
/** node with the bundle (~60 MiB), the slab pool (32 MiB at 8 connections), the Xet buffer budget (64 MiB), a hashing thread. */
const BOUND = 320 * MiB;

describe("an LZ4 bomb from Xet storage, in a child process", () => {
  let root: string;
  let hub: HubServer;
  let content: Buffer;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-xet-bomb-"));
    // Compressible data: every chunk is stored compressed, so every range starts with a bomb.
    content = Buffer.concat(
      Array.from({ length: 8 }, (_, index) => Buffer.concat([floats(500_000, index), text(2 * MiB)])),
    );
    const repo = await writeHubRepo(root, { repoId: "acme/bomb", files: { "model.safetensors": content } });
    await writeFile(join(repo.folder, ".xet"), "");
    hub = await startHubServer({ root, xet: { xorbMaxBytes: 2 * MiB } });
    hub.setFaults(faults.always({ xet: "lz4-bomb" }, (request) => request.route === "xet-xorb"));
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
  });

  async function fetchInChild(xet: string): Promise<MeasuredRun & { out: string }> {
    const { args, out } = await fetchCommand(await mkdtemp(join(root, "run-")), {
      name: "bomb",
      source: { type: "huggingface", repo: "acme/bomb", endpoint: hub.url },
      network: { xet },
    });
    return { ...(await runCliMeasured(args)), out };
  }

  it("with Xet required: a clear error naming the file, no output, bounded memory", async () => {
    const result = await fetchInChild("required");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Xet storage gave data for model.safetensors that does not decode");
    expect(result.stderr).toMatch(/\(lz4\).*decodes to more than the \d+ bytes the chunk header declares/);
    expect(existsSync(result.out)).toBe(false);
    expect(result.peakRss).toBeLessThan(BOUND);
  });

  it("with Xet on auto: the right bytes through resolve, bounded memory", async () => {
    const result = await fetchInChild("auto");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("through resolve instead");
    const meta = JSON.parse(await readFile(join(result.out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta.files).toEqual([
      { path: "model.safetensors", size: content.length, sha256: createHash("sha256").update(content).digest("hex") },
    ]);
    expect(result.peakRss).toBeLessThan(BOUND);
    process.stdout.write(`xet bomb: peak RSS ${Math.round(result.peakRss / MiB)} MiB (bound ${BOUND / MiB})\n`);
  });
});
