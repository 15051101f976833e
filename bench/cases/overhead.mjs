/**
 * Case "overhead": the fixed cost of a fetch, end to end, with one tiny file — process start,
 * loading the bundle, resolving the revision, listing, one download, writing the layout.
 * "first file request" is measured by the server: from spawning the client to the server
 * receiving the request for the file's bytes (time to first byte, less one loopback trip).
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer } from "../lib/servers.mjs";
import { fixed } from "../lib/table.mjs";
import { baselineRows, cleanEnv, curlSingle, huggingFaceHub, oursFetch, resolveUrl } from "../lib/tools.mjs";

export const title = "fixed cost of a tiny fetch (one 200-byte file)";

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  const repoId = "bench/tiny";
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [{ path: "config.json", size: 200, seed: "tiny" }]);
  const [file] = repo.files;
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
        prepare: () => ({ command: process.execPath, args: [cli, "--help"] }),
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
    return comparisonTable(summaries, {}, [
      {
        header: "first file request ms",
        value: (summary) =>
          summary.firstFileRequestMs === undefined ? undefined : fixed(summary.firstFileRequestMs, 0),
      },
      { header: "requests", value: (summary) => summary.requests },
    ]);
  } finally {
    await hub.close();
  }
}
