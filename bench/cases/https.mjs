/**
 * Case "https": case 1's large file from a CDN that answers over HTTPS, as the Hub's does:
 * the Hub (`serve --cdn-url`) redirects to nginx with TLS on loopback, no rate limit. Every
 * tool decrypts what it receives, and node hands each TLS record (16 KiB at most) to
 * JavaScript as one read (docs/bench.md, ninth round): four times as many reads per GiB as
 * over plain HTTP, so this shows what the per-read path costs where users fetch from.
 */
import { runCdnCase } from "../lib/cdn-case.mjs";
import { selfSignedCertificate } from "../lib/tls.mjs";

export const title = "one large LFS file from a CDN over HTTPS (302 → nginx with TLS, loopback, no rate limit)";

export async function run(context) {
  const { config, peers, scratch } = context;
  if (peers.nginx.skip) return `skipped: nginx ${peers.nginx.skip}`;
  if (peers.openssl.skip) return `skipped: openssl ${peers.openssl.skip}`;
  return runCdnCase(context, {
    repoId: "bench/https",
    mib: config.largeMiB,
    rateBytesPerSec: 0,
    tls: selfSignedCertificate(scratch),
    header: () => `${config.largeMiB} MiB, one file, TLS 1.3 from nginx; the servers run on the same cores.`,
  });
}
