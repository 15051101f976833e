/**
 * The shape of the CDN cases (rate-limited, https): one LFS file that the Hub (`serve
 * --cdn-url`) answers with a 302 to nginx, as huggingface.co redirects to its CDN, fetched
 * by ours, the baselines, curl, aria2c and @huggingface/hub. nginx may limit each connection
 * (`rateBytesPerSec`, 0 for none) and may answer over TLS (`tls`, from tls.mjs: every tool is
 * then given its certificate as the one CA to trust).
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "./compare.mjs";
import { writeHubRepo } from "./fixture.mjs";
import { startHubServer, startNginx } from "./servers.mjs";
import { MiB } from "./table.mjs";
import { aria2cSplit, baselineRows, cleanEnv, curlSingle, huggingFaceHub, oursFetch, resolveUrl } from "./tools.mjs";

/**
 * The environment and aria2c options that make each tool trust `tls.certificate` alone:
 * ours reads NIX_SSL_CERT_FILE, then SSL_CERT_FILE (Nix's order; either may already name the
 * system's bundle), curl CURL_CA_BUNDLE, node's fetch NODE_EXTRA_CA_CERTS; aria2c takes an option.
 */
function trusting(env, tls) {
  if (tls === undefined) return { env, aria2cArgs: [] };
  const ca = tls.certificate;
  return {
    env: { ...env, NIX_SSL_CERT_FILE: ca, SSL_CERT_FILE: ca, CURL_CA_BUNDLE: ca, NODE_EXTRA_CA_CERTS: ca },
    aria2cArgs: [`--ca-certificate=${ca}`],
  };
}

/** Runs the case; `header(bytes)` is the line above its table. Returns the case's text. */
export async function runCdnCase(context, { repoId, mib, rateBytesPerSec, tls, header }) {
  const { config, peers, cli, scratch, progress } = context;
  const bytes = Math.round(mib * MiB);
  progress(`writing a ${mib} MiB file`);
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [
    // The seed is the repo's name ("limited", "https"): the bytes case 2 always had.
    { path: "model.safetensors", size: bytes, seed: repoId.slice(repoId.indexOf("/") + 1) },
  ]);
  const [file] = repo.files;
  // serve redirects to <cdn>/cdn-lfs/models/<org>/<name>/<sha256>?X-Expires…; nginx maps that
  // prefix onto the blob folder, where the file is named by its sha256, and ignores the query.
  const nginx = await startNginx(
    scratch,
    [{ prefix: `/cdn-lfs/models/${repoId}/`, directory: join(repo.folder, "blobs") }],
    rateBytesPerSec,
    { tls },
  );
  const hub = await startHubServer(cli, join(scratch, "hub"), ["--cdn-url", nginx.url]);
  try {
    const { env, aria2cArgs } = trusting(cleanEnv(scratch), tls);
    const url = resolveUrl(hub.url, repoId, file.path);
    const common = { scratch, env, expected: file, expectedFiles: repo.files, hubUrl: hub.url, repoId, url };
    const tools = [
      oursFetch({ ...common, cli }),
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...curlSingle(common), skip: peers.curl.skip },
      { ...aria2cSplit({ ...common, extraArgs: aria2cArgs }), skip: peers.aria2c.skip },
      { ...huggingFaceHub({ ...common, mode: "file", path: file.path }), skip: peers.huggingFaceHub.skip },
    ];
    progress("downloading");
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch,
      counters: [{ count: () => hub.requests.length }, { count: nginx.countRequests }],
    });
    return [
      header(bytes),
      comparisonTable(summaries, { bytes }, [{ header: "requests (hub+cdn)", value: (summary) => summary.requests }]),
    ].join("\n");
  } finally {
    await hub.close();
    await nginx.close();
  }
}
