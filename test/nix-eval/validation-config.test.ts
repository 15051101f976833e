/**
 * fetchModel's `validation` option and lib.validation, evaluated by real Nix with the
 * stand-in pkgs: presets as plain data, the validators that will run, the phase-2
 * derivation's shape, and clear refusals that name the option.
 */
import { describe, expect, it } from "vitest";
import { libPrelude, nixAvailable, nixEval } from "../helpers/nix.js";

const goodHash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const base = `name = "tiny"; source.huggingface = { repo = "acme/tiny"; files = [ "*.json" ]; }; hash = "${goodHash}";`;

const prelude = `${libPrelude} let inherit (nmr.validation) presets validators mkValidator; model = extra: nmr.fetchModel ({ ${base} } // extra); in`;

async function value(expression: string): Promise<unknown> {
  const result = await nixEval(`${prelude} ${expression}`);
  expect(result.stderr).not.toContain("error:");
  return result.value;
}

async function evalError(validation: string): Promise<string> {
  const result = await nixEval(`${prelude} (model { validation = ${validation}; }).drvPath`);
  expect(result.ok).toBe(false);
  return result.stderr;
}

/** The validators that will run: name, onFailure (and where it came from), timeout. */
const summary = (validation: string) =>
  value(
    `map (v: { inherit (v) name onFailure onFailureFrom timeout origin; }) (model { validation = ${validation}; }).validation.validators`,
  );

