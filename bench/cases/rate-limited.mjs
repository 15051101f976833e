/**
 * Case 2: a "real link". The Hub answers the LFS file with a 302 to its CDN (serve
 * --cdn-url), and the CDN — nginx serving the blob files — limits each connection to
 * BENCH_RATE_MIB MiB/s with `limit_rate`, as CDN edges and long-distance TCP do in practice.
 * One stream is then bound by the per-connection rate; parallel ranged parts are not.
 * aria2c -x8 -s8 is the fair peer.
 */
import { runCdnCase } from "../lib/cdn-case.mjs";
import { fixed, MiB } from "../lib/table.mjs";

export const title = "one LFS file through a rate-limited CDN (302 → nginx limit_rate per connection)";

export async function run(context) {
  const { config, peers } = context;
  if (peers.nginx.skip) return `skipped: nginx ${peers.nginx.skip}`;
  const rate = Math.round(config.rateMiB * MiB);
  return runCdnCase(context, {
    repoId: "bench/limited",
    mib: config.limitedMiB,
    rateBytesPerSec: rate,
    header: (bytes) => {
      const oneStream = bytes / rate;
      return `${config.limitedMiB} MiB at ${config.rateMiB} MiB/s per connection: one stream needs ≥ ${fixed(oneStream, 1)} s, 8 connections ≥ ${fixed(oneStream / 8, 1)} s.`;
    },
  });
}
