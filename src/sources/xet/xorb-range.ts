import type { HttpClient } from "../../http/client.js";
import { TransferFailure } from "../../errors/failures.js";
import type { ByteSource, OpenedBody } from "../../transfer/types.js";
import { describeFetch, type XorbFetch } from "../../xet/index.js";

/**
 * One fetch entry of a reconstruction as a ByteSource for the engine: a GET of its pre-signed
 * URL with exactly the signed `Range` (the signature covers that range and nothing else, so a
 * resumed read asks for the whole range again and skips what already arrived), no credentials.
 * Offsets are the xorb's: the engine asks for [bytes.start, bytes.end + 1).
 *
 * A 403 means the URL expired (they live minutes): `renew` asks the CAS for a fresh
 * reconstruction and gives the same range's new URL; a second 403 in a row is the CAS's
 * final answer.
 */
export function xorbRangeSource(
  http: HttpClient,
  first: XorbFetch,
  renew: (stale: XorbFetch, signal: AbortSignal) => Promise<XorbFetch>,
): ByteSource {
  let current = first;
  const description = describeFetch(first);

  const openCurrent = async (signal: AbortSignal): Promise<OpenedBody> => {
    const { start, end } = current.bytes;
    return http
      .byteSource(current.url, { headers: { range: `bytes=${start}-${end}` }, description })
      .open({ start: 0 }, signal);
  };

  return {
    description,
    supportsRanges: true,
    async open(range, signal) {
      let opened: OpenedBody;
      try {
        opened = await openCurrent(signal);
      } catch (error) {
        if (!(error instanceof TransferFailure) || error.status !== 403) throw error;
        current = await renew(current, signal);
        opened = await openCurrent(signal);
      }
      const skip = range.start - opened.start;
      if (skip < 0) {
        await opened.cancel();
        throw new TransferFailure(
          `asked for ${description}, got bytes from ${opened.start} (${current.bytes.start}-${current.bytes.end} signed)`,
          { retryable: false, code: "NMR_BAD_RESPONSE" },
        );
      }
      return { ...opened, start: range.start, totalSize: undefined, body: skipping(opened.body, skip) };
    },
  };
}

/** The body without its first `count` bytes. */
async function* skipping(body: AsyncIterable<Uint8Array>, count: number): AsyncGenerator<Uint8Array> {
  let left = count;
  for await (const chunk of body) {
    if (left >= chunk.byteLength) {
      left -= chunk.byteLength;
      continue;
    }
    yield left > 0 ? chunk.subarray(left) : chunk;
    left = 0;
  }
}
