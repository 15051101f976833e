/**
 * The @huggingface/hub peer, run as its own process so its time and peak RSS are measured
 * like every other tool's. Uses the library's cache-writing downloads, the equivalent of
 * what nix-model-repo fetch produces (blobs + snapshot symlinks):
 *
 *   node hf-hub.mjs file HUB_URL REPO PATH CACHE_DIR      downloadFileToCacheDir
 *   node hf-hub.mjs snapshot HUB_URL REPO CACHE_DIR       snapshotDownload
 */
import { downloadFileToCacheDir, snapshotDownload } from "@huggingface/hub";

// The library announces every file with console.debug; that is not part of the work.
console.debug = () => {};

const [mode, hubUrl, repo, ...rest] = process.argv.slice(2);
if (mode === "file") {
  const [path, cacheDir] = rest;
  await downloadFileToCacheDir({ repo, path, hubUrl, cacheDir });
} else if (mode === "snapshot") {
  const [cacheDir] = rest;
  await snapshotDownload({ repo, hubUrl, cacheDir });
} else {
  process.stderr.write("usage: hf-hub.mjs file HUB_URL REPO PATH CACHE_DIR | snapshot HUB_URL REPO CACHE_DIR\n");
  process.exit(2);
}