describe.skipIf(!nixAvailable)("fetchModel validation (nix-instantiate, stand-in pkgs)", () => {
  it("validates with the standard preset by default: phase 2 is named `name`, passthru.raw is the FOD", async () => {
    expect(
      await value(`let m = model { }; in {
        inherit (m) name;
        rawName = m.raw.name;
        rawIsFixedOutput = m.raw.drvAttrs ? outputHash;
        phase2IsFixedOutput = m.drvAttrs ? outputHash;
        src = "\${m.drvAttrs.src}" == m.raw.outPath;
        preset = m.validation.preset;
        modelInfo = m.modelInfo.repo;
        metaFile = m.metaFile == "\${m.outPath}/.nix-model-repo-meta.json";
        args = m.drvAttrs.args;
      }`),
    ).toEqual({
      name: "tiny",
      rawName: "tiny-raw",
      rawIsFixedOutput: true,
      phase2IsFixedOutput: false,
      src: true,
      preset: "standard",
      modelInfo: "acme/tiny",
      metaFile: true,
      args: ["validate"],
    });
    expect(await summary("{ }")).toEqual([
      { name: "scanner", onFailure: "abort", onFailureFrom: "global", timeout: 300, origin: "defaults.scanner" },
    ]);
  });

  it("gives the raw download itself when validation is off", async () => {
    for (const off of ["presets.none", "{ enable = false; }", `{ preset = "none"; }`]) {
      expect(
        await value(
          `let m = model { validation = ${off}; }; in [ m.name (m.outPath == m.raw.outPath) m.validation.enable m.validation.validators ]`,
        ),
      ).toEqual(["tiny-raw", true, false, []]);
    }
  });

  it("exports presets as plain data that extend with //", async () => {
    expect(await value(`builtins.attrNames presets`)).toEqual(["minimal", "none", "paranoid", "standard", "strict"]);
    expect(await value(`map (v: v.name) presets.paranoid.validators`)).toEqual([
      "no-pickle",
      "safetensors-only",
      "no-python-code",
      "license-check",
    ]);
    const extended = await summary(
      `presets.strict // { timeout = 900; validators = presets.strict.validators ++ [ (validators.maxSize "20G") ]; }`,
    );
    expect((extended as Array<{ name: string; timeout: number }>).map((v) => [v.name, v.timeout])).toEqual([
      ["scanner", 900],
      ["no-pickle", 900],
      ["safetensors-only", 900],
      ["license-check", 900],
      ["max-size-20G", 900],
    ]);
    // `preset = "strict"` starts from the preset just as `presets.strict // ...` does.
    expect(await summary(`{ preset = "strict"; timeout = 900; }`)).toEqual(
      await summary("presets.strict // { timeout = 900; }"),
    );
  });

  it("lets a validator's own onFailure and timeout win over the global ones", async () => {
    expect(
      await summary(
        `{ onFailure = "warn"; timeout = 60; validators = [ (validators.noPickleFiles // { onFailure = "abort"; timeout = 5; }) (validators.custom { name = "c"; script = "true"; onFailure = "skip"; }) ]; }`,
      ),
    ).toEqual([
      { name: "scanner", onFailure: "warn", onFailureFrom: "global", timeout: 60, origin: "defaults.scanner" },
      { name: "no-pickle", onFailure: "abort", onFailureFrom: "validator", timeout: 5, origin: "validators" },
      { name: "c", onFailure: "skip", onFailureFrom: "validator", timeout: 60, origin: "validators" },
    ]);
    expect(
      await value(
        `map (v: v.timeoutFrom) (model { validation.validators = [ (validators.noPickleFiles // { timeout = 5; }) ]; }).validation.validators`,
      ),
    ).toEqual(["global", "validator"]);
  });

  it("tunes or drops the default scanner, and adds modelscan when asked", async () => {
    expect(
      await value(
        `(builtins.head (model { validation.defaults.scanner = { failOn = "MALICIOUS"; }; }).validation.validators).params`,
      ),
    ).toEqual({
      failOn: "MALICIOUS",
      warnOn: "WARN",
      limits: {},
    });
    expect(await summary(`{ defaults.scanner = false; }`)).toEqual([]);
    expect(await summary(`{ skipDefaults = true; defaults.modelscan = true; }`)).toEqual([]);
    expect(await summary(`{ defaults.modelscan = true; }`)).toMatchObject([
      { name: "scanner" },
      { name: "modelscan", origin: "defaults.modelscan" },
    ]);
  });

  it("writes the config the fetcher reads, with validators' runtimeInputs and the basic tools on PATH", async () => {
    const config =
      (await value(`builtins.fromJSON (builtins.unsafeDiscardStringContext (model { validation.validators = [
      (mkValidator { name = "has-config"; command = "test -f $src/config.json"; runtimeInputs = [ pkgs.nix-model-repo-dev ]; })
      validators.modelscan
    ];}).drvAttrs.config)`)) as { shell: string; validators: Array<Record<string, unknown>> };
    expect(config.shell).toMatch(/^\/nix\/store\/[a-z0-9]{32}-bash-host\/bin\/bash$/);
    expect(config.validators.map((v) => [v["name"], v["kind"]])).toEqual([
      ["scanner", "builtin"],
      ["has-config", "command"],
      ["modelscan", "command"],
    ]);
    const [, own, modelscan] = config.validators;
    expect((own!["path"] as string).split(":").map((p) => p.replace(/^\/nix\/store\/[a-z0-9]{32}-/, ""))).toEqual([
      "nix-model-repo-dev/bin",
      "coreutils-host/bin",
      "findutils-host/bin",
      "gnugrep-host/bin",
      "gnused-host/bin",
      // jq's `bin` output: the design's custom validators read config.json with jq.
      "jq-host-bin/bin",
    ]);
    expect(modelscan!["path"] as string).toMatch(/-modelscan\/bin:/);
    // A model without shell validators needs no bash at all.
    expect(
      await value(`(builtins.fromJSON (builtins.unsafeDiscardStringContext (model { }).drvAttrs.config)).shell`),
    ).toBeNull();
  });

  it("reads maxSize limits with 1024-based and SI units", async () => {
    expect(
      await value(`map (l: (validators.maxSize l).params.bytes) [ "20G" "1.5G" "20GiB" "500MB" "2K" "123" "7B" ]`),
    ).toEqual([21474836480, 1610612736, 21474836480, 500000000, 2048, 123, 7]);
  });

  it("refuses unknown and malformed options, naming them", async () => {
    expect(await evalError(`{ valdators = [ ]; }`)).toMatch(
      /unknown option validation\.valdators\. Did you mean 'validators'\?/,
    );
    expect(await evalError(`{ onFailure = "ignore"; }`)).toContain(
      `validation.onFailure must be one of "abort", "warn", "skip"`,
    );
    expect(await evalError(`{ preset = "lenient"; }`)).toContain("validation.preset must be one of");
    expect(await evalError(`{ timeout = 0; }`)).toContain("validation.timeout must be a positive number of seconds");
    expect(await evalError(`{ validators = [ (validators.maxSize "20X") ]; }`)).toMatch(
      /validators\.maxSize: the size must be a number with an optional unit/,
    );
    expect(await evalError(`{ validators = [ (validators.noPickleFiles // { onFailure = "later"; }) ]; }`)).toContain(
      `validation.validators[0] (no-pickle).onFailure must be one of "abort", "warn", "skip"`,
    );
    expect(await evalError(`{ validators = [ { name = "x"; } ]; }`)).toContain(
      "validation.validators[0] (x) has neither a command nor a check",
    );
    expect(await evalError(`{ validators = [ { name = "x"; command = "true"; comand = "y"; } ]; }`)).toContain(
      "unknown option validation.validators[0].comand",
    );
    expect(await evalError(`{ validators = [ validators.noPickleFiles validators.noPickleFiles ]; }`)).toContain(
      `two validators are named "no-pickle"`,
    );
    expect(await evalError(`{ validators = [ validators.scanner ]; }`)).toContain(
      "validation.defaults.scanner already runs it",
    );
    expect(await evalError(`{ validators = [ (validators.licenseCheck { allow = [ ]; }) ]; }`)).toContain(
      "validators.licenseCheck: allow must be",
    );
    // Checked even when validation is off.
    expect(await evalError(`{ enable = false; validators = [ (validators.custom { script = "true"; }) ]; }`)).toContain(
      "validators.custom: name is missing",
    );
  });

  it("accepts the design's defaults.checksums as satisfied by the fixed-output hash, and refuses to turn it off", async () => {
    const defaults = (await value(`(model { validation.defaults.checksums = true; }).validation.defaults`)) as Record<
      string,
      unknown
    >;
    expect(defaults["checksums"]).toBe("the fixed-output hash: Nix verifies every byte of the download");
    expect(await evalError(`{ defaults.checksums = false; }`)).toContain(
      "validation.defaults.checksums = false cannot turn off Nix's check of the fixed-output hash",
    );
  });

  it("reads the design's defaults.pickleScan as the scanner, which reads every pickle", async () => {
    expect(await summary(`{ defaults.pickleScan = true; }`)).toMatchObject([
      { name: "scanner", origin: "defaults.scanner" },
    ]);
    expect(await summary(`{ defaults = { pickleScan = false; modelscan = false; checksums = true; }; }`)).toEqual([]);
    expect(
      await value(
        `(model { validation.defaults = { pickleScan = true; scanner = { failOn = "MALICIOUS"; }; }; }).validation.defaults.scanner.failOn`,
      ),
    ).toBe("MALICIOUS");
    expect(await evalError(`{ defaults = { pickleScan = true; scanner = false; }; }`)).toContain(
      "validation.defaults.pickleScan = true contradicts validation.defaults.scanner = false",
    );
  });

  it("refuses the design's signatureVerify and says why", async () => {
    expect(await evalError(`{ validators = [ validators.signatureVerify ]; }`)).toContain(
      "validators.signatureVerify does not exist",
    );
  });

  it("mkValidator wants a command", async () => {
    const result = await nixEval(`${prelude} mkValidator { name = "x"; }`);
    expect(result.stderr).toContain("mkValidator: mkValidator's argument (x) has neither a command nor a check");
  });
});
