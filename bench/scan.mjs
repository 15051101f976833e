// Benchmark of `nix-model-repo scan` (src/scan): files/s and MiB/s over a directory of mixed
// models, against reading every byte of the same files and against sha256-ing them. The
// scanner reads safetensors/GGUF headers and torch pickles, not the weights, so it should beat
// both by a wide margin; the ratios say by how much.
//
//   import { benchScan } from "./scan.mjs";
//   const results = await benchScan();   // [{ name, value, unit, peer?, detail? }]
//
// `peer`, when present, is { name, value, unit, ratio } with ratio = value / peer.value
// (> 1 means the scanner is faster). Run directly: `node bench/scan.mjs`.
import { createHash, randomFillSync } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { bundleSource } from "./lib/bundle.mjs";

const MiB = 2 ** 20;

/** Loads the scanner from source, so no build step is needed. */
async function loadScanner() {
  const dir = await mkdtemp(join(tmpdir(), "nmr-bench-scan-bundle-"));
  const outfile = await bundleSource("src/scan/index.ts", join(dir, "scanner.mjs"));
  return { scanner: await import(outfile), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const noise = randomFillSync(Buffer.alloc(MiB));

async function writeStreamed(path, parts) {
  const out = createWriteStream(path);
  for (const part of parts) {
    if (typeof part === "number") {
      for (let left = part; left > 0; left -= MiB) {
        if (!out.write(left >= MiB ? noise : noise.subarray(0, left))) await new Promise((r) => out.once("drain", r));
      }
    } else if (!out.write(part)) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((resolve, reject) => out.end((error) => (error ? reject(error) : resolve())));
}

/** A safetensors file of about `size` bytes: `count` F16 tensors, real header, noise for weights. */
async function writeSafetensors(path, size, count) {
  const perTensor = Math.floor(size / count / 2) * 2;
  const header = {};
  for (let i = 0; i < count; i++) {
    header[`model.layers.${i}.weight`] = {
      dtype: "F16",
      shape: [perTensor / 2],
      data_offsets: [i * perTensor, (i + 1) * perTensor],
    };
  }
  header.__metadata__ = { format: "pt" };
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  await writeStreamed(path, [length, Buffer.from(text), perTensor * count]);
}

// --- a torch.save()-shaped zip, written by hand ---------------------------------------------------

const op = (s) => Buffer.from(s, "latin1");
const unicode = (s) => Buffer.concat([op("X"), u32(Buffer.byteLength(s)), Buffer.from(s)]);
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function stateDictPickle(names, numels) {
  const parts = [Buffer.from([0x80, 0x02]), op("ccollections\nOrderedDict\n)R(")];
  names.forEach((name, i) => {
    parts.push(
      unicode(name),
      op("ctorch._utils\n_rebuild_tensor_v2\n(("),
      unicode("storage"),
      op("ctorch\nHalfStorage\n"),
    );
    parts.push(unicode(String(i)), unicode("cpu"), op("J"), u32(numels[i]), op("tQK\x00J"), u32(numels[i]));
    parts.push(op("\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR"));
  });
  parts.push(op("u."));
  return Buffer.concat(parts);
}

async function writeTorchZip(path, size, count) {
  const numel = Math.floor(size / count / 2);
  const names = Array.from({ length: count }, (_, i) => `layer.${i}.weight`);
  const members = [
    [
      "archive/data.pkl",
      stateDictPickle(
        names,
        names.map(() => numel),
      ),
    ],
    ...names.map((_, i) => [`archive/data/${i}`, numel * 2]),
    ["archive/version", Buffer.from("3\n")],
  ];
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, data] of members) {
    const length = typeof data === "number" ? data : data.length;
    // Weights repeat the noise buffer; their CRC is not checked by the scanner, only data.pkl's is.
    const crc = typeof data === "number" ? 0 : crc32(data);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(length, 18);
    local.writeUInt32LE(length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(length, 20);
    entry.writeUInt32LE(length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, data);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  await writeStreamed(path, [...parts, directory, end]);
}

/** Plain-data pickles (protocol 2): a dict of lists, as optimizer or trainer state might be. */
function dataPickle(items) {
  const parts = [Buffer.from([0x80, 0x02]), op("}(")];
  for (let i = 0; i < items; i++) parts.push(unicode(`k${i}`), op("](K\x01K\x02G"), Buffer.alloc(8), op("e"));
  parts.push(op("u."));
  return Buffer.concat(parts);
}

async function makeDataset(dir) {
  const models = join(dir, "models");
  await mkdir(models, { recursive: true });
  await writeSafetensors(join(models, "model-00001-of-00003.safetensors"), 64 * MiB, 200);
  await writeSafetensors(join(models, "model-00002-of-00003.safetensors"), 128 * MiB, 400);
  await writeSafetensors(join(models, "model-00003-of-00003.safetensors"), 256 * MiB, 800);
  for (let i = 0; i < 4; i++) await writeTorchZip(join(models, `pytorch_model-${i}.bin`), 32 * MiB, 100);
  for (let i = 0; i < 20; i++) await writeFile(join(models, `state-${i}.pkl`), dataPickle(2000));
  await writeFile(join(models, "config.json"), JSON.stringify({ model_type: "llama", hidden_size: 4096 }));
  await writeFile(
    join(models, "tokenizer_config.json"),
    JSON.stringify({ chat_template: "{% for m in messages %}{{ m['content'] }}{% endfor %}" }),
  );
  const files = await readdir(models);
  let bytes = 0;
  for (const file of files) bytes += (await stat(join(models, file))).size;
  return { root: models, files: files.map((f) => join(models, f)), bytes };
}

async function readAll(files, hash) {
  for (const file of files) {
    const digest = hash ? createHash("sha256") : undefined;
    for await (const chunk of createReadStream(file, { highWaterMark: 4 * MiB })) digest?.update(chunk);
    digest?.digest();
  }
}

async function median(runs, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] / 1000;
}

export const title = "scanner (nix-model-repo scan)";

/**
 * `runs` repetitions (median); `scratch` is a directory to work in (bench/run.mjs passes one and
 * removes it), else a temp dir is made; `progress(message)` reports the current step.
 */
export async function benchScan({ runs = 3, keep = false, scratch, progress = () => {} } = {}) {
  const dir = await mkdtemp(join(scratch ?? tmpdir(), "nmr-bench-scan-"));
  const { scanner, cleanup } = await loadScanner();
  try {
    progress("scanner: writing 577 MiB of models");
    const data = await makeDataset(dir);
    progress("scanner: scanning, reading and hashing");
    const report = await scanner.scanPaths([data.root]);
    if (report.verdict !== "SAFE") throw new Error(`bench dataset should scan SAFE, got ${report.verdict}`);
    await readAll(data.files, false); // the page cache now holds everything for every contender
    const scanSeconds = await median(runs, () => scanner.scanPaths([data.root]));
    const readSeconds = await median(runs, () => readAll(data.files, false));
    const hashSeconds = await median(runs, () => readAll(data.files, true));
    const stats = { files: 0, bytesRead: 0 };
    await scanner.scanPaths([data.root], { stats });
    const mib = data.bytes / MiB;
    const scanRate = mib / scanSeconds;
    const readRate = mib / readSeconds;
    const hashRate = mib / hashSeconds;
    return [
      { name: "scan: files", value: data.files.length / scanSeconds, unit: "files/s" },
      {
        name: "scan: throughput vs reading every byte",
        value: scanRate,
        unit: "MiB/s",
        peer: { name: "read every byte", value: readRate, unit: "MiB/s", ratio: scanRate / readRate },
      },
      {
        name: "scan: throughput vs sha256 of every byte",
        value: scanRate,
        unit: "MiB/s",
        peer: { name: "sha256 every byte", value: hashRate, unit: "MiB/s", ratio: scanRate / hashRate },
      },
      {
        name: "scan: share of the bytes read",
        value: (100 * stats.bytesRead) / data.bytes,
        unit: "%",
        detail: `${(stats.bytesRead / MiB).toFixed(1)} of ${mib.toFixed(1)} MiB: headers and pickles, not weights`,
      },
      {
        name: "scan: dataset",
        value: mib,
        unit: "MiB",
        detail: `${data.files.length} files (3 safetensors 64-256 MiB, 4 torch zips, 20 pickles, 2 json)`,
      },
    ];
  } finally {
    await cleanup();
    if (keep) console.error(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const result of await benchScan()) {
    const peer = result.peer
      ? `  (${result.peer.name}: ${result.peer.value.toFixed(1)} ${result.peer.unit}, ratio ${result.peer.ratio.toFixed(1)}x)`
      : "";
    console.log(
      `${result.name}: ${result.value.toFixed(1)} ${result.unit}${peer}${result.detail ? `  [${result.detail}]` : ""}`,
    );
  }
}
