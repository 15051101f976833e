// Benchmark of src/json (bounded and streaming JSON) against JSON.parse, the parser it stands in
// for on API replies: throughput on a Hub-style listing, heap kept while filtering that listing,
// and the peak memory of a reply that is nothing but "[". Ratios are peer / ours, so > 1 means
// ours is faster or smaller. Run directly: `node bench/json.mjs`.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleSource } from "./lib/bundle.mjs";

const MiB = 2 ** 20;

async function loadJson(dir) {
  const path = await bundleSource("src/json/index.ts", join(dir, "json.mjs"));
  return { json: await import(path), path };
}

/** A tree listing as the Hub returns it: one object per file, ~230 bytes each. */
function listing(entries) {
  const items = [];
  for (let i = 0; i < entries; i++) {
    const path = `shards/model-${String(i).padStart(6, "0")}.safetensors`;
    items.push(
      JSON.stringify({
        type: "file",
        oid: "0123456789abcdef0123456789abcdef01234567",
        size: 134 + i,
        path,
        lfs: { oid: "f".repeat(64), size: 5e9 + i, pointerSize: 134 },
      }),
    );
  }
  return Buffer.from(`[${items.join(",")}]`);
}

function median(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] / 1000;
}

/** Peak RSS (MiB) of a child process running the probe in `mode`. */
function peakRss(probe, mode, file = "") {
  const output = execFileSync(process.execPath, ["--max-old-space-size=4096", probe, mode, file], {
    encoding: "utf8",
  });
  return JSON.parse(output).maxRssKiB / 1024;
}

/** The child's side: one way of handling one body, then its peak RSS. */
const PROBE = `
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
const [mode, file] = process.argv.slice(2);
if (mode.startsWith("deep")) {
  const body = Buffer.alloc(8 * 1024 * 1024, "[");
  try { mode === "deep-ours" ? json.parseJson(body, { maxBytes: body.length }) : JSON.parse(body.toString("latin1")); } catch {}
} else {
  const wanted = (entry) => entry.path.endsWith("000007.safetensors");
  let kept = [];
  if (mode === "filter-ours") {
    // As a reply arrives: 64 KiB at a time, each entry filtered as it completes.
    const stream = new json.JsonArrayStream({ onElement: (entry) => wanted(entry) && kept.push(entry) });
    const fd = openSync(file, "r");
    const chunk = Buffer.alloc(65536);
    for (let n; (n = readSync(fd, chunk)) > 0; ) stream.write(chunk.subarray(0, n));
    closeSync(fd);
    stream.end();
  } else {
    kept = JSON.parse(readFileSync(file, "utf8")).filter(wanted);
  }
  if (kept.length !== 1) throw new Error("filter kept " + kept.length);
}
console.log(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
`;

export const title = "JSON (src/json) against JSON.parse";

export async function benchJson({ runs = 3, scratch, progress = () => {} } = {}) {
  const dir = await mkdtemp(join(scratch ?? tmpdir(), "nmr-bench-json-"));
  try {
    const { json, path } = await loadJson(dir);
    progress("json: parsing a 100k-entry listing");
    const body = listing(100_000);
    const mib = body.length / MiB;
    const ours = median(runs, () => json.parseJson(body, { maxBytes: body.length }));
    const native = median(runs, () => JSON.parse(body.toString("utf8")));
    progress("json: peak memory of filtering a listing, and of a reply of '['");
    const probe = join(dir, "probe.mjs");
    await writeFile(probe, `import * as json from ${JSON.stringify(path)};\n${PROBE}`);
    const listingFile = join(dir, "listing.json");
    await writeFile(listingFile, body);
    const filterOurs = peakRss(probe, "filter-ours", listingFile);
    const filterNative = peakRss(probe, "filter-native", listingFile);
    const deepOurs = peakRss(probe, "deep-ours");
    const deepNative = peakRss(probe, "deep-native");
    return [
      {
        name: "parse a 100k-entry listing",
        value: mib / ours,
        unit: "MiB/s",
        peer: { name: "JSON.parse", value: mib / native, unit: "MiB/s", ratio: native / ours },
        detail: `${mib.toFixed(1)} MiB; ours also bounds depth, bytes and values`,
      },
      {
        name: "peak RSS filtering it to 1 entry",
        value: filterOurs,
        unit: "MiB",
        peer: { name: "JSON.parse, then filter", value: filterNative, unit: "MiB", ratio: filterNative / filterOurs },
        detail: "ours: JsonArrayStream fed 64 KiB at a time; JSON.parse: the whole body, then filter",
      },
      {
        name: "peak RSS on 8 MiB of '['",
        value: deepOurs,
        unit: "MiB",
        peer: { name: "JSON.parse", value: deepNative, unit: "MiB", ratio: deepNative / deepOurs },
        detail: "ours refuses at the 65th byte (JSON_TOO_DEEP)",
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await benchJson()) console.log(row);
}
