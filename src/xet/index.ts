/**
 * Xet storage (huggingface.co's chunk store): the format, hashes as text and download
 * planning that both the fetcher and `serve` use; computing hashes (BLAKE3) is ./hash.ts,
 * which only `serve` needs. A leaf module: it imports nothing from the rest of src/.
 *
 *     const reconstruction = parseReconstructionV2(await response.json());   // or V1
 *     const plan = planDownload(reconstruction, { length: fileSize, exact: true });
 *     for await (const bytes of assembleFile(plan, { fetchRange })) write(bytes);
 *
 * `fetchRange(fetch, receive, signal)` hands `receive` the body of `GET fetch.url` with
 * `Range: bytes=<fetch.bytes.start>-<fetch.bytes.end>` and no credentials (the URL is
 * pre-signed). Every failure in the server's data is a XetFormatError with a stable `code`.
 */
export { assembleFile, BufferBudget, DEFAULT_POOL_FREE_BYTES, describeFetch } from "./assembler.js";
export type { AssembleOptions, RangeFetcher, SpilledChunk, SpilledRange, SpillStore } from "./assembler.js";
export {
  CHUNK_HEADER_BYTES,
  CompressionScheme,
  SCHEME_NAMES,
  decodeChunkPayload,
  encodeChunk,
  encodeChunkSmallest,
  parseChunkHeader,
} from "./chunk-format.js";
export type { ChunkHeader } from "./chunk-format.js";
export { ChunkPool } from "./chunk-pool.js";
export { ChunkStreamDecoder } from "./chunk-stream.js";
export { Chunker, chunkBytes, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from "./chunking.js";
export { XetFormatError } from "./errors.js";
export type { XetErrorCode } from "./errors.js";
export { hashToHex, hexToHash, isXetHashHex } from "./hash-hex.js";
export type { SizedHash } from "./hash.js";
export { planDownload } from "./planner.js";
export type { DownloadPlan, ExpectedLength, PlannedFetch, PlannedTerm } from "./planner.js";
export {
  MAX_RECONSTRUCTION_REPLY_BYTES,
  MAX_SERIALIZED_XORB_BYTES,
  MAX_XORB_BYTES,
  MAX_XORB_CHUNKS,
  parseReconstructionReply,
  parseReconstructionV1,
  parseReconstructionV2,
} from "./reconstruction.js";
export type { ByteRange, ChunkRange, Reconstruction, ReconstructionTerm, XorbFetch } from "./reconstruction.js";
