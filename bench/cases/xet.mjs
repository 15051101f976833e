/**
 * Case: Xet. `serve` keeps three repos in Xet (--xet): one large file, a 3-file model whose
 * files share runs of bytes (file 2 starts with file 1's first quarter of the model; file 3
 * is one block twice), and one file of bf16-like weights (below). nix-model-repo downloads them through Xet (network.xet = "required") and
 * through the bridge (`resolve`, network.xet = "off"); @huggingface/hub downloads them through
 * its own Xet client (XetBlob). Serve's Xet preparation (content-defined chunking, ~27 MiB/s)
 * runs before anything is timed. A counting relay in front of serve measures the bytes each
 * client received on the wire.
 *
 * Then a repo (BENCH_XET_LIMITED_MIB, 256) through a CDN that limits each connection
 * (nginx, BENCH_RATE_MIB per connection as in the rate-limited case), serving the xorbs (serve
 * --xet-dir --cdn-url) and the bridge's 302 alike: a Xet range is signed whole, so each is one
 * connection, and how many a client fetches at once decides its speed there. And the same
 * size from a serve that answers each xorb request BENCH_XET_DELAY_MS (50) late (serve
 * --xorb-delay-ms), as a CDN far away takes to its first byte: a client that asks for a range
 * only when it needs it waits that long once per xorb.
 *
 * The contents of the first two are incompressible (the bench's AES stream): every chunk is stored
 * raw, and what Xet saves is repeated chunks within a file. Neither client keeps a chunk cache
 * across files, so runs shared between files are downloaded per file. A third repo
 * (BENCH_XET_WEIGHTS_MIB, 256) holds one file that looks like bf16 weights (fixture.mjs,
 * `weights`): serve stores its chunks byte-grouped and LZ4-compressed, as the Hub stores real
 * bf16 safetensors, so decoding is timed too; it has BENCH_BASELINE rows.
 */
import { join } from "node:path";
import { startCountingProxy } from "../lib/counting-proxy.mjs";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer, startNginx } from "../lib/servers.mjs";
import { fixed, MiB } from "../lib/table.mjs";
import { baselineRows, cleanEnv, huggingFaceHub, oursFetch } from "../lib/tools.mjs";

export const title = "Xet: through Xet vs the bridge (resolve) vs @huggingface/hub's Xet download";

