import { readFile } from "node:fs/promises";
import { UserError } from "../errors/user-error.js";
import { CHECK_NAMES, parseCheckParams } from "./checks/index.js";
import {
  CONFIG_VERSION,
  type CheckName,
  type OnFailure,
  type ValidationConfig,
  type ValidatorConfig,
  type ValidatorOrigin,
} from "./types.js";

/**
 * Reads and checks the validation config lib/validation/phase2.nix writes. The Nix side
 * already refused bad user input with messages naming the option; this is the fetcher's
 * own guard (the command can be run by hand), naming the JSON field.
 */
export async function readValidationConfig(file: string): Promise<ValidationConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new UserError(
      {
        what: `Cannot read the validation config ${file}`,
        cause: (error as NodeJS.ErrnoException).code ?? String(error),
      },
      { exitCode: 2 },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw configError(`is not JSON: ${(error as Error).message}`);
  }
  return parseValidationConfig(json);
}

const ON_FAILURE: readonly OnFailure[] = ["abort", "warn", "skip"];
const ORIGINS: readonly ValidatorOrigin[] = ["defaults.scanner", "defaults.modelscan", "validators"];

export function parseValidationConfig(json: unknown): ValidationConfig {
  const root = object(json, "the config");
  if (root["configVersion"] !== CONFIG_VERSION) {
    throw configError(
      `configVersion must be ${CONFIG_VERSION}, got ${JSON.stringify(root["configVersion"])}: the library and the fetcher are from different versions`,
    );
  }
  const validators = array(root["validators"], "validators").map((entry, index) =>
    parseValidator(entry, `validators[${index}]`),
  );
  const names = new Set<string>();
  for (const validator of validators) {
    if (names.has(validator.name)) throw configError(`two validators are named "${validator.name}"`);
    names.add(validator.name);
  }
  const shell = nullableString(root["shell"], "shell");
  if (shell === null && validators.some((v) => v.kind === "command"))
    throw configError("shell is null but there are command validators");
  return {
    configVersion: CONFIG_VERSION,
    name: string(root["name"], "name"),
    preset: nullableString(root["preset"], "preset"),
    shell,
    validators,
  };
}

function parseValidator(json: unknown, where: string): ValidatorConfig {
  const v = object(json, where);
  const name = string(v["name"], `${where}.name`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name))
    throw configError(`${where}.name ${JSON.stringify(name)} must be letters, digits and . _ + -`);
  const base = {
    name,
    description: typeof v["description"] === "string" ? v["description"] : "",
    onFailure: oneOf(v["onFailure"], ON_FAILURE, `${where}.onFailure`),
    onFailureFrom: oneOf(v["onFailureFrom"], ["validator", "global"] as const, `${where}.onFailureFrom`),
    timeout: positiveNumber(v["timeout"], `${where}.timeout`),
    timeoutFrom: oneOf(v["timeoutFrom"] ?? "global", ["validator", "global"] as const, `${where}.timeoutFrom`),
    origin: oneOf(v["origin"], ORIGINS, `${where}.origin`),
    expr: nullableString(v["expr"], `${where}.expr`),
  };
  const kind = oneOf(v["kind"], ["builtin", "command"] as const, `${where}.kind`);
  if (kind === "builtin") {
    const check = oneOf(v["check"], CHECK_NAMES, `${where}.check`) as CheckName;
    const params = object(v["params"] ?? {}, `${where}.params`);
    parseCheckParams(check, params, `${where}.params`);
    return { ...base, kind, check, params };
  }
  return { ...base, kind, command: string(v["command"], `${where}.command`), path: string(v["path"], `${where}.path`) };
}

export function configError(message: string): UserError {
  return new UserError(
    {
      what: `The validation config ${message}`,
      fix: [
        "the config is written by fetchModel's validation phase; check that the library and the fetcher package are the same version",
      ],
    },
    { exitCode: 2 },
  );
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw configError(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw configError(`${where} must be an array`);
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") throw configError(`${where} must be a non-empty string`);
  return value;
}

function nullableString(value: unknown, where: string): string | null {
  return value === null || value === undefined ? null : string(value, where);
}

function positiveNumber(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw configError(`${where} must be a positive number of seconds`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], where: string): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw configError(
      `${where} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}
