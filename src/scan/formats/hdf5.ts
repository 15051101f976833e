import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { MalformedError } from "../io/errors.js";
import type { RandomAccess } from "../io/random-access.js";
import { startsWithBytes } from "../text.js";
import { chunksOf, readJsonPrefix } from "./json.js";
import { checkKerasConfig } from "./keras.js";

/**
 * HDF5 Keras models (.h5). Parsing HDF5 properly is out of scope; Keras stores the model config
 * as a JSON string attribute (`model_config`), which appears verbatim in the file. This reader
 * finds those JSON documents in the first MAX_SEARCH bytes and checks them like a .keras config,
 * with HDF5's harsher rule: Lambda layers always run (CVE-2025-9905).
 */

const MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_SEARCH = 64 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;
const MAX_CONFIGS = 8;
const CONFIG_START = Buffer.from('{"class_name"');
const LAMBDA_MARKERS = [Buffer.from('"Lambda"'), Buffer.from("__lambda__")];

export function looksLikeHdf5(head: Uint8Array): boolean {
  return startsWithBytes(head, MAGIC);
}

export function scanHdf5(source: RandomAccess, reporter: Reporter, ctx: ScanContext): void {
  const limit = Math.min(source.size, MAX_SEARCH);
  let configs = 0;
  let sawLambdaMarker = false;
  for (let start = 0; start < limit && configs < MAX_CONFIGS; start += CHUNK) {
    const chunk = Buffer.from(source.read(start, Math.min(CHUNK + 64, limit - start)));
    if (LAMBDA_MARKERS.some((marker) => chunk.includes(marker))) sawLambdaMarker = true;
    for (
      let at = chunk.indexOf(CONFIG_START);
      at >= 0 && at < CHUNK && configs < MAX_CONFIGS;
      at = chunk.indexOf(CONFIG_START, at + 1)
    ) {
      try {
        const { value, end } = readJsonPrefix(chunksOf(source, start + at), {
          allowNonFinite: true,
          maxDepth: 256,
          maxTextBytes: ctx.limits.maxJsonBytes,
        });
        checkKerasConfig(value, "hdf5", reporter);
        configs++;
        at += Math.max(0, end - 1);
      } catch (error) {
        // Text that only starts like a config is not one; a config too large to judge is a finding.
        if (!(error instanceof MalformedError)) throw error;
      }
    }
  }
  if (configs === 0 && sawLambdaMarker) {
    reporter.report(
      "MALICIOUS",
      "KERAS_LAMBDA",
      "HDF5 file mentions a Lambda layer whose config could not be parsed; HDF5 loading runs Lambdas",
    );
  }
  if (source.size > MAX_SEARCH) {
    reporter.report("INFO", "HDF5_PARTIAL", `only the first ${MAX_SEARCH} bytes were searched for Keras configs`);
  }
}
