import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { createDeflateRaw } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS_DIR, bundle, loadCorpus } from "./helpers.js";

/**
 * Hostile files must cost bounded time and memory. Each one is scanned in a worker thread whose
 * V8 heap is capped (resourceLimits): a scanner that materialised an expansion attack would die
 * there with ERR_WORKER_OUT_OF_MEMORY instead of passing. Time is the CPU time the scan costs
 * (this test process's user + system time around it, the process otherwise idle while it waits),
 * not wall time: what is bounded is the scanner's work, and wall time also counts whatever else
 * the machine is running (under a loaded CI it failed cases that cost a fraction of the limit).
 */

const HEAP_LIMIT_MB = 96;
const CPU_LIMIT_MS = 2000;

interface WorkerResult {
  readonly verdict: string;
  readonly codes: readonly string[];
  readonly cpuMs: number;
  readonly heapUsedMb: number;
}

let dir: string;
let bundleDir: string;
let workerScript: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nmr-scan-limits-"));
  const scanner = await bundle("src/scan/index.ts", "scanner.mjs");
  bundleDir = dirname(scanner);
  workerScript = join(dir, "worker.mjs");
  await writeFile(
    workerScript,
    `import { parentPort, workerData } from "node:worker_threads";
const scanner = await import(${JSON.stringify(scanner)});
let peak = 0;
const sample = () => { peak = Math.max(peak, process.memoryUsage().heapUsed); };
const timer = setInterval(sample, 5);
const started = process.cpuUsage();
const report = await scanner.scanFile(workerData.file);
const spent = process.cpuUsage(started);
const cpuMs = (spent.user + spent.system) / 1000;
sample();
clearInterval(timer);
parentPort.postMessage({ verdict: report.verdict, codes: report.findings.map((f) => f.code), cpuMs, heapUsedMb: peak / 2 ** 20 });
`,
  );
  await writeHostileFiles(dir);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(bundleDir, { recursive: true, force: true });
});

function scanInWorker(file: string): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript, {
      workerData: { file },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB, maxYoungGenerationSizeMb: 16 },
    });
    worker.once("message", (result: WorkerResult) => resolve(result));
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

const PROTO2 = Buffer.from([0x80, 0x02]);
const PROTO4 = Buffer.from([0x80, 0x04]);

/** Files too large to commit, built here: each aims at a different cap. */
const hostile: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ["opcode-flood.pkl", "MALICIOUS", ["PICKLE_LIMIT"]],
  ["memo-flood.pkl", "MALICIOUS", ["PICKLE_LIMIT"]],
  ["mark-flood.pkl", "MALICIOUS", ["PICKLE_LIMIT"]],
  ["string-array.gguf", "SAFE", []],
  ["nested-arrays.gguf", "INVALID", ["GGUF_MALFORMED"]],
  ["deep/config.json", "INVALID", ["LIMIT_EXCEEDED"]],
  ["wide/config.json", "INVALID", ["LIMIT_EXCEEDED"]],
  ["padded/tokenizer_config.json", "MALICIOUS", ["CHAT_TEMPLATE_INJECTION"]],
  ["bomb.npz", "SAFE", ["ARCHIVE_MEMBER_LARGE"]],
  ["bomb-object.npz", "INVALID", ["LIMIT_EXCEEDED"]],
  ["bomb.bin.gz", "SAFE", ["ARCHIVE_MEMBER_LARGE"]],
  ["nested-zips.zip", "INVALID", ["ARCHIVE_TOO_DEEP"]],
  ["many-tensors.safetensors", "SAFE", []],
];

