/**
 * Writes Hub-cache repo folders for the benchmarks, in plain JS (bench runs under plain
 * node, without a TypeScript runtime). Same layout as test/helpers/hub-fixture.ts, which is
 * what huggingface_hub leaves on disk and what `nix-model-repo serve` serves:
 *   blobs/<etag>                 etag = sha256 for LFS files, else the git blob sha1
 *   snapshots/<commit>/<path>    relative symlinks to ../../blobs/<etag>
 *   refs/main                    the commit, no trailing newline
 *
 * Contents are generated, not stored: AES-256-CTR over zeros with a key derived from a
 * seed gives incompressible, deterministic bytes at GB/s, so a 1 GiB file costs about a
 * second and is the same on every run and machine (no sparse files, no zero pages that a
 * filesystem or a compressing transport could shortcut).
 */
import { createCipheriv, createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { once } from "node:events";

const CHUNK_BYTES = 4 * 1024 * 1024;

// Mirrors src/serve/lfs-heuristic.ts: the server decides LFS by the blob's name, the
// writer decides the name by this rule, so both must agree with the Hub's defaults.
const LFS_EXTENSIONS = [
  ".safetensors",
  ".bin",
  ".gguf",
  ".pt",
  ".pth",
  ".ckpt",
  ".onnx",
  ".h5",
  ".msgpack",
  ".pb",
  ".tflite",
  ".npy",
  ".npz",
  ".pkl",
  ".joblib",
  ".model",
  ".ot",
  ".parquet",
  ".arrow",
  ".zip",
  ".tar",
  ".gz",
  ".xz",
  ".zst",
  ".7z",
  ".bz2",
];
const LFS_SIZE_THRESHOLD = 10 * 1024 * 1024;

export function isLfs(path, size) {
  const lower = path.toLowerCase();
  return size > LFS_SIZE_THRESHOLD || LFS_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/** Yields `size` deterministic pseudo-random bytes in chunks. */
export function* deterministicChunks(size, seed) {
  const key = createHash("sha256").update(`nix-model-repo bench ${seed}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(CHUNK_BYTES, size));
  for (let left = size; left > 0; left -= zeros.length) {
    yield cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left));
  }
}

/**
 * The top byte of a bf16 weight (sign and the exponent's high bits) for each value of a random
 * byte's low 7 bits: trained weights sit near zero at a spread of ~0.02, so four top bytes
 * (0x3a-0x3d, ~2 bits of entropy) take nearly all of them, the sign is a coin.
 */
const BF16_TOP = Uint8Array.from({ length: 128 }, (_, index) =>
  index < 64 ? 0x3c : index < 96 ? 0x3b : index < 122 ? 0x3d : 0x3a,
);

/**
 * The same stream made to look like bf16 weights: each even byte (the low byte: the lowest
 * exponent bit and the mantissa) stays random, each odd byte becomes a top byte as above. Xet
 * stores such chunks byte-grouped and LZ4-compressed (~0.87 of their size), as it does real
 * bf16 safetensors, where the incompressible stream is stored raw.
 */
function* weightChunks(size, seed) {
  for (const chunk of deterministicChunks(size, seed)) {
    for (let index = 1; index < chunk.length; index += 2) {
      const random = chunk[index];
      chunk[index] = (random & 0x80) | BF16_TOP[random & 0x7f];
    }
    yield chunk;
  }
}

/**
 * A file's bytes: one seeded run, or `parts` ([{ size, seed }]) one after another (equal parts,
 * equal bytes); `weights: true` on the file or a part makes its bytes look like bf16 weights.
 */
function* fileChunks(file) {
  for (const part of file.parts ?? [{ size: file.size, seed: file.seed, weights: file.weights }])
    yield* part.weights ? weightChunks(part.size, part.seed) : deterministicChunks(part.size, part.seed);
}

async function writeBlob(blobsDir, file) {
  await mkdir(blobsDir, { recursive: true });
  const temporary = join(blobsDir, `.writing-${process.pid}`);
  const out = createWriteStream(temporary);
  const sha256 = createHash("sha256");
  const gitSha1 = createHash("sha1").update(`blob ${file.size}\0`);
  for (const chunk of fileChunks(file)) {
    sha256.update(chunk);
    gitSha1.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const lfs = isLfs(file.path, file.size);
  const described = {
    path: file.path,
    size: file.size,
    sha256: sha256.digest("hex"),
    gitOid: gitSha1.digest("hex"),
    lfs,
  };
  const etag = lfs ? described.sha256 : described.gitOid;
  await rename(temporary, join(blobsDir, etag));
  return { ...described, etag };
}

/**
 * Writes `models--org--name` under cacheRoot.
 * files: [{ path, size, seed, weights? }] (seed: any string; equal seeds and sizes give equal bytes), or
 * [{ path, size, parts: [{ size, seed }] }] for files that share runs of bytes.
 * Returns { folder, commit, files: [{ path, size, sha256, gitOid, etag, lfs }] }.
 */
export async function writeHubRepo(cacheRoot, repoId, files) {
  const folder = join(cacheRoot, `models--${repoId.split("/").join("--")}`);
  const blobsDir = join(folder, "blobs");
  const written = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : 1)))
    written.push(await writeBlob(blobsDir, file));

  const commitHash = createHash("sha1").update(`nix-model-repo bench\nmodels/${repoId}\n`);
  for (const file of written) commitHash.update(`${file.path}\0${file.size}\0${file.sha256}\n`);
  const commit = commitHash.digest("hex");

  for (const file of written) {
    const pointer = join(folder, "snapshots", commit, file.path);
    await mkdir(dirname(pointer), { recursive: true });
    await symlink(relative(dirname(pointer), join(blobsDir, file.etag)), pointer);
  }
  await mkdir(join(folder, "refs"), { recursive: true });
  await writeFile(join(folder, "refs", "main"), commit);
  return { folder, commit, files: written };
}
