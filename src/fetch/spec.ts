import { readFile } from "node:fs/promises";
import { UserError } from "../errors/user-error.js";
import { parseAuth, type AuthSpec } from "../spec/auth.js";
import { FieldReader, invalid } from "../spec/fields.js";
import { parseNetwork, type NetworkSpec } from "../spec/network.js";
import { parseFailure, type FailureSpec } from "../spec/on-failure.js";
import { parseSourceSpec, type SourceSpec } from "../sources/registry.js";
import { type FetchSelection, parseSelection } from "./selection.js";

/**
 * The fetch spec: the JSON the Nix library writes (builtins.toJSON, passed with
 * passAsFile) and `nix-model-repo fetch` reads. It never holds a secret: tokens come
 * from the environment or a token file named here. See docs/spec.md.
 *
 * The blocks every spec has are read by src/spec; the source block by the source's own
 * reader, found in the registry (src/sources/registry.ts). This module puts them together.
 */
export const SPEC_VERSION = 1;

export interface FetchSpec {
  readonly specVersion: typeof SPEC_VERSION;
  readonly name: string;
  readonly source: SourceSpec;
  readonly network: NetworkSpec;
  readonly auth: AuthSpec;
  readonly onFailure: FailureSpec;
  /** Only these files of a locked model, pinned (selection.ts); null: the whole model in its layout. */
  readonly select: FetchSelection | null;
}

export async function readSpecFile(path: string): Promise<FetchSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UserError({ what: `Cannot read the fetch spec ${path}`, cause: String((error as Error).message) });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError({ what: `The fetch spec ${path} is not valid JSON`, cause: (error as Error).message });
  }
  return parseSpec(json);
}

export function parseSpec(json: unknown): FetchSpec {
  const root = FieldReader.root(json, "spec");
  const version = root.number("specVersion", { min: 0, integer: true, fallback: -1 });
  if (version !== SPEC_VERSION) {
    throw new UserError(
      {
        what: `This fetcher reads fetch spec version ${SPEC_VERSION}, but the spec says ${version === -1 ? "nothing" : version}`,
        fix: ["Use the fetcher package that comes with this version of the Nix library, or update both together."],
      },
      { code: "NMR_BAD_SPEC" },
    );
  }
  const name = root.string("name");
  if (!/^[A-Za-z0-9+\-._?=][A-Za-z0-9+\-._?=]*$/.test(name) || name.startsWith(".")) {
    throw invalid(
      "spec.name",
      "must be a valid Nix store name (letters, digits, + - . _ ? =; not starting with a dot)",
      name,
    );
  }
  const spec: FetchSpec = {
    specVersion: SPEC_VERSION,
    name,
    source: parseSourceSpec(root.object("source")),
    network: parseNetwork(root.optionalObject("network")),
    auth: parseAuth(root.optionalObject("auth")),
    onFailure: parseFailure(root.optionalObject("onFailure")),
    select: readSelection(root),
  };
  root.done();
  return spec;
}

function readSelection(root: FieldReader): FetchSelection | null {
  const select = root.nullableObject("select");
  return select === null ? null : parseSelection(select);
}
