import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync } from "node:zlib";
import type { Verdict } from "../../src/scan/index.js";

export const CORPUS_DIR = fileURLToPath(new URL("./corpus/", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));

export interface CorpusCase {
  readonly id: string;
  readonly file: string;
  readonly expect: Verdict;
  /** Finding codes the report must contain. */
  readonly codes: readonly string[];
  readonly description: string;
}

export function loadCorpus(): CorpusCase[] {
  const manifest = JSON.parse(readFileSync(join(CORPUS_DIR, "manifest.json"), "utf8")) as { cases: CorpusCase[] };
  return manifest.cases;
}

/**
 * Bundles a TypeScript entry point into one ESM file, for code that must run outside vitest's
 * transform: worker threads with heap limits, and the CLI as a real child process.
 */
export async function bundle(entry: string, name: string): Promise<string> {
  const { build } = await import("esbuild");
  const dir = await mkdtemp(join(tmpdir(), "nmr-scan-bundle-"));
  const outfile = join(dir, name);
  await build({
    entryPoints: [join(REPO, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
  });
  return outfile;
}

/** A small deterministic PRNG (mulberry32), so fuzz cases are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ZipMember {
  readonly name: string;
  readonly data: Uint8Array;
  /** 0 stored (default), 8 deflated, anything else written as is. */
  readonly method?: number;
  /** Override the CRC written in both headers. */
  readonly crc?: number;
}

/** A minimal zip writer (no data descriptors, no zip64), for archives tests shape by hand. */
export function zipOf(members: readonly ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const member of members) {
    const name = Buffer.from(member.name);
    const method = member.method ?? 0;
    const body = method === 8 ? deflateRawSync(member.data) : Buffer.from(member.data);
    const crc = member.crc ?? crc32(member.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(member.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(member.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
