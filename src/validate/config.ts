import { readFile } from "node:fs/promises";
import type { SpecDocument } from "../errors/failures.js";
import { SpecFailure } from "../errors/failures.js";
import { UserError } from "../errors/user-error.js";
import { FieldReader } from "../spec/fields.js";
import { CHECK_NAMES, parseCheckParams } from "./checks/index.js";
import {
  CONFIG_VERSION,
  type OnFailure,
  type ValidationConfig,
  type ValidatorConfig,
  type ValidatorOrigin,
} from "./types.js";

/**
 * Reads and checks the validation config lib/validation/phase2.nix writes, with the same
 * field reader as the fetch spec (src/spec/fields.ts): every field named, unknown ones
 * refused. The Nix side already refused bad user input with messages naming the option;
 * this is the fetcher's own guard (the command can be run by hand), naming the JSON field.
 */
const VALIDATION_CONFIG: SpecDocument = {
  title: "validation config",
  fix: [
    "The config is written by fetchModel's validation phase: check that the library and the fetcher package are the same version.",
  ],
  help: "docs/validation.md",
  exitCode: 2,
};

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
    throw new SpecFailure(VALIDATION_CONFIG, `${file} is not JSON: ${(error as Error).message}`);
  }
  return parseValidationConfig(json);
}

const ON_FAILURE: readonly OnFailure[] = ["abort", "warn", "skip"];
const ORIGINS: readonly ValidatorOrigin[] = ["defaults.scanner", "defaults.modelscan", "validators"];
const FROM = ["validator", "global"] as const;
const VALIDATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

export function parseValidationConfig(json: unknown): ValidationConfig {
  const root = FieldReader.root(json, "", VALIDATION_CONFIG);
  const version = root.number("configVersion", { min: 0, integer: true, fallback: -1 });
  if (version !== CONFIG_VERSION) {
    throw root.refuse(
      "configVersion",
      `must be ${CONFIG_VERSION}: the library and the fetcher are from different versions`,
      version === -1 ? undefined : version,
    );
  }
  const config: ValidationConfig = {
    configVersion: CONFIG_VERSION,
    name: root.string("name"),
    preset: root.optionalString("preset"),
    shell: root.optionalString("shell"),
    validators: root.objectList("validators", parseValidator),
    linkRoots: (root.optionalStringList("linkRoots") ?? []).map((path, index) => {
      if (!path.startsWith("/") || path.split("/").includes(".."))
        throw root.refuse(`linkRoots[${index}]`, "must be an absolute store path", path);
      return path;
    }),
  };
  root.done();
  const names = new Set<string>();
  for (const [index, validator] of config.validators.entries()) {
    if (names.has(validator.name)) throw root.refuse(`validators[${index}].name`, "must be unique", validator.name);
    names.add(validator.name);
  }
  if (config.shell === null && config.validators.some((v) => v.kind === "command"))
    throw root.refuse("shell", "must name bash when there are command validators", null);
  return config;
}

function parseValidator(r: FieldReader): ValidatorConfig {
  const name = r.string("name");
  if (!VALIDATOR_NAME.test(name)) throw r.refuse("name", "must be letters, digits and . _ + -", name);
  const timeout = r.number("timeout", { min: 0 });
  if (!(timeout > 0)) throw r.refuse("timeout", "must be a positive number of seconds", timeout);
  const base = {
    name,
    description: r.text("description", ""),
    onFailure: r.choice("onFailure", ON_FAILURE),
    onFailureFrom: r.choice("onFailureFrom", FROM),
    timeout,
    timeoutFrom: r.choice("timeoutFrom", FROM, "global"),
    origin: r.choice("origin", ORIGINS),
    expr: r.optionalString("expr"),
  };
  const kind = r.choice("kind", ["builtin", "command"] as const);
  if (kind === "builtin") {
    const check = r.choice("check", CHECK_NAMES);
    const params = r.record("params");
    parseCheckParams(check, params, r.path("params"));
    return { ...base, kind, check, params };
  }
  return { ...base, kind, command: r.string("command"), path: r.string("path") };
}
