/**
 * Case "https": case 1's large file from a CDN that answers over HTTPS, as the Hub's does:
 * the Hub (`serve --cdn-url`) redirects to nginx with TLS on loopback, no rate limit. Every
 * tool decrypts what it receives, and node hands each TLS record (16 KiB at most) to
 * JavaScript as one read (docs/bench.md, ninth round): four times as many reads per GiB as
 * over plain HTTP, so this shows what the per-read path costs where users fetch from.
 */
import { join } from "node:path";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer, startNginx } from "../lib/servers.mjs";
import { MiB } from "../lib/table.mjs";
import { opensslMissing, selfSignedCertificate } from "../lib/tls.mjs";
import {
  aria2cSplit,
  baselineRows,
  cleanEnv,
  curlSingle,
  huggingFaceHub,
  oursFetch,
  resolveUrl,
} from "../lib/tools.mjs";

export const title = "one large LFS file from a CDN over HTTPS (302 → nginx with TLS, loopback, no rate limit)";

export async function run(context) {
  const { config, peers, cli, scratch, progress } = context;
  if (peers.nginx.skip) return `skipped: nginx ${peers.nginx.skip}`;
  const noOpenssl = opensslMissing();
  if (noOpenssl !== undefined) return `skipped: ${noOpenssl}`;
  const bytes = Math.round(config.largeMiB * MiB);
  const repoId = "bench/https";
  progress(`writing a ${config.largeMiB} MiB file`);
  const repo = await writeHubRepo(join(scratch, "hub"), repoId, [
    { path: "model.safetensors", size: bytes, seed: "https" },
  ]);
  const [file] = repo.files;
  const tls = selfSignedCertificate(scratch);
  const nginx = await startNginx(
    scratch,
    [{ prefix: `/cdn-lfs/models/${repoId}/`, directory: join(repo.folder, "blobs") }],
    0,
    { tls },
  );
  const hub = await startHubServer(cli, join(scratch, "hub"), ["--cdn-url", nginx.url]);
  try {
    // The one CA each tool trusts: ours reads NIX_SSL_CERT_FILE, then SSL_CERT_FILE (Nix's
    // order; either may be set already, to the system's bundle), curl CURL_CA_BUNDLE, node's
    // fetch NODE_EXTRA_CA_CERTS; aria2c takes an option.
    const env = {
      ...cleanEnv(scratch),
      NIX_SSL_CERT_FILE: tls.certificate,
      SSL_CERT_FILE: tls.certificate,
      CURL_CA_BUNDLE: tls.certificate,
      NODE_EXTRA_CA_CERTS: tls.certificate,
    };
    const url = resolveUrl(hub.url, repoId, file.path);
    const common = { scratch, env, expected: file, expectedFiles: repo.files, hubUrl: hub.url, repoId, url };
    const tools = [
      oursFetch({ ...common, cli }),
      ...baselineRows(config, (baseline) => oursFetch({ ...common, cli, baseline })),
      { ...curlSingle(common), skip: peers.curl.skip },
      {
        ...aria2cSplit({ ...common, extraArgs: [`--ca-certificate=${tls.certificate}`] }),
        skip: peers.aria2c.skip,
      },
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
      `${config.largeMiB} MiB, one file, TLS 1.3 from nginx; the servers run on the same cores.`,
      comparisonTable(summaries, { bytes }, [{ header: "requests (hub+cdn)", value: (summary) => summary.requests }]),
    ].join("\n");
  } finally {
    await hub.close();
    await nginx.close();
  }
}
