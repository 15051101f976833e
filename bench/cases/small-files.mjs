/**
 * Case 3: many small files (plus a few MiB-sized LFS files), the shape of tokenizer/config
 * heavy repos and of datasets. Per-file costs dominate: requests, file creation, hashing
 * setup. The Hub server counts every request each client makes (API listing included).
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer } from "../lib/servers.mjs";
import { fixed, MiB } from "../lib/table.mjs";
import { aria2cParallel, baselineRows, cleanEnv, curlParallel, huggingFaceHub, oursFetch } from "../lib/tools.mjs";

export const title = "many small files";

/** The repo of case 3 (and of the end-to-end case): small files in folders of 50, plus a few LFS files. */
export function smallRepoFiles(config) {
  const smallBytes = Math.round(config.smallKiB * 1024);
  const mediumBytes = Math.round(config.mediumMiB * MiB);
  return [
    // 50 files per directory: nested paths, as in real repos with shards or subfolders.
    ...Array.from({ length: config.smallFiles }, (_, index) => ({
      path: `part-${String(Math.floor(index / 50)).padStart(3, "0")}/file-${String(index).padStart(5, "0")}.json`,
      size: smallBytes,
      seed: `small-${index}`,
    })),
    ...Array.from({ length: config.mediumFiles }, (_, index) => ({
      path: `weights-${index}.bin`,
      size: mediumBytes,
      seed: `medium-${index}`,
    })),
  ];
}

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  const repoId = "bench/small";
  const files = smallRepoFiles(config);
  progress(`writing ${files.length} files`);
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, files);
  const totalBytes = repo.files.reduce((sum, file) => sum + file.size, 0);
  const hub = await startHubServer(cli, join(scratch, "hub"));
  try {
    const env = cleanEnv(scratch);
    const common = { scratch, env, hubUrl: hub.url, repoId, files: repo.files, expectedFiles: repo.files };
    const tools = [
      oursFetch({ ...common, cli }),
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...huggingFaceHub({ ...common, mode: "snapshot" }), skip: peers.huggingFaceHub.skip },
      { ...curlParallel(common), skip: peers.curl.skip },
      { ...aria2cParallel(common), skip: peers.aria2c.skip },
    ];
    progress("downloading");
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch,
      counters: [{ count: () => hub.requests.length }],
    });
    return [
      `${config.smallFiles} × ${config.smallKiB} KiB + ${config.mediumFiles} × ${config.mediumMiB} MiB (LFS) = ${repo.files.length} files, ${fixed(totalBytes / MiB, 1)} MiB.`,
      comparisonTable(summaries, { files: repo.files.length, bytes: totalBytes }, [
        { header: "ms/file", value: (summary) => fixed(summary.ms / repo.files.length, 2) },
        { header: "requests", value: (summary) => summary.requests },
      ]),
    ].join("\n");
  } finally {
    await hub.close();
  }
}
