/**
 * Case "overhead": the fixed cost of a fetch, end to end, with one tiny file — process start,
 * loading the bundle, resolving the revision, listing, one download, writing the layout.
 * "first file request" is measured by the server: from spawning the client to the server
 * receiving the request for the file's bytes (time to first byte, less one loopback trip).
 *
 * Then the same tiny file as a lock's per-file derivation fetches it (`select`, pinned to
 * the commit), out of a repo of BENCH_WIDE_FILES files: what every large file of a locked
 * model costs before its bytes, where a listing of the whole tree grows with the repo.
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer } from "../lib/servers.mjs";
import { fixed } from "../lib/table.mjs";
import {
  baselineRows,
  cleanEnv,
  curlSingle,
  huggingFaceHub,
  oursFetch,
  oursFetchLocked,
  resolveUrl,
} from "../lib/tools.mjs";
import { oursCommand } from "../lib/ours-command.mjs";

export const title = "fixed cost of a tiny fetch (one 200-byte file)";

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  const repoId = "bench/tiny";
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [{ path: "config.json", size: 200, seed: "tiny" }]);
  const [file] = repo.files;
  const wideId = "bench/wide";
  progress(`writing a repo of ${config.wideRepoFiles} files`);
  const wide = await writeHubRepo(join(scratch, "hub"), wideId, wideRepoFiles(config.wideRepoFiles));
  const locked = wide.files.find((candidate) => candidate.path === "config.json");
  const hub = await startHubServer(cli, join(scratch, "hub"));
  try {
    const env = cleanEnv(scratch);
    const url = resolveUrl(hub.url, repoId, file.path);
    const common = { scratch, env, expected: file, expectedFiles: repo.files, hubUrl: hub.url, repoId, url };
    const tools = [
      oursFetch({ ...common, cli }),
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...curlSingle(common), skip: peers.curl.skip },
      { ...huggingFaceHub({ ...common, mode: "file", path: file.path }), skip: peers.huggingFaceHub.skip },
      // Floors, not peers: what starting node, and loading our bundle, cost by themselves.
      { name: "floor: node -e ''", floor: true, prepare: () => ({ command: process.execPath, args: ["-e", ""] }) },
      {
        name: "floor: nix-model-repo --help",
        floor: true,
        prepare: () => oursCommand(cli, ["--help"]),
      },
    ];
    progress("fetching");
    const summaries = await compareTools({
      tools,
      runs: config.overheadRuns,
      scratch,
      counters: [{ count: () => hub.requests.length }],
      hub,
    });
    const columns = [
      {
        header: "first file request ms",
        value: (summary) =>
          summary.firstFileRequestMs === undefined ? undefined : fixed(summary.firstFileRequestMs, 0),
      },
      { header: "requests", value: (summary) => summary.requests },
    ];

    progress("fetching one locked file of the wide repo");
    const lockedCommon = { ...common, repoId: wideId, commit: wide.commit, file: locked, expectedFiles: [locked] };
    const lockedSummaries = await compareTools({
      tools: [
        oursFetchLocked({ ...lockedCommon, cli }),
        ...baselineRows(config, (baseline) => oursFetchLocked({ ...lockedCommon, cli, baseline })),
        {
          ...huggingFaceHub({ ...lockedCommon, mode: "file", path: locked.path }),
          skip: peers.huggingFaceHub.skip,
        },
      ],
      runs: config.overheadRuns,
      scratch,
      counters: [{ count: () => hub.requests.length }],
      hub,
    });
    return [
      comparisonTable(summaries, {}, columns),
      "",
      `one locked 200-byte file of a repo of ${wide.files.length} files (a lock's per-file derivation)`,
      comparisonTable(lockedSummaries, {}, columns),
    ].join("\n");
  } finally {
    await hub.close();
  }
}

/** A 200-byte config.json among `count` - 1 other tiny files, 500 to a folder. */
function wideRepoFiles(count) {
  return [
    { path: "config.json", size: 200, seed: "wide-config" },
    ...Array.from({ length: count - 1 }, (_, index) => ({
      path: `data/${String(Math.floor(index / 500)).padStart(3, "0")}/row-${String(index).padStart(6, "0")}.json`,
      size: 100,
      seed: `wide-${index}`,
    })),
  ];
}
