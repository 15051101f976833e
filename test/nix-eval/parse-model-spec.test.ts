/**
 * One grammar for model spec strings: the table in model-specs.json, run through the CLI's
 * parser (what `nix-model-repo prefetch TARGET` reads) and through lib.parseModelSpec (what
 * a Nix file reads). Both must give the table's name and `source`, or both refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTarget } from "../../src/cli/commands/prefetch.js";
import { libPrelude, nixAvailable, nixEval, repoRoot } from "../helpers/nix.js";

interface Flags {
  readonly files?: string[];
  readonly endpoint?: string;
  readonly repoType?: string;
  readonly region?: string;
  readonly unpack?: boolean;
}

interface SpecEntry {
  readonly target: string;
  readonly flags?: Flags;
  readonly name?: string;
  readonly source?: Record<string, Record<string, unknown>>;
  readonly error?: true;
}

const table = JSON.parse(readFileSync(join(repoRoot, "test", "nix-eval", "model-specs.json"), "utf8")) as {
  specs: SpecEntry[];
};

function label(entry: SpecEntry): string {
  return `${entry.target}${entry.flags ? ` ${JSON.stringify(entry.flags)}` : ""}`;
}

/** The CLI's reading: its parser, with the flags as `prefetch` passes them. */
function parseWithCli(entry: SpecEntry): { name: string; source: Record<string, unknown> } {
  const flags = entry.flags ?? {};
  const target = parseTarget(entry.target, {
    files: flags.files,
    endpoint: flags.endpoint,
    repoType: flags.repoType,
    region: flags.region,
    unpack: flags.unpack ?? false,
  });
  return { name: target.defaultName, source: { [target.nixAttribute]: target.nixValue } };
}

function nixArgument(entry: SpecEntry): string {
  if (!entry.flags) return JSON.stringify(entry.target);
  return `(builtins.fromJSON ${JSON.stringify(JSON.stringify({ target: entry.target, ...entry.flags }))})`;
}

describe("model spec strings: the CLI's parser", () => {
  const saved = process.env["MLFLOW_TRACKING_URI"];
  beforeAll(() => {
    // Its fallback for the tracking server; the table gives it as a flag.
    delete process.env["MLFLOW_TRACKING_URI"];
  });
  afterAll(() => {
    if (saved !== undefined) process.env["MLFLOW_TRACKING_URI"] = saved;
  });

  for (const entry of table.specs) {
    it(`${entry.error ? "refuses" : "reads"} ${label(entry)}`, () => {
      if (entry.error) expect(() => parseWithCli(entry)).toThrow();
      else expect(parseWithCli(entry)).toEqual({ name: entry.name, source: entry.source });
    });
  }
});

describe.skipIf(!nixAvailable)("model spec strings: lib.parseModelSpec", () => {
  it("reads every entry of the table as the CLI does", async () => {
    const good = table.specs.filter((entry) => !entry.error);
    const result = await nixEval(`${libPrelude} map nmr.parseModelSpec [ ${good.map(nixArgument).join(" ")} ]`);
    expect(result.stderr, result.stderr).not.toContain("error:");
    const parsed = result.value as unknown[];
    good.forEach((entry, i) => {
      expect(parsed[i], label(entry)).toEqual({ name: entry.name, source: entry.source });
    });
  });

  it("refuses every entry the CLI refuses, naming the grammar", async () => {
    for (const entry of table.specs.filter((e) => e.error)) {
      const result = await nixEval(`${libPrelude} nmr.parseModelSpec ${nixArgument(entry)}`);
      expect(result.ok, label(entry)).toBe(false);
      expect(result.stderr, label(entry)).toMatch(/parseModelSpec: /);
    }
  });

  it("gives fetchModel what it needs: a parsed spec plus a hash is a model", async () => {
    const result = await nixEval(`${libPrelude} let
        model = nmr.fetchModel (nmr.parseModelSpec "hf:acme/tiny@v1" // { hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; });
      in { inherit (model) name; source = model.spec.source; }`);
    expect(result.value).toEqual({
      name: "tiny",
      source: {
        type: "huggingface",
        repo: "acme/tiny",
        repoType: "model",
        revision: "v1",
        files: null,
        endpoint: null,
      },
    });
  });
});
