/**
 * Whether a file would live in Git LFS on the Hub when nothing else says so: the patterns the
 * Hub's default `.gitattributes` tracks for model weights, or any file over 10 MiB (the Hub
 * refuses larger non-LFS files). Used for snapshot files that are plain copies (no blob name
 * to tell) and by the test fixture writer.
 */
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

export const LFS_SIZE_THRESHOLD = 10 * 1024 * 1024;

export function defaultIsLfs(path: string, size: number): boolean {
  const lower = path.toLowerCase();
  return size > LFS_SIZE_THRESHOLD || LFS_EXTENSIONS.some((extension) => lower.endsWith(extension));
}
