import { nestedContext, type ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { LimitError, ScanError } from "../io/errors.js";
import { inflateBounded } from "../io/inflate.js";
import type { RandomAccess } from "../io/random-access.js";
import { startsWithBytes, utf8Lossy, utf8OrUndefined } from "../text.js";
import { scanTarArchive, scanZipArchive } from "./archive.js";
import { looksLikeGguf, scanGguf } from "./gguf.js";
import { scanHdf5, looksLikeHdf5 } from "./hdf5.js";
import { looksLikeJson, scanJsonFile, type JsonFacts } from "./json-file.js";
import type { KerasContainer } from "./keras.js";
import { looksLikeNpy, scanNpy } from "./numpy.js";
import { looksLikeSafetensors, scanSafetensors, type SafetensorsFacts } from "./safetensors.js";
import { looksLikeTar } from "./tar.js";
import { checkChatTemplate } from "./template.js";
import { scanPickleFile } from "./torch.js";
import { findEndRecord, startsWithZipMagic } from "./zip.js";

/**
 * Decides what a file is from its bytes, the way loaders do, and reads it every way a loader
 * could: a file that is both a pickle and a zip (a polyglot) is scanned as both. The name is
 * used only to add readings (a `.safetensors` name makes the safetensors rules apply), never
 * to skip one.
 */

export interface Analysis {
  readonly format: string;
  readonly safetensors?: SafetensorsFacts;
  readonly json?: JsonFacts;
}

const HEAD = 1024;
const PICKLE_EXTENSIONS = /\.(pkl|pickle|pt|pth|ckpt|joblib|dill)$/i;
const COMPRESSED: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["7z", [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]],
  ["lzma", [0x5d, 0x00, 0x00]],
];

export function analyze(
  source: RandomAccess,
  name: string,
  reporter: Reporter,
  ctx: ScanContext,
  container: KerasContainer = "json",
): Analysis {
  const head = source.read(0, HEAD).slice();
  const readings: string[] = [];
  let safetensors: SafetensorsFacts | undefined;
  let json: JsonFacts | undefined;
  const attempt = (label: string, read: () => string | undefined) => {
    const format = guarded(label, reporter, read);
    if (format) readings.push(format);
  };

  if (looksLikeGguf(head))
    attempt("gguf", () => {
      scanGguf(source, reporter, ctx);
      return "gguf";
    });
  else if (looksLikeNpy(head))
    attempt("npy", () => {
      scanNpy(source, reporter, ctx);
      return "npy";
    });
  else if (looksLikeSafetensors(head)) {
    attempt("safetensors", () => {
      safetensors = scanSafetensors(source, reporter, ctx);
      return "safetensors";
    });
  } else if (looksLikeHdf5(head))
    attempt("hdf5", () => {
      scanHdf5(source, reporter, ctx);
      return "hdf5";
    });
  else if (head[0] === 0x1f && head[1] === 0x8b) attempt("gzip", () => scanGzip(source, name, reporter, ctx));
  else {
    const compressed = COMPRESSED.find(([, magic]) => startsWithBytes(head, magic));
    if (compressed && !(compressed[0] === "lzma" && !name.endsWith(".lzma"))) {
      reporter.report(
        "WARN",
        "UNSCANNED_ARCHIVE",
        `${compressed[0]}-compressed data: not unpacked, contents not checked`,
      );
      readings.push(compressed[0]);
    }
  }

  // torch.load reads a file as a zip only when it starts with a local header; otherwise it
  // unpickles it, while Python's zipfile still finds an end record anywhere. The reading a
  // loader would pick comes first, and names the format.
  const zipAtStart = startsWithZipMagic(head);
  if (zipAtStart) attempt("zip", () => scanZipArchive(source, reporter, ctx, analyzeMember));
  if (looksLikeTar(head)) attempt("tar", () => scanTarArchive(source, reporter, ctx, analyzeMember));
  // Every file is also tried as a pickle: torch.load and pickle.load do not care about names.
  attempt("pickle", () => scanPickleFile(source, reporter, ctx, "speculative"));
  if (!zipAtStart && hasEndRecord(source, reporter)) {
    attempt("zip", () => scanZipArchive(source, reporter, ctx, analyzeMember));
  }

  // Nothing recognised the bytes, but the name says what a loader will do with them: read the
  // file that way, so that it not parsing is a finding rather than "unknown".
  if (readings.length === 0 && PICKLE_EXTENSIONS.test(name)) {
    attempt("pickle", () => scanPickleFile(source, reporter, ctx, "definitive"));
  } else if (readings.length === 0 && /\.safetensors$/i.test(name)) {
    attempt("safetensors", () => {
      scanSafetensors(source, reporter, ctx);
      return "safetensors";
    });
  } else if (readings.length === 0 && /\.gguf$/i.test(name)) {
    attempt("gguf", () => {
      scanGguf(source, reporter, ctx);
      return "gguf";
    });
  }
  // Loaders open JSON by name whatever else the bytes are (a 512-byte JSON document can also be
  // a tar header), so the JSON reading is added, never displaced, by another one.
  const mayBeJson = looksLikeJson(head) || name.toLowerCase().endsWith(".json");
  const readJson = () =>
    guarded("json", reporter, () => {
      json = scanJsonFile(source, name, reporter, ctx, container);
    });
  if (readings.length > 0 && mayBeJson) {
    readJson();
    if (json?.valid) readings.push("json");
  }
  if (readings.length > 1) {
    reporter.report(
      "WARN",
      "POLYGLOT",
      `the file is valid as ${readings.join(" and ")}; loaders that pick different readings see different content`,
    );
  }
  if (readings.length > 0) {
    return { format: readings[0]!, ...(safetensors ? { safetensors } : {}), ...(json ? { json } : {}) };
  }

  if (/\.(jinja|j2)$/i.test(name)) {
    guarded("template", reporter, () => {
      // All of it or nothing: injection padded past a partial read would pass unseen.
      if (source.size > ctx.limits.maxJsonBytes) {
        throw new LimitError("maxJsonBytes", `template of ${source.size} bytes is larger than maxJsonBytes`, 0);
      }
      checkChatTemplate(utf8Lossy(source.read(0, source.size)), "chat template file", reporter);
    });
    return { format: "template" };
  }
  if (mayBeJson) {
    readJson();
    if (json?.format === "text") return { format: "text" };
    return { format: "json", ...(json ? { json } : {}) };
  }
  if (looksLikeText(head)) return { format: "text" };
  if (source.size > 0) {
    reporter.report(
      "INFO",
      "UNKNOWN_FORMAT",
      "not a format the scanner recognises; nothing in it is loaded as code by the loaders it knows",
    );
  }
  return { format: source.size === 0 ? "empty" : "unknown" };
}

