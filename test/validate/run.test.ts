/**
 * The validation run and its output, with real processes: shell validators under bash, the
 * built-in checks in child processes of the bundled fetcher (dist/, built by the global
 * setup), timeouts that kill process groups, and the validated output read back the way
 * huggingface_hub and Ollama read it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson } from "../../src/util/canonical-json.js";
import {
  parseValidationConfig,
  runValidation,
  writeValidatedOutput,
  type ValidationConfig,
} from "../../src/validate/index.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import { cliPath, runCli } from "../helpers/cli.js";
import { cleanModelFiles, corpus, writeRawHf, writeRawOllama } from "./fixtures.js";

const selfCommand = [process.execPath, cliPath];
const PATH = "/usr/local/bin:/usr/bin:/bin";

let root: string;
let cleanRaw: string;
let evilRaw: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nmr-validate-run-"));
  cleanRaw = (await writeRawHf(join(root, "clean"), cleanModelFiles())).folder;
  evilRaw = (
    await writeRawHf(join(root, "evil"), { ...cleanModelFiles(), "pytorch_model.bin": corpus("m17-torch-zip.pt") })
  ).folder;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Spec = { name: string; onFailure?: "abort" | "warn" | "skip"; timeout?: number } & (
  | { command: string }
  | { check: string; params?: object }
);

function config(specs: readonly Spec[], preset: string | null = null): ValidationConfig {
  return parseValidationConfig({
    configVersion: 1,
    name: "tiny",
    preset,
    shell: "/bin/bash",
    validators: specs.map((s) => ({
      name: s.name,
      description: "",
      onFailure: s.onFailure ?? "abort",
      onFailureFrom: s.onFailure === undefined ? "global" : "validator",
      timeout: s.timeout ?? 60,
      timeoutFrom: s.timeout === undefined ? "global" : "validator",
      origin: "validators",
      expr: null,
      ...("command" in s
        ? { kind: "command", command: s.command, path: PATH }
        : { kind: "builtin", check: s.check, params: s.params ?? {} }),
    })),
  });
}

async function run(raw: string, specs: readonly Spec[], options: { outGuard?: string } = {}) {
  const lines: string[] = [];
  const result = await runValidation(config(specs), raw, {
    selfCommand,
    log: (line) => lines.push(line),
    tmpDir: root,
    ...options,
  });
  return { ...result, log: lines.join("\n") };
}

describe("shell validators", () => {
  it("see the snapshot view as $src, a scratch HOME, no $out, and their exit status decides", async () => {
    const probe = [
      'test "$(cat "$src/config.json")" = \'{"model_type":"tiny","hidden_size":4}\'',
      'test -L "$src/model.safetensors"',
      'test "$HOME" = "$TMPDIR" && test "$PWD" = "$HOME" && touch "$HOME/scratch-file"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own ${out:-}, not a template
      'test -z "${out:-}"',
      'test "$NMR_LAYOUT" = huggingface && test -f "$NMR_RAW/.nix-model-repo-meta.json" && test "$NMR_MODEL_NAME" = tiny',
      'echo "src is $src"',
    ].join("\n");
    const passed = await run(cleanRaw, [{ name: "probe", command: probe }]);
    expect(passed.aborted).toBeUndefined();
    expect(passed.report.validators).toEqual([
      { name: "probe", check: "command", onFailure: "abort", outcome: "pass", status: "passed", findings: [] },
    ]);
    expect(passed.log).toContain(`[probe] src is ${passed.view.root}`);

    const failed = await run(cleanRaw, [{ name: "exit-7", command: "echo checking; exit 7" }]);
    expect(failed.aborted?.validator.name).toBe("exit-7");
    expect(failed.report.validators[0]).toMatchObject({
      outcome: "fail",
      status: "failed",
      findings: [{ file: null, reason: "exited with status 7" }],
    });
  });

  it("report findings through $NMR_FINDINGS", async () => {
    const result = await run(cleanRaw, [
      {
        name: "vocab",
        onFailure: "warn",
        command:
          "printf 'config.json\\tvocab too large\\nsomething about the whole model\\n' >> \"$NMR_FINDINGS\"; exit 1",
      },
    ]);
    expect(result.report.validators[0]!.findings).toEqual([
      { file: "config.json", reason: "vocab too large" },
      { file: null, reason: "something about the whole model" },
    ]);
    expect(result.log).toContain('warning: validator vocab failed (onFailure = "warn", the build goes on): 2 findings');
    expect(result.log).toContain("    config.json: vocab too large");
  });

  it("are killed with everything they started when they time out", async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 4000}`;
    const started = Date.now();
    const result = await run(cleanRaw, [{ name: "slow", timeout: 0.5, command: `sleep ${marker} & sleep ${marker}` }]);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(result.aborted).toMatchObject({ timedOut: true });
    expect(result.report.validators[0]!.findings[0]!.reason).toMatch(/^timed out after 0.5 s/);
    const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(`sleep ${marker}`));
    expect(left).toEqual([]);
  });

  it("may not create the output path", async () => {
    const out = join(root, "guarded-out");
    await expect(run(cleanRaw, [{ name: "writer", command: `mkdir ${out}` }], { outGuard: out })).rejects.toThrow(
      /Validator writer created the output path/,
    );
  });
});

describe("onFailure", () => {
  it("abort stops at the first failure: later validators do not run", async () => {
    const result = await run(evilRaw, [
      { name: "scanner", check: "scanner", params: { failOn: "INVALID", warnOn: "WARN" } },
      { name: "loads-the-model", command: "echo LOADED" },
    ]);
    expect(result.aborted?.validator.name).toBe("scanner");
    expect(result.report.validators.map((v) => v.name)).toEqual(["scanner"]);
    expect(result.report.result).toBe("failed");
    expect(result.log).not.toContain("LOADED");
    expect(result.log).toContain("error: validator scanner failed: 2 findings (below)");
    expect(result.aborted?.result.findings.map((f) => f.file)).toEqual(["pytorch_model.bin", "pytorch_model.bin"]);
  });

  it("warn logs the findings and goes on; skip goes on without a word", async () => {
    const warned = await run(evilRaw, [
      { name: "scanner", onFailure: "warn", check: "scanner" },
      { name: "next", command: "true" },
    ]);
    expect(warned.aborted).toBeUndefined();
    expect(warned.report.result).toBe("warned");
    expect(warned.report.validators.map((v) => v.status)).toEqual(["warned", "passed"]);
    expect(warned.log).toContain("warning: validator scanner failed");

    const skipped = await run(evilRaw, [
      { name: "scanner", onFailure: "skip", check: "scanner" },
      { name: "next", command: "true" },
    ]);
    expect(skipped.report.result).toBe("passed");
    expect(skipped.report.validators[0]).toMatchObject({ status: "skipped", outcome: "fail" });
    expect(skipped.log).not.toMatch(/warning|error|MALICIOUS/);
  });
});

describe("built-in checks in child processes", () => {
  it("fail closed when they time out", async () => {
    const result = await run(cleanRaw, [{ name: "scanner", check: "scanner", timeout: 0.001 }]);
    expect(result.aborted?.timedOut).toBe(true);
    expect(result.report.validators[0]!.findings[0]!.reason).toMatch(/^timed out after 0.001 s/);
  });

  it("give a report that does not change from one run to the next", async () => {
    const specs: Spec[] = [
      { name: "scanner", check: "scanner", onFailure: "warn" },
      { name: "no-pickle", check: "noPickleFiles", onFailure: "warn" },
      { name: "license", check: "licenseCheck", params: { allow: ["apache-2.0"] } },
      { name: "size", check: "maxSize", params: { limit: "1M", bytes: 1 << 20 } },
    ];
    const first = await run(evilRaw, specs);
    const second = await run(evilRaw, specs);
    expect(first.report.validators.map((v) => v.status)).toEqual(["warned", "warned", "passed", "passed"]);
    expect(canonicalJson(second.report)).toBe(canonicalJson(first.report));
    expect(canonicalJson(first.report)).not.toMatch(/\/tmp|nmr-validate/);
  });
});

describe("the validated output", () => {
  it("links every top-level entry into the raw output, and huggingface_hub finds every file through it", async () => {
    const result = await run(cleanRaw, [{ name: "scanner", check: "scanner" }]);
    const out = join(root, "hf-out");
    await writeValidatedOutput(cleanRaw, out, result.view.meta, result.report);
    const entries = (await readdir(out)).sort();
    expect(entries).toEqual([".nix-model-repo-meta.json", "blobs", "refs", "snapshots"]);
    for (const entry of entries.slice(1)) {
      expect((await lstat(join(out, entry))).isSymbolicLink()).toBe(true);
      expect(await readlink(join(out, entry))).toBe(join(cleanRaw, entry));
    }
    const rawMeta = JSON.parse(await readFile(join(cleanRaw, ".nix-model-repo-meta.json"), "utf8"));
    const meta = JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta).toEqual({ ...rawMeta, validation: result.report });

    const cache = join(root, "hub-cache");
    await mkdir(cache);
    await symlink(out, join(cache, "models--acme--tiny"));
    const expected = Object.fromEntries(
      Object.entries(cleanModelFiles()).map(([path, content]) => [path, Buffer.from(content)]),
    );
    await assertEveryFileFoundOffline(cache, "acme/tiny", expected);
  });

  it("works for any layout: an Ollama output keeps manifests/ and blobs/", async () => {
    const raw = await writeRawOllama(join(root, "ollama"), [
      { mediaType: "application/vnd.ollama.image.model", content: corpus("b7-model.gguf") },
    ]);
    const result = await run(raw, [
      { name: "scanner", check: "scanner" },
      {
        name: "sees-manifests",
        command: 'test -f "$src/manifests/registry.ollama.ai/library/tiny/1" && test "$src" = "$NMR_RAW"',
      },
    ]);
    expect(result.report.result).toBe("passed");
    const out = join(root, "ollama-out");
    await writeValidatedOutput(raw, out, result.view.meta, result.report);
    expect((await readdir(out)).sort()).toEqual([".nix-model-repo-meta.json", "blobs", "manifests"]);
    expect(existsSync(join(out, "manifests/registry.ollama.ai/library/tiny/1"))).toBe(true);
  });
});

describe("nix-model-repo validate", () => {
  it("prints the report without --out, and exits 1 with the findings when a validator aborts", async () => {
    const file = join(root, "cli-config.json");
    const write = (specs: readonly Spec[]) =>
      import("node:fs/promises").then((fs) => fs.writeFile(file, JSON.stringify(config(specs))));
    await write([{ name: "scanner", check: "scanner" }]);
    const clean = await runCli(["validate", "--config", file, "--src", cleanRaw], { env: { out: "" } });
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ reportVersion: 1, result: "passed" });

    const evil = await runCli(["validate", "--config", file, "--src", evilRaw]);
    expect(evil.code).toBe(1);
    expect(JSON.parse(evil.stdout)).toMatchObject({ result: "failed", validators: [{ status: "failed" }] });
    expect(evil.stderr).toContain(`error: Validation of model "tiny" failed: validator scanner refused it`);
    expect(evil.stderr).toContain("pytorch_model.bin: MALICIOUS");
  });

  it("is a usage error without a config or on a folder that is not a raw output", async () => {
    expect((await runCli(["validate"], { env: { configPath: "", src: "" } })).code).toBe(2);
    const file = join(root, "cli-config-2.json");
    await import("node:fs/promises").then((fs) =>
      fs.writeFile(file, JSON.stringify(config([{ name: "s", check: "scanner" }]))),
    );
    const notRaw = await runCli(["validate", "--config", file, "--src", root]);
    expect(notRaw.code).toBe(2);
    expect(notRaw.stderr).toContain("is not a raw model output");
    const badConfig = await runCli([
      "validate",
      "--config",
      join(cleanRaw, ".nix-model-repo-meta.json"),
      "--src",
      cleanRaw,
    ]);
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toContain("configVersion must be 1");
  });
});