async function writeHostileFiles(at: string): Promise<void> {
  // 6M opcodes (MARK, POP_MARK pairs) against the 5M opcode cap.
  await writeFile(
    join(at, "opcode-flood.pkl"),
    Buffer.concat([PROTO2, Buffer.from("(1".repeat(3_000_000)), Buffer.from("N.")]),
  );
  // 1.1M memo entries (push None, MEMOIZE, POP) against the 1M memo cap.
  await writeFile(
    join(at, "memo-flood.pkl"),
    Buffer.concat([PROTO4, Buffer.from("N\x940".repeat(1_100_000), "latin1"), Buffer.from("N.")]),
  );
  // 100k nested MARKs against the nesting cap.
  await writeFile(
    join(at, "mark-flood.pkl"),
    Buffer.concat([PROTO2, Buffer.from("(".repeat(100_000)), Buffer.from("N.")]),
  );

  const str = (s: string) => {
    const b = Buffer.alloc(8 + s.length);
    b.writeBigUInt64LE(BigInt(s.length));
    b.write(s, 8, "latin1");
    return b;
  };
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const u64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return b;
  };
  const ggufHeader = (kvs: number) => Buffer.concat([Buffer.from("GGUF"), u32(3), u64(0n), u64(BigInt(kvs))]);
  // A 1M-entry string array (a tokenizer vocabulary, exaggerated): walked, never kept.
  const words = Buffer.alloc(1_000_000 * 9);
  for (let i = 0; i < 1_000_000; i++) {
    words.writeBigUInt64LE(1n, i * 9);
    words[i * 9 + 8] = 0x61;
  }
  await writeFile(
    join(at, "string-array.gguf"),
    Buffer.concat([
      ggufHeader(2),
      str("general.architecture"),
      u32(8),
      str("llama"),
      str("tokenizer.ggml.tokens"),
      u32(9),
      u32(8),
      u64(1_000_000n),
      words,
    ]),
  );
  // Arrays of arrays 1000 deep.
  const nested: Buffer[] = [ggufHeader(1), str("x"), u32(9)];
  for (let i = 0; i < 1000; i++) nested.push(u32(9), u64(1n));
  nested.push(u32(4), u64(0n));
  await writeFile(join(at, "nested-arrays.gguf"), Buffer.concat(nested));

  // JSON that would cost far more heap than its size if built: too deep, and too many values.
  await mkdir(join(at, "deep"));
  await writeFile(join(at, "deep", "config.json"), "[".repeat(200_000));
  await mkdir(join(at, "wide"));
  await writeFile(join(at, "wide", "config.json"), `{"class_name": "x", "a": [${"[],".repeat(5_000_000)}[]]}`);
  // Larger than the heap: streamed, with only the chat template built (issue 14, item 4).
  await mkdir(join(at, "padded"));
  const template = "{{ ''.__class__.__mro__[1].__subclasses__() }}";
  await writeFile(
    join(at, "padded", "tokenizer_config.json"),
    `{"pad": "${"x".repeat(100 * 2 ** 20)}", "chat_template": "${template}"}`,
  );

  // 200 MiB of zeros deflated to ~200 KiB, as an .npz member: inflated only up to the cap.
  const bomb = await deflateZeros(200 * 2 ** 20);
  const npyHeader = (descr: string, shape: string) => {
    let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    dict += `${" ".repeat(63 - ((10 + dict.length) % 64))}\n`;
    const head = Buffer.alloc(10);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
    head.writeUInt16LE(dict.length, 8);
    return Buffer.concat([head, Buffer.from(dict, "latin1")]);
  };
  const numericHeader = npyHeader("<f8", "(26214400,)");
  await writeFile(
    join(at, "bomb.npz"),
    zipWith(
      "big.npy",
      Buffer.concat([await deflateRaw(numericHeader), bomb.body]),
      bomb.size + numericHeader.length,
      bomb.crcUnknown,
    ),
  );
  const objectHeader = npyHeader("|O", "(3,)");
  // An object array whose pickle skips 150 MiB of bytes: its next opcode lies past the kept start.
  const objectBody = Buffer.concat([objectHeader, PROTO2, Buffer.from("B"), u32(150 * 2 ** 20)]);
  await writeFile(
    join(at, "bomb-object.npz"),
    zipWith(
      "obj.npy",
      Buffer.concat([await deflateRaw(objectBody), bomb.body]),
      bomb.size + objectBody.length,
      bomb.crcUnknown,
    ),
  );

  // The same zeros as a gzip file: unpacked only up to the cap.
  await writeFile(
    join(at, "bomb.bin.gz"),
    Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), bomb.body]),
  );

  let inner = zipWith("x.txt", Buffer.from("hi"), 2, 0, 0);
  for (let i = 0; i < 10; i++) inner = zipWith(`level${i}.zip`, inner, inner.length, 0, 0);
  await writeFile(join(at, "nested-zips.zip"), inner);

  // 100k tensors: a 5 MiB header, checked tensor by tensor.
  const header: Record<string, unknown> = {};
  for (let i = 0; i < 100_000; i++) header[`t${i}`] = { dtype: "U8", shape: [1], data_offsets: [i, i + 1] };
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  await writeFile(
    join(at, "many-tensors.safetensors"),
    Buffer.concat([u64(BigInt(text.length)), Buffer.from(text), Buffer.alloc(100_000)]),
  );
}

async function deflateRaw(data: Buffer): Promise<Buffer> {
  // Sync-flushed so the next deflate stream's bytes can follow it inside one member.
  const { deflateRawSync, constants } = await import("node:zlib");
  return deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
}

async function deflateZeros(size: number): Promise<{ body: Buffer; size: number; crcUnknown: number }> {
  const stream = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => stream.on("end", resolve));
  const zeros = Buffer.alloc(2 ** 20);
  for (let written = 0; written < size; written += zeros.length) {
    if (!stream.write(zeros)) await new Promise((resolve) => stream.once("drain", resolve));
  }
  stream.end();
  await done;
  return { body: Buffer.concat(chunks), size, crcUnknown: 0 };
}

/** A one-member zip; method 8 unless told otherwise. The CRC is not checked for members this large. */
function zipWith(name: string, data: Buffer, uncompressedSize: number, crc: number, method = 8): Buffer {
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(uncompressedSize, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(uncompressedSize, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  const cdOffset = 30 + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + nameBytes.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

describe("bounded time and memory on hostile input", () => {
  const dosCases = loadCorpus().filter((c) => c.id === "M26" || c.id === "M16" || c.id === "M15");

  it.each(dosCases.map((c) => [c.file, c] as const))("corpus %s", async (_file, c) => {
    const result = await scanInWorker(join(CORPUS_DIR, c.file));
    expect(result.verdict).toBe(c.expect);
    expect(result.cpuMs).toBeLessThan(CPU_LIMIT_MS);
    expect(result.heapUsedMb).toBeLessThan(HEAP_LIMIT_MB);
  });

  it.each(hostile.map(([file, verdict, codes]) => [file, verdict, codes] as const))(
    "generated %s is %s",
    async (file, verdict, codes) => {
      const result = await scanInWorker(join(dir, file));
      expect(result.verdict, JSON.stringify(result.codes)).toBe(verdict);
      for (const code of codes) expect(result.codes).toContain(code);
      expect(result.cpuMs).toBeLessThan(CPU_LIMIT_MS);
      expect(result.heapUsedMb).toBeLessThan(HEAP_LIMIT_MB);
    },
  );
});
