import type { Reporter } from "../findings.js";
import { classifyImport } from "../policy/classify.js";
import { quote } from "../text.js";
import { forEachObject, isJsonObject, type JsonObject, type JsonValue } from "./json.js";

/**
 * Keras model configs (config.json in a .keras zip, model_config in an HDF5 file). Loading one
 * imports every `module` it names and, for Lambda layers, may unmarshal Python bytecode
 * (CVE-2024-3660) or call any function by name (CVE-2025-1550, -8747, -9906). HDF5 files ignore
 * safe_mode altogether (CVE-2025-9905), so any Lambda there runs.
 */

export type KerasContainer = "keras-zip" | "hdf5" | "json";

/** Modules Keras itself ships; objects from elsewhere are custom code. */
const KERAS_MODULES = /^(keras|keras\.src|tf_keras|tensorflow\.keras|keras_nlp|keras_hub|keras_cv)(\.|$)/;

export function looksLikeKerasConfig(value: JsonValue): boolean {
  let found = false;
  forEachObject(value, (object) => {
    if (!found && typeof object["class_name"] === "string" && ("config" in object || "module" in object)) found = true;
  });
  return found;
}

export function checkKerasConfig(root: JsonValue, container: KerasContainer, reporter: Reporter): void {
  forEachObject(root, (object) => checkObject(object, container, reporter));
}

function checkObject(object: JsonObject, container: KerasContainer, reporter: Reporter): void {
  const className = object["class_name"];
  if (className === "__lambda__") {
    reporter.report(
      "MALICIOUS",
      "KERAS_LAMBDA_BYTECODE",
      "a __lambda__ object holds marshalled Python bytecode that Keras executes on load (CVE-2024-3660)",
    );
    return;
  }
  if (className === "Lambda" || className === "keras.layers.Lambda") {
    checkLambda(object, container, reporter);
  }
  const module = object["module"];
  if (typeof module === "string" && typeof className === "string") {
    // {"module": M, "class_name": "function", "config": NAME} names the function M.NAME.
    const name = className === "function" && typeof object["config"] === "string" ? object["config"] : className;
    checkReference(module, name, reporter);
  }
}

function checkLambda(object: JsonObject, container: KerasContainer, reporter: Reporter): void {
  const config = object["config"];
  const fn = isJsonObject(config) ? config["function"] : undefined;
  const type = isJsonObject(config) ? config["function_type"] : undefined;
  if (type === "lambda" || Array.isArray(fn) || (typeof fn === "string" && fn.length > 200)) {
    reporter.report(
      "MALICIOUS",
      "KERAS_LAMBDA_BYTECODE",
      "Lambda layer stores serialized Python bytecode (Keras 2 format), run on load",
    );
    return;
  }
  if (container === "hdf5") {
    reporter.report(
      "MALICIOUS",
      "KERAS_LAMBDA",
      "Lambda layer in an HDF5 model: HDF5 loading ignores safe_mode and runs it (CVE-2025-9905)",
    );
    return;
  }
  reporter.report(
    "WARN",
    "KERAS_LAMBDA",
    "Lambda layer: arbitrary Python at inference time; Keras refuses it in safe_mode, and safe_mode has been bypassed",
  );
}

function checkReference(module: string, name: string, reporter: Reporter): void {
  const verdict = classifyImport(module, name);
  const qualified = `${module}.${name}`;
  if (verdict.verdict === "MALICIOUS") {
    reporter.report("MALICIOUS", "KERAS_UNSAFE_MODULE", `config references ${quote(qualified)}: ${verdict.reason}`);
    return;
  }
  if (!KERAS_MODULES.test(module)) {
    reporter.report(
      "WARN",
      "KERAS_CUSTOM_OBJECT",
      `config imports ${quote(qualified)} from outside Keras; loading runs that module's code`,
    );
  }
}