/** The 3-file model in units of an eighth of its size: 4 + 3 + 1 units, 2 shared across files, ½ repeated within one. */
function modelFiles(totalBytes) {
  const unit = Math.floor(totalBytes / 8);
  return [
    { path: "config.json", size: 200, seed: "xet-config" },
    {
      path: "model-00001-of-00003.safetensors",
      size: 4 * unit,
      parts: [
        { size: 3 * unit, seed: "xet-a" },
        { size: unit, seed: "xet-b" },
      ],
    },
    {
      path: "model-00002-of-00003.safetensors",
      size: 3 * unit,
      // The AES stream's prefix: the first two units of "xet-a" are file 1's first two.
      parts: [
        { size: 2 * unit, seed: "xet-a" },
        { size: unit, seed: "xet-c" },
      ],
    },
    {
      path: "model-00003-of-00003.safetensors",
      size: unit,
      parts: [
        { size: unit / 2, seed: "xet-d" },
        { size: unit / 2, seed: "xet-d" },
      ],
    },
  ];
}

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  const root = join(scratch, "hub");
  const largeBytes = Math.round(config.xetLargeMiB * MiB);
  progress(`writing a ${config.xetLargeMiB} MiB file and a ${config.xetModelMiB} MiB model`);
  const large = await writeHubRepo(root, "bench/xet-large", [
    { path: "model.safetensors", size: largeBytes, seed: "xet-large" },
  ]);
  const model = await writeHubRepo(root, "bench/xet-model", modelFiles(Math.round(config.xetModelMiB * MiB)));
  progress(`writing ${config.xetWeightsMiB} MiB of bf16-like weights`);
  const weightsBytes = Math.round(config.xetWeightsMiB * MiB);
  const weights = await writeHubRepo(root, "bench/xet-weights", [
    { path: "model.safetensors", size: weightsBytes, seed: "xet-weights", weights: true },
  ]);
  const repoIds = ["bench/xet-large", "bench/xet-model", "bench/xet-weights"];
  const hub = await startHubServer(
    cli,
    root,
    repoIds.flatMap((repoId) => ["--xet", repoId]),
  );
  const relay = await startCountingProxy(hub.url);
  try {
    // The first listing of a Xet repo chunks its files: done here, before any timing.
    const preparing = performance.now();
    for (const repoId of repoIds) await chunkForXet(hub, repoId, progress);
    const prepareSeconds = (performance.now() - preparing) / 1000;

    const env = cleanEnv(scratch);
    const sections = [
      `serve's Xet preparation of ${fixed(config.xetLargeMiB + config.xetModelMiB + config.xetWeightsMiB, 0)} MiB took ${fixed(prepareSeconds, 1)} s (not timed below).`,
    ];
    for (const { name, repo, repoId, mode, bytes, baselines } of [
      { name: "one large file", repo: large, repoId: "bench/xet-large", mode: "file", bytes: largeBytes },
      {
        name: "a 3-file model with shared chunks",
        repo: model,
        repoId: "bench/xet-model",
        mode: "snapshot",
        bytes: model.files.reduce((sum, file) => sum + file.size, 0),
      },
      {
        name: "one file of bf16-like weights (byte-grouped, LZ4)",
        repo: weights,
        repoId: "bench/xet-weights",
        mode: "file",
        bytes: weightsBytes,
        baselines: true,
      },
    ]) {
      const common = { scratch, env, hubUrl: relay.url, repoId, expectedFiles: repo.files, expected: repo.files[0] };
      const tools = [
        oursFetch({ ...common, cli, xet: "required" }),
        ...(baselines
          ? baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline, xet: "required" }))
          : []),
        oursFetch({ ...common, cli, xet: "off" }),
        {
          ...huggingFaceHub({ ...common, mode, path: repo.files.find((file) => file.lfs).path }),
          skip: peers.huggingFaceHub.skip,
        },
      ];
      progress(`downloading ${name}`);
      const summaries = await compareTools({
        tools,
        runs: config.runs,
        scratch,
        counters: [{ count: () => relay.received() }],
      });
      sections.push(
        `-- ${name}: ${fixed(bytes / MiB, 0)} MiB in ${repo.files.length} file(s)`,
        comparisonTable(summaries, { bytes }, [
          { header: "wire MiB", value: (summary) => summary.requests && fixed(summary.requests / MiB, 1) },
          { header: "wire / size", value: (summary) => summary.requests && fixed(summary.requests / bytes, 3) },
        ]),
      );
    }
    if (peers.nginx.skip) sections.push(`-- through a rate-limited CDN: skipped: nginx ${peers.nginx.skip}`);
    else sections.push(await throughLimitedCdn(context));
    sections.push(await withXorbDelay(context));
    return sections.join("\n");
  } finally {
    await relay.close();
    await hub.close();
  }
}

/** Lists `repoId` once, so that serve chunks it for Xet before anything is timed. */
async function chunkForXet(hub, repoId, progress) {
  progress(`serve chunks ${repoId} for Xet (not timed)`);
  const answer = await fetch(`${hub.url}/api/models/${repoId}/tree/main?recursive=true`);
  if (!answer.ok) throw new Error(`serve could not list ${repoId}: HTTP ${answer.status}`);
  const listing = await answer.json();
  if (!listing.some((entry) => entry.xetHash)) throw new Error(`serve lists no xetHash for ${repoId}`);
}

