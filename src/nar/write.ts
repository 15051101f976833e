import { once } from "node:events";
import type { Writable } from "node:stream";
import { dumpNar } from "./dump.js";

/**
 * Writes the NAR of `path` to a stream (what `nix-store --dump` prints), waiting for
 * `drain` so a slow consumer bounds memory. Does not end the stream. Returns the bytes written.
 */
export async function writeNar(path: string, out: Writable): Promise<number> {
  let written = 0;
  await dumpNar(path, {
    async write(chunk) {
      written += chunk.length;
      // The dumper reuses its read buffers; the stream keeps what it is given until flushed.
      if (!out.write(Buffer.from(chunk))) await once(out, "drain");
    },
  });
  return written;
}
