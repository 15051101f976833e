import type { ValidatorFinding } from "../types.js";
import type { ViewFile } from "../view.js";
import { noParams, type Check } from "./check.js";
import { readHead, readJson } from "./read.js";

/**
 * No Python shipped with the model and none it asks to load:
 * - Python files by name (`.py`, `.pyc`, …) and by content (a `#!…python` script,
 *   CPython bytecode's magic number), whatever they are called;
 * - `auto_map` in a JSON config: transformers imports the classes it names (from this
 *   repo or another one) when loaded with trust_remote_code=True.
 * Pickles are the scanner's and noPickleFiles' business, not this check's.
 */
const PYTHON_NAME = /\.(py|pyc|pyo|pyw|pyz|pyd)$/i;
/** JSON files are parsed up to this size; model configs are kilobytes. */
const MAX_CONFIG_BYTES = 64 << 20;

export const noPythonCodeCheck: Check<Record<string, never>> = {
  parse: noParams,
  async run(view) {
    const findings: ValidatorFinding[] = [];
    for (const file of view.files) {
      const reason = (await pythonByNameOrContent(file)) ?? (await remoteCode(file));
      if (reason !== undefined) findings.push({ file: file.path, reason });
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings };
  },
};

async function pythonByNameOrContent(file: ViewFile): Promise<string | undefined> {
  const ext = PYTHON_NAME.exec(file.path)?.[1];
  if (ext !== undefined) return `Python code (.${ext})`;
  const head = await readHead(file.realPath, 128);
  if (head[0] === 0x23 && head[1] === 0x21) {
    const firstLine = head.toString("latin1").split("\n", 1)[0] ?? "";
    if (/python/i.test(firstLine)) return `a Python script (${firstLine.trim()})`;
  }
  // CPython .pyc: a 2-byte little-endian magic number (3000-3999 for Python 3) then "\r\n".
  if (head.length >= 16 && head[2] === 0x0d && head[3] === 0x0a) {
    const magic = head.readUInt16LE(0);
    if (magic >= 3000 && magic < 4000) return `CPython bytecode (magic number ${magic})`;
  }
  return undefined;
}

async function remoteCode(file: ViewFile): Promise<string | undefined> {
  if (!file.path.toLowerCase().endsWith(".json") || file.size > MAX_CONFIG_BYTES) return undefined;
  const json = await readJson(file.realPath);
  if (!json.ok || typeof json.value !== "object" || json.value === null || Array.isArray(json.value)) return undefined;
  const autoMap = (json.value as Record<string, unknown>)["auto_map"];
  if (autoMap === undefined) return undefined;
  const targets =
    typeof autoMap === "object" && autoMap !== null
      ? Object.values(autoMap)
          .flat()
          .filter((v): v is string => typeof v === "string")
      : [];
  return `auto_map: loading with trust_remote_code=True imports Python code${targets.length > 0 ? ` (${targets.slice(0, 3).join(", ")}${targets.length > 3 ? ", …" : ""})` : ""}`;
}
