/**
 * Case 2: a "real link". The Hub answers the LFS file with a 302 to its CDN (serve
 * --cdn-url), and the CDN — nginx serving the blob files — limits each connection to
 * BENCH_RATE_MIB MiB/s with `limit_rate`, as CDN edges and long-distance TCP do in practice.
 * One stream is then bound by the per-connection rate; parallel ranged parts are not.
 * aria2c -x8 -s8 is the fair peer.
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer, startNginx } from "../lib/servers.mjs";
import { fixed, MiB } from "../lib/table.mjs";
import {
  aria2cSplit,
  baselineRows,
  cleanEnv,
  curlSingle,
  huggingFaceHub,
  oursFetch,
  resolveUrl,
} from "../lib/tools.mjs";

export const title = "one LFS file through a rate-limited CDN (302 → nginx limit_rate per connection)";

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  if (peers.nginx.skip) return `skipped: nginx ${peers.nginx.skip}`;
  const bytes = Math.round(config.limitedMiB * MiB);
  const rate = Math.round(config.rateMiB * MiB);
  const repoId = "bench/limited";
  progress(`writing a ${config.limitedMiB} MiB file`);
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [
    { path: "model.safetensors", size: bytes, seed: "limited" },
  ]);
  const [file] = repo.files;
  // serve redirects to <cdn>/cdn-lfs/models/<org>/<name>/<sha256>?X-Expires…; nginx maps that
  // prefix onto the blob folder, where the file is named by its sha256, and ignores the query.
  const nginx = await startNginx(
    scratch,
    [{ prefix: `/cdn-lfs/models/${repoId}/`, directory: join(repo.folder, "blobs") }],
    rate,
  );
  const hub = await startHubServer(cli, join(scratch, "hub"), ["--cdn-url", nginx.url]);
  try {
    const env = cleanEnv(scratch);
    const url = resolveUrl(hub.url, repoId, file.path);
    const common = { scratch, env, expected: file, expectedFiles: repo.files, hubUrl: hub.url, repoId, url };
    const tools = [
      oursFetch({ ...common, cli }),
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...curlSingle(common), skip: peers.curl.skip },
      { ...aria2cSplit(common), skip: peers.aria2c.skip },
      { ...huggingFaceHub({ ...common, mode: "file", path: file.path }), skip: peers.huggingFaceHub.skip },
    ];
    progress("downloading");
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch,
      counters: [{ count: () => hub.requests.length }, { count: nginx.countRequests }],
    });
    const oneStream = bytes / rate;
    return [
      `${config.limitedMiB} MiB at ${config.rateMiB} MiB/s per connection: one stream needs ≥ ${fixed(oneStream, 1)} s, 8 connections ≥ ${fixed(oneStream / 8, 1)} s.`,
      comparisonTable(summaries, { bytes }, [{ header: "requests (hub+cdn)", value: (summary) => summary.requests }]),
    ].join("\n");
  } finally {
    await hub.close();
    await nginx.close();
  }
}
