import { type JsonBuildOptions, ValueBuilder } from "./builder.js";
import { JsonTokenizer, type JsonTokenizerOptions } from "./tokenizer.js";

/**
 * Whole documents, bounded. JSON.parse has no depth limit and builds whatever it is given: a
 * 32 MiB reply of `[` costs it about 1.5 GB. parseJson refuses that at the 65th `[`, refuses
 * bodies over the byte cap before reading them, and counts what it builds.
 */

export type JsonParseOptions = JsonTokenizerOptions & JsonBuildOptions;

/** Bounds for a reply from a remote API, unless the caller chooses others. */
export const JSON_BODY_DEFAULTS = { maxBytes: 32 * 1024 * 1024, maxDepth: 64 } as const;

/**
 * Parses one document: the same values as JSON.parse for everything JSON.parse accepts, or a
 * JsonError with a stable code (JSON_INVALID, JSON_TOO_DEEP, JSON_TOO_LARGE) and a position.
 */
export function parseJson(input: Uint8Array | string, options: JsonParseOptions = {}): unknown {
  return parseJsonChunks([typeof input === "string" ? Buffer.from(input, "utf8") : input], options);
}

/** parseJson over a document that arrives in pieces (a file read in chunks). */
export function parseJsonChunks(chunks: Iterable<Uint8Array>, options: JsonParseOptions = {}): unknown {
  return read(chunks, { ...JSON_BODY_DEFAULTS, ...options, trailing: "error" }).value;
}

/**
 * Parses the value at the start of the input and says where it ended; whatever follows is not
 * read (JSON embedded in a binary file).
 */
export function parseJsonPrefix(
  chunks: Iterable<Uint8Array>,
  options: JsonParseOptions = {},
): { value: unknown; end: number } {
  return read(chunks, { ...JSON_BODY_DEFAULTS, ...options, trailing: "stop" });
}

/**
 * parseJson over a document pushed in pieces as they arrive (a reply read from the network):
 * write() each chunk, end() for the value. A refusal is thrown by the write() that sees it, so
 * a reply of 32 MiB of `[` is refused at its 65th byte and the rest need never be read.
 */
export class JsonValueStream {
  private value: unknown;
  private readonly tokenizer: JsonTokenizer;

  constructor(options: JsonParseOptions = {}) {
    const withDefaults = { ...JSON_BODY_DEFAULTS, trailing: "error" as const, ...options };
    this.tokenizer = new JsonTokenizer(
      new ValueBuilder(
        withDefaults,
        (built) => (this.value = built),
        () => this.tokenizer.tokenPosition,
      ),
      withDefaults,
    );
  }

  write(chunk: Uint8Array): void {
    this.tokenizer.write(chunk);
  }

  /** Where the value ended (with trailing: "stop"), -1 while it has not. */
  get valueEnd(): number {
    return this.tokenizer.valueEnd;
  }

  end(): unknown {
    this.tokenizer.end();
    return this.value;
  }
}

function read(chunks: Iterable<Uint8Array>, options: JsonParseOptions): { value: unknown; end: number } {
  const stream = new JsonValueStream(options);
  for (const chunk of chunks) {
    stream.write(chunk);
    if (stream.valueEnd >= 0) break;
  }
  return { value: stream.end(), end: stream.valueEnd };
}
