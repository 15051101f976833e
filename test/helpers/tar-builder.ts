/**
 * Builds tar archives in memory for tests (tar-stream's packer), including entries a model
 * archive must not hold: symlinks, hard links, devices, fifos, names with "..".
 */
import { pack } from "tar-stream";

export interface TarEntry {
  readonly name: string;
  readonly content?: string | Buffer;
  readonly type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  readonly linkname?: string;
}

/** The archive's bytes; only files carry content. */
export async function tar(entries: readonly TarEntry[]): Promise<Buffer> {
  const packer = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    packer.on("data", (chunk) => chunks.push(chunk as Buffer));
    packer.on("end", () => resolve());
    packer.on("error", reject);
  });
  for (const entry of entries) {
    const isFile = entry.type === undefined || entry.type === "file";
    const content = Buffer.from(isFile ? (entry.content ?? "") : "");
    packer.entry(
      {
        name: entry.name,
        type: entry.type ?? "file",
        size: content.length,
        ...(entry.linkname ? { linkname: entry.linkname } : {}),
      },
      content,
    );
  }
  packer.finalize();
  await done;
  return Buffer.concat(chunks);
}
