import { open, readFile } from "node:fs/promises";

/** The first `length` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export type JsonRead = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Parses a file as strict UTF-8 JSON; the error says why not. */
export async function readJson(path: string): Promise<JsonRead> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await readFile(path));
  } catch {
    return { ok: false, error: "not valid UTF-8" };
  }
  if (text.startsWith("\uFEFF"))
    return { ok: false, error: "starts with a byte-order mark, which JSON parsers such as Python's json.loads refuse" };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
