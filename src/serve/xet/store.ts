import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunkHash, fileHash, xorbHash } from "../../xet/hash.js";
import {
  Chunker,
  CompressionScheme,
  encodeChunkSmallest,
  hashToHex,
  MAX_SERIALIZED_XORB_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  type SizedHash,
} from "../../xet/index.js";

/**
 * The Xet side of a served repo: files cut into content-defined chunks, each distinct chunk
 * stored once (across files and repos: dedup), packed into xorbs written to a cache folder,
 * and each file recorded as its list of (xorb, chunk index). This is what huggingface.co's CAS
 * holds after an upload; serve builds it from the repo folders the first time a Xet repo is
 * asked about, one file at a time, in path order, so repeated runs produce the same xorbs.
 *
 * Each chunk is stored with the smallest of the three schemes (the spec's "brute force"
 * choice): noise stays raw, text takes LZ4, floats usually BG4-LZ4.
 */

export interface XetStoreOptions {
  /** Where xorbs are written; default a new folder in the system temp dir, removed on close. */
  readonly directory?: string;
  /**
   * Seal a xorb before it would pass this many serialized bytes. Whatever this says, a xorb is
   * sealed before it passes 64 MiB of chunk data or 8192 chunks, as xet-core's uploader does.
   */
  readonly xorbMaxBytes?: number;
}

export interface SealedXorb {
  readonly hash: string;
  readonly path: string;
  /** Serialized start of each chunk, then the xorb's length. */
  readonly offsets: readonly number[];
}

/** Where one chunk of a file lives. */
export interface ChunkLocation {
  /** Index into the store's xorbs. */
  readonly xorb: number;
  readonly index: number;
  readonly size: number;
}

export interface XetFile {
  /** The file id: `xetHash` in listings, `X-Xet-Hash` on resolve. */
  readonly hash: string;
  readonly size: number;
  readonly chunks: readonly ChunkLocation[];
}

export interface XetStoreStats {
  readonly chunksByScheme: Readonly<Record<"none" | "lz4" | "bg4-lz4", number>>;
  /** Chunks a file needed that were already stored. */
  readonly dedupedChunks: number;
  readonly xorbs: number;
}

const SCHEME_KEYS = {
  [CompressionScheme.None]: "none",
  [CompressionScheme.LZ4]: "lz4",
  [CompressionScheme.ByteGrouping4LZ4]: "bg4-lz4",
} as const;
const READ_PIECE = 1024 * 1024;

interface OpenXorb {
  /** Bytes of chunk data (before compression). */
  raw: number;
  readonly encoded: Uint8Array[];
  readonly hashes: SizedHash[];
  readonly offsets: number[];
}

export class XetStore {
  private directory: string | undefined;
  private readonly ownsDirectory: boolean;
  private readonly xorbMaxBytes: number;
  /** Sealed xorbs, and at most one open one (the last, `undefined` until sealed). */
  private readonly xorbs: Array<SealedXorb | undefined> = [];
  private open: OpenXorb | undefined;
  private readonly chunkIndex = new Map<string, { xorb: number; index: number }>();
  private readonly files = new Map<string, Promise<XetFile>>();
  private readonly byHash = new Map<string, XetFile>();
  private readonly xorbsByHash = new Map<string, SealedXorb>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stats = { none: 0, lz4: 0, "bg4-lz4": 0, deduped: 0 };

  constructor(options: XetStoreOptions = {}) {
    this.directory = options.directory;
    this.ownsDirectory = options.directory === undefined;
    this.xorbMaxBytes = Math.min(options.xorbMaxBytes ?? MAX_SERIALIZED_XORB_BYTES, MAX_SERIALIZED_XORB_BYTES);
  }

  /**
   * The Xet record of a file's content (`key` names the content: its sha256), building it on
   * first use. Work is queued: one file at a time, and every xorb the file needs is sealed
   * (hashed and on disk) when the promise resolves.
   */
  file(key: string, contentPath: string, size: number): Promise<XetFile> {
    let pending = this.files.get(key);
    if (!pending) {
      pending = this.enqueue(async () => {
        await this.ensureDirectory();
        const file = await this.ingest(contentPath, size);
        this.seal();
        await this.flush();
        this.byHash.set(file.hash, file);
        return file;
      });
      pending.catch(() => this.files.delete(key)); // a vanished blob may come back after a reload
      this.files.set(key, pending);
    }
    return pending;
  }

