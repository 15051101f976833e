/**
 * Case 1: one large LFS file served over loopback by `nix-model-repo serve` (no CDN, no rate
 * limit). Nothing limits the link, so every tool is CPU-bound — receiving, hashing, writing —
 * and shares the cores with the server: this measures the cost per byte, not a network.
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer } from "../lib/servers.mjs";
import { MiB } from "../lib/table.mjs";
import {
  aria2cSplit,
  baselineRows,
  cleanEnv,
  curlSingle,
  huggingFaceHub,
  oursFetch,
  resolveUrl,
} from "../lib/tools.mjs";

export const title = "one large LFS file over loopback (CPU-bound)";

export async function run(context) {
  const { config, peers, cli, scratch, progress, state } = context;
  const bytes = Math.round(config.largeMiB * MiB);
  const repoId = "bench/large";
  progress(`writing a ${config.largeMiB} MiB file`);
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [
    { path: "model.safetensors", size: bytes, seed: "large" },
  ]);
  const [file] = repo.files;
  const hub = await startHubServer(cli, join(scratch, "hub"));
  try {
    const env = cleanEnv(scratch);
    const url = resolveUrl(hub.url, repoId, file.path);
    const common = { scratch, env, expected: file, expectedFiles: repo.files, hubUrl: hub.url, repoId, url };
    const ours = oursFetch({ ...common, cli, keepRun: config.runs - 1 });
    const tools = [
      ours,
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...curlSingle(common), skip: peers.curl.skip },
      { ...aria2cSplit(common), skip: peers.aria2c.skip },
      { ...huggingFaceHub({ ...common, mode: "file", path: file.path }), skip: peers.huggingFaceHub.skip },
      // Not a peer: ourselves with one connection, to show what parallel parts cost when the
      // link is free and the CPU is not (the ratio is then "this variant / the default").
      oursFetch({ ...common, cli, concurrency: 1 }),
    ];
    progress("downloading");
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch,
      counters: [{ count: () => hub.requests.length }],
    });
    if (!summaries[0].failure)
      state.largeOutput = {
        dir: ours.outputOf(config.runs - 1),
        bytes,
        blob: join(ours.outputOf(config.runs - 1), "blobs", file.etag),
      };
    return [
      `${config.largeMiB} MiB, one file; the server runs on the same cores.`,
      comparisonTable(summaries, { bytes }, [{ header: "requests", value: (summary) => summary.requests }]),
    ].join("\n");
  } finally {
    await hub.close();
  }
}
