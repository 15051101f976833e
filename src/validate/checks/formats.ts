import type { FileReport } from "../../scan/index.js";

/**
 * What a file is, for the checks that refuse formats. Decided from the scanner's reading of
 * the bytes (a pickle named `.bin` is a pickle), never from the name alone.
 */

/** Formats whose loading is unpickling (torch.load, pickle.load, joblib.load). */
const PICKLE_FORMATS: ReadonlySet<string> = new Set([
  "pickle",
  "pytorch-zip",
  "pytorch-legacy",
  "pytorch-tar",
  "torchscript",
]);

/** Weight formats other than safetensors that the scanner recognises by content. */
const OTHER_WEIGHT_FORMATS: ReadonlySet<string> = new Set(["npy", "npz", "gguf", "hdf5", "keras"]);

/**
 * Names that say "weights" to some loader. Used only where content cannot prove a file is
 * not weights: a `.bin` of unrecognised bytes may be raw tensors read by a loader the
 * scanner does not know (ONNX external data, GGML), so a safetensors-only rule refuses it.
 */
const WEIGHT_NAME =
  /\.(bin|pt|pth|ckpt|h5|hdf5|keras|msgpack|onnx|onnx_data|gguf|ggml|npz|npy|pkl|pickle|joblib|dill|pb|tflite|ot|nemo|safetensors)$/i;

/** Why this file is pickle data a loader would unpickle, or undefined when it is not. */
export function pickleReading(report: FileReport): string | undefined {
  if (PICKLE_FORMATS.has(report.format)) return `${report.format} data: loading it unpickles it, which can run code`;
  if (report.imports !== undefined && report.imports.length > 0)
    return `${report.format} holding pickled objects (importing ${report.imports.slice(0, 3).join(", ")}${report.imports.length > 3 ? ", …" : ""})`;
  const polyglot = report.findings.find((f) => f.code === "POLYGLOT" && /\bpickle\b/.test(f.message));
  if (polyglot) return `also valid as a pickle (${polyglot.message})`;
  const nested = report.findings.find((f) => f.member !== undefined && /pickle|\.pkl$/i.test(f.member));
  if (nested) return `${report.format} with pickle data inside (${nested.member})`;
  return undefined;
}

/** Why this file is weights in a format other than safetensors, or undefined. */
export function nonSafetensorsWeights(file: string, report: FileReport): string | undefined {
  if (report.format === "safetensors") return undefined;
  const pickle = pickleReading(report);
  if (pickle !== undefined) return `not safetensors: ${pickle}`;
  if (OTHER_WEIGHT_FORMATS.has(report.format)) return `not safetensors: ${report.format} weights`;
  const ext = WEIGHT_NAME.exec(file)?.[1];
  if (ext !== undefined) return `named like weights (.${ext}) but its content is not safetensors (${report.format})`;
  return undefined;
}