  /** A file already built, by its Xet hash. */
  fileByHash(hash: string): XetFile | undefined {
    return this.byHash.get(hash);
  }

  xorb(index: number): SealedXorb {
    const xorb = this.xorbs[index];
    if (!xorb) throw new Error(`xorb ${index} is not sealed`);
    return xorb;
  }

  /** A sealed xorb by hash. */
  xorbByHash(hash: string): SealedXorb | undefined {
    return this.xorbsByHash.get(hash);
  }

  statistics(): XetStoreStats {
    const { deduped, ...chunksByScheme } = this.stats;
    return { chunksByScheme, dedupedChunks: deduped, xorbs: this.xorbs.length };
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.ownsDirectory && this.directory) await rm(this.directory, { recursive: true, force: true });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async ingest(contentPath: string, size: number): Promise<XetFile> {
    const chunker = new Chunker();
    const chunks: ChunkLocation[] = [];
    const hashes: SizedHash[] = [];
    let seen = 0;
    const add = (data: Uint8Array) => {
      const hash = chunkHash(data);
      hashes.push({ hash, size: data.length });
      chunks.push({ ...this.store(data, hash), size: data.length });
    };
    for await (const piece of createReadStream(contentPath, { highWaterMark: READ_PIECE }) as AsyncIterable<Buffer>) {
      seen += piece.length;
      for (const chunk of chunker.update(piece)) add(chunk);
      await this.flush(); // a sealed xorb goes to disk at once: memory holds at most the open one
    }
    const last = chunker.finish();
    if (last) add(last);
    if (seen !== size) throw new Error(`${contentPath} changed size since it was loaded (${size} → ${seen})`);
    return { hash: hashToHex(fileHash(hashes)), size, chunks };
  }

  /** Where the chunk lives: where it was stored before, or appended to the open xorb. */
  private store(data: Uint8Array, hash: Uint8Array): { xorb: number; index: number } {
    const key = hashToHex(hash);
    const known = this.chunkIndex.get(key);
    if (known) {
      this.stats.deduped += 1;
      return known;
    }
    const { chunk, scheme } = encodeChunkSmallest(data);
    this.stats[SCHEME_KEYS[scheme]] += 1;
    const full = (open: OpenXorb) =>
      open.offsets[open.offsets.length - 1]! + chunk.length > this.xorbMaxBytes ||
      open.raw + data.length > MAX_XORB_BYTES ||
      open.encoded.length >= MAX_XORB_CHUNKS;
    if (this.open && full(this.open)) this.seal();
    if (!this.open) {
      this.open = { raw: 0, encoded: [], hashes: [], offsets: [0] };
      this.xorbs.push(undefined);
    }
    const open = this.open;
    open.raw += data.length;
    open.encoded.push(chunk);
    open.hashes.push({ hash, size: data.length });
    open.offsets.push(open.offsets[open.offsets.length - 1]! + chunk.length);
    const location = { xorb: this.xorbs.length - 1, index: open.encoded.length - 1 };
    this.chunkIndex.set(key, location);
    return location;
  }

  private readonly pendingWrites: Array<{ path: string; data: Uint8Array[] }> = [];

  private async ensureDirectory(): Promise<void> {
    if (this.directory === undefined) this.directory = await mkdtemp(join(tmpdir(), "nix-model-repo-xet-"));
    else await mkdir(this.directory, { recursive: true });
  }

  /** Closes the open xorb: its hash names it; flush() writes it. */
  private seal(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const hash = hashToHex(xorbHash(open.hashes));
    const path = join(this.directory!, hash);
    const sealed = { hash, path, offsets: open.offsets };
    this.xorbs[this.xorbs.length - 1] = sealed;
    this.xorbsByHash.set(hash, sealed);
    this.pendingWrites.push({ path, data: open.encoded });
  }

  private async flush(): Promise<void> {
    for (const { path, data } of this.pendingWrites.splice(0)) await writeFile(path, data);
  }
}
