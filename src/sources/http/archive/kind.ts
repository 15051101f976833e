/**
 * Archive formats `unpack = true` reads, told by the file name (the name the user pins,
 * so the choice is visible in the Nix expression). Compression other than gzip (xz,
 * bzip2, zstd) is not supported: Node has no decoder for them built in.
 */
export type ArchiveKind = "tar" | "tar.gz" | "zip";

const SUFFIXES: readonly (readonly [suffix: string, kind: ArchiveKind])[] = [
  [".tar.gz", "tar.gz"],
  [".tgz", "tar.gz"],
  [".tar", "tar"],
  [".zip", "zip"],
];

export const ARCHIVE_SUFFIXES = SUFFIXES.map(([suffix]) => suffix);

export function archiveKind(filename: string): ArchiveKind | undefined {
  const lower = filename.toLowerCase();
  return SUFFIXES.find(([suffix]) => lower.endsWith(suffix))?.[1];
}