/** The one file of `repo`: ours through Xet with BENCH_BASELINE rows, the bridge if asked, @huggingface/hub. */
function oneFileTools({ config, peers, cli, scratch }, hub, repoId, repo, { bridge }) {
  const [file] = repo.files;
  const common = { scratch, env: cleanEnv(scratch), hubUrl: hub.url, repoId, expectedFiles: repo.files };
  return [
    oursFetch({ ...common, cli, xet: "required" }),
    ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline, xet: "required" })),
    ...(bridge ? [oursFetch({ ...common, cli, xet: "off" })] : []),
    {
      ...huggingFaceHub({ ...common, mode: "file", path: file.path, expected: file }),
      skip: peers.huggingFaceHub.skip,
    },
  ];
}

/** One file through Xet (with BENCH_BASELINE rows) and @huggingface/hub, from a serve that answers each xorb request late. */
async function withXorbDelay(context) {
  const { config, cli, scratch, progress } = context;
  const root = join(scratch, "delayed-hub");
  const repoId = "bench/xet-delayed";
  const bytes = Math.round(config.xetLimitedMiB * MiB);
  progress(`writing a ${config.xetLimitedMiB} MiB file for xorbs answered ${config.xetDelayMs} ms late`);
  const repo = await writeHubRepo(root, repoId, [{ path: "model.safetensors", size: bytes, seed: "xet-delayed" }]);
  const delay = ["--xorb-delay-ms", String(Math.round(config.xetDelayMs))];
  const hub = await startHubServer(cli, root, ["--xet", repoId, ...delay]);
  try {
    await chunkForXet(hub, repoId, progress);
    const tools = oneFileTools(context, hub, repoId, repo, { bridge: false });
    progress(`downloading with xorbs answered ${config.xetDelayMs} ms late`);
    const summaries = await compareTools({ tools, runs: config.runs, scratch });
    return [
      `-- xorbs answered ${fixed(config.xetDelayMs, 0)} ms late (a CDN far away), over loopback: ${fixed(bytes / MiB, 0)} MiB in 1 file`,
      comparisonTable(summaries, { bytes }),
    ].join("\n");
  } finally {
    await hub.close();
  }
}

/** One file through Xet, the bridge and @huggingface/hub, every byte from an nginx that limits each connection. */
async function throughLimitedCdn(context) {
  const { config, cli, scratch, progress } = context;
  const root = join(scratch, "limited-hub");
  const repoId = "bench/xet-limited";
  const bytes = Math.round(config.xetLimitedMiB * MiB);
  const rate = Math.round(config.rateMiB * MiB);
  progress(`writing a ${config.xetLimitedMiB} MiB file for the rate-limited CDN`);
  const repo = await writeHubRepo(root, repoId, [{ path: "model.safetensors", size: bytes, seed: "xet-limited" }]);
  const xorbs = join(scratch, "limited-xorbs");
  // serve signs xorb URLs as <cdn>/xorbs/default/<hash>?… and redirects resolve to
  // <cdn>/cdn-lfs/models/<org>/<name>/<sha256>?…; nginx maps both onto files named so, ignoring the query.
  const nginx = await startNginx(
    scratch,
    [
      { prefix: "/xorbs/default/", directory: xorbs },
      { prefix: `/cdn-lfs/models/${repoId}/`, directory: join(repo.folder, "blobs") },
    ],
    rate,
  );
  const hub = await startHubServer(cli, root, ["--xet", repoId, "--xet-dir", xorbs, "--cdn-url", nginx.url]);
  try {
    await chunkForXet(hub, repoId, progress);
    const tools = oneFileTools(context, hub, repoId, repo, { bridge: true });
    progress("downloading through the rate-limited CDN");
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch,
      counters: [{ count: nginx.countRequests }],
    });
    return [
      `-- through a CDN that limits each connection to ${fixed(config.rateMiB, 0)} MiB/s: ${fixed(bytes / MiB, 0)} MiB in 1 file`,
      comparisonTable(summaries, { bytes }, [{ header: "CDN requests", value: (summary) => summary.requests }]),
    ].join("\n");
  } finally {
    await hub.close();
    await nginx.close();
  }
}