function analyzeMember(
  data: RandomAccess,
  name: string,
  reporter: Reporter,
  ctx: ScanContext,
  container: KerasContainer,
): void {
  analyze(data, name, reporter, ctx, container);
}

/** A zip end record anywhere (Python's zipfile finds it there: polyglots). */
function hasEndRecord(source: RandomAccess, reporter: Reporter): boolean {
  try {
    return findEndRecord(source) !== undefined;
  } catch (error) {
    if (error instanceof LimitError) {
      // Only the start of an oversized archive member is kept; its tail cannot be probed.
      reporter.report(
        "INFO",
        "ZIP_PROBE_SKIPPED",
        "the end of this data was not kept, so it was not checked for an appended zip",
      );
      return false;
    }
    throw error;
  }
}

function scanGzip(source: RandomAccess, name: string, reporter: Reporter, ctx: ScanContext): string {
  if (ctx.archiveDepth >= ctx.limits.maxArchiveDepth) {
    reporter.report("INVALID", "ARCHIVE_TOO_DEEP", "gzip nested too deep; not unpacked");
    return "gzip";
  }
  const inner = reporter.within("gunzip");
  const inflated = inflateBounded(source, "gzip", ctx.limits.maxInflatedBytes, 0);
  if (inflated.truncated) {
    inner.report(
      "INFO",
      "ARCHIVE_MEMBER_LARGE",
      `inflates to more than ${ctx.limits.maxInflatedBytes} bytes (maxInflatedBytes); only its start is kept`,
    );
  }
  analyze(inflated.data, name.replace(/\.gz$/i, ""), inner, nestedContext(ctx));
  return "gzip";
}

function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  if (head.includes(0)) return false;
  // Cut a possibly split UTF-8 sequence at the end of the sample before validating.
  let end = head.length;
  while (end > 0 && end > head.length - 4 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && head[end - 1]! >= 0xc0) end--;
  const text = utf8OrUndefined(head.subarray(0, end));
  if (text === undefined) return false;
  const control = [...text].filter((ch) => ch < " " && ch !== "\n" && ch !== "\r" && ch !== "\t" && ch !== "\f").length;
  return control <= text.length / 100;
}

/**
 * Any exception out of a reader becomes a finding for this file: a hostile file may make the
 * scanner fail, never make it crash or pass.
 */
function guarded<T>(label: string, reporter: Reporter, read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof LimitError) {
      reporter.report(
        "INVALID",
        "LIMIT_EXCEEDED",
        `${label}: ${error.message}; the rest of the file is unverified`,
        error.offset,
      );
    } else if (error instanceof ScanError) {
      reporter.report("INVALID", "MALFORMED", `${label}: ${error.message}`, error.offset);
    } else {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      reporter.report("INVALID", "SCANNER_ERROR", `${label} reader failed: ${message.slice(0, 300)}`);
    }
    return undefined;
  }
}
