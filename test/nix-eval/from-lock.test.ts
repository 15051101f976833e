/**
 * lib.fromLock at evaluation (stand-in pkgs; nothing is built): the lock read with
 * builtins.fromJSON and checked, a hand-edited lock refused naming the entry and the
 * field, per-entry overrides, the derivations underneath (one per large file, named by
 * content; one for the small files; the specs pinned to what the lock resolved), and the
 * same from the flake (`nix-model-repo.lib.fromLock pkgs ./models.lock.json`).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serializeLockFile } from "../../src/lockfile/index.js";
import { hubEntry, lockOf, ollamaEntry, sha256Of } from "../lockfile/fixtures.js";
import { libPrelude, nixAvailable, nixEval, nixReadableTempDir, repoRoot } from "../helpers/nix.js";

// biome-ignore lint/suspicious/noExplicitAny: a hand edit reaches anywhere in the JSON.
type HandEdited = Record<string, any>;

async function lockFile(edit: (json: HandEdited) => void = () => {}): Promise<string> {
  const json = JSON.parse(serializeLockFile(lockOf({ tiny: hubEntry(), llama: ollamaEntry() })));
  edit(json);
  const file = join(await nixReadableTempDir("nmr-from-lock-"), "models.lock.json");
  await writeFile(file, JSON.stringify(json));
  return file;
}

async function value<T>(expression: string): Promise<T> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.stderr, result.stderr).not.toContain("error:");
  return result.value as T;
}

async function evalError(expression: string): Promise<string> {
  const result = await nixEval(`${libPrelude} ${expression}`);
  expect(result.ok, `evaluated, but should have failed: ${expression}`).toBe(false);
  return result.stderr;
}

describe.skipIf(!nixAvailable)("lib.fromLock", () => {
  it("gives each entry as a model with fetchModel's passthru, and its files as fixed-output derivations", async () => {
    const file = await lockFile();
    const weights = sha256Of("weights");
    const v = await value<Record<string, unknown>>(`let
        models = nmr.fromLock ${file};
        tiny = models.tiny;
        blob = tiny.lockedFiles.blobs."${weights}";
        spec = builtins.fromJSON blob.spec;
        smallSpec = builtins.fromJSON tiny.lockedFiles.smallFiles.spec;
      in {
        names = builtins.attrNames models;
        name = tiny.name;
        raw = tiny.raw.name;
        hubCacheFolder = tiny.hubCacheFolder;
        sourceType = tiny.sourceType;
        blobName = blob.name;
        blobMode = blob.outputHashMode;
        blobHash = blob.outputHash;
        select = spec.select;
        source = spec.source;
        small = { inherit (tiny.lockedFiles.smallFiles) name outputHashMode outputHash; select = smallSpec.select; };
        ollamaBlobs = builtins.attrNames models.llama.lockedFiles.blobs;
        validated = tiny.validation.enable;
      }`);
    expect(v).toMatchObject({
      names: ["llama", "tiny"],
      name: "tiny",
      raw: "tiny-raw",
      hubCacheFolder: "models--acme--tiny",
      sourceType: "huggingface",
      blobName: `model-blob-${weights}`,
      blobMode: "flat",
      blobHash: weights,
      // Only this file, pinned to the commit the lock resolved.
      select: {
        output: "file",
        resolved: hubEntry().resolved,
        files: [{ path: "model.safetensors", size: 4_400_000_000, sha256: weights }],
      },
      source: { type: "huggingface", repo: "acme/tiny", revision: "main", files: ["*.json", "*.safetensors"] },
      small: {
        name: "tiny-files",
        outputHashMode: "recursive",
        outputHash: hubEntry().smallFiles!.narHash,
        select: { output: "directory", files: [{ path: "config.json", size: 2, sha256: sha256Of("{}") }] },
      },
      ollamaBlobs: [sha256Of("layer")],
      validated: true,
    });
  });

  it("is the same kind of value fetchModel returns: every attribute of one, and passthru", async () => {
    const file = await lockFile();
    const v = await value<{ fetched: string[]; locked: string[]; passthru: string[] }>(`let
        fetched = nmr.fetchModel { name = "tiny"; source.huggingface = { repo = "acme/tiny"; files = [ "*.json" "*.safetensors" ]; }; hash = "${hubEntry().smallFiles!.narHash}"; };
        locked = (nmr.fromLock ${file}).tiny;
      in {
        fetched = builtins.attrNames fetched;
        locked = builtins.attrNames locked;
        passthru = builtins.attrNames fetched.passthru;
      }`);
    expect(v.locked).toEqual(expect.arrayContaining(v.fetched));
    expect(v.locked).toEqual(expect.arrayContaining([...v.passthru, "lockEntry", "lockedFiles"]));
  });

  it("names a large file's path by content: the same in two models and two locks", async () => {
    const first = await lockFile();
    const second = await lockFile((j) => {
      j.models.other = j.models.tiny;
      j.models.other.source.target = "hf:acme/other@v2";
      j.models.other.resolved.commit = "1".repeat(40);
    });
    const weights = sha256Of("weights");
    const paths = await value<string[]>(`[
      (nmr.fromLock ${first}).tiny.lockedFiles.blobs."${weights}".outPath
      (nmr.fromLock ${second}).other.lockedFiles.blobs."${weights}".outPath
    ]`);
    expect(paths[0]).toBe(paths[1]);
    expect(paths[0]).toMatch(new RegExp(`^/nix/store/[0-9a-z]{32}-model-blob-${weights}$`));
  });

  it("takes per-entry overrides of validation, network, auth and integration", async () => {
    const file = await lockFile();
    const weights = sha256Of("weights");
    const v = await value<Record<string, unknown>>(`let
        models = nmr.fromLock {
          lock = ${file};
          models.tiny = {
            validation.enable = false;
            network.concurrency = 3;
            auth.tokenEnvVar = "MY_HF_TOKEN";
            integration.huggingface.org = "mirror";
          };
        };
        blob = models.tiny.lockedFiles.blobs."${weights}";
      in {
        unvalidated = models.tiny.name;
        concurrency = (builtins.fromJSON blob.spec).network.concurrency;
        impure = builtins.elem "MY_HF_TOKEN" blob.impureEnvVars;
        folder = models.tiny.hubCacheFolder;
        otherValidated = models.llama.name;
      }`);
    // Without validation the model is the assembled raw output itself.
    expect(v).toEqual({
      unvalidated: "tiny-raw",
      concurrency: 3,
      impure: true,
      folder: "models--mirror--tiny",
      otherValidated: "llama",
    });
  });

  it("refuses overrides of a model the lock does not have, and of what fixes the content", async () => {
    const file = await lockFile();
    expect(await evalError(`(nmr.fromLock { lock = ${file}; models.tinyy = { }; }).tiny.drvPath`)).toContain(
      "models.tinyy overrides a model",
    );
    expect(await evalError(`(nmr.fromLock { lock = ${file}; models.tinyy = { }; }).tiny.drvPath`)).toContain(
      "Did you mean 'tiny'?",
    );
    expect(await evalError(`(nmr.fromLock { lock = ${file}; models.tiny.hash = "x"; }).tiny.drvPath`)).toContain(
      "unknown option models.tiny.hash",
    );
  });

  describe("refuses a hand-edited lock at evaluation, naming the entry and the field", () => {
    const cases: [string, (json: HandEdited) => void, string][] = [
      ["an unknown version", (j) => (j.lockVersion = 2), "has lockVersion 2; this nix-model-repo reads version 1"],
      [
        "a wrong sha256",
        (j) => (j.models.tiny.files[0].sha256 = "ABC"),
        'models."tiny".files[0].sha256 must be 64 lowercase hex digits, but it is the string "ABC"',
      ],
      [
        "a path with ..",
        (j) => (j.models.tiny.files[0].path = "../../etc/passwd"),
        'models."tiny".files[0].path must be a relative path without empty, "." or ".." segments',
      ],
      [
        "an absolute path",
        (j) => (j.models.tiny.files[0].path = "/etc/passwd"),
        'models."tiny".files[0].path must be a relative path',
      ],
      [
        "a missing field",
        (j) => delete j.models.tiny.files[1].size,
        'models."tiny".files[1].size must be an integer >= 0, but it is missing',
      ],
      ["an unknown field", (j) => (j.models.tiny.files[1].extra = true), 'unknown field models."tiny".files[1].extra'],
      [
        "a bad narHash",
        (j) => (j.models.tiny.smallFiles.narHash = "sha256-short"),
        'models."tiny".smallFiles.narHash must be an SRI sha256',
      ],
      [
        "a terminal escape in a path",
        (j) => (j.models.tiny.files[0].path = "config\u001b[2J.json"),
        'models."tiny".files[0].path must be a relative path without empty, "." or ".." segments, backslashes or control characters',
      ],
      [
        "a line separator in a path (printed, it breaks the line)",
        (j) => (j.models.tiny.files[0].path = "config\u2028.json"),
        'models."tiny".files[0].path must be a relative path without empty, "." or ".." segments, backslashes or control characters',
      ],
      [
        "a C1 control in a ref",
        (j) => (j.models.tiny.layout.refs = ["ma\u009bin"]),
        'models."tiny".layout.refs[0] must be a revision name',
      ],
      [
        "a short commit",
        (j) => (j.models.tiny.resolved.commit = "abc"),
        'models."tiny".resolved.commit must be a 40-hex commit',
      ],
      [
        "a duplicate path",
        (j) => (j.models.tiny.files[1].path = "config.json"),
        'models."tiny".files must name each path once',
      ],
      [
        "a file inside a file",
        (j) => (j.models.tiny.files[1].path = "config.json/x"),
        'models."tiny".files must not hold a file inside another file',
      ],
      [
        "two contents under one blob",
        (j) => (j.models.tiny.files[1].blob = j.models.tiny.files[0].blob),
        'models."tiny".files must give each blob one content, but blob',
      ],
      [
        "an Ollama blob whose path is another digest",
        (j) => (j.models.llama.files[0].sha256 = sha256Of("other")),
        'models."llama".files[0].sha256 must be the digest its path names',
      ],
    ];
    for (const [what, edit, message] of cases) {
      it(what, async () => {
        const file = await lockFile(edit);
        const model = what.includes("Ollama") ? "llama" : "tiny";
        const stderr = await evalError(`(nmr.fromLock ${file}).${model}.drvPath`);
        expect(stderr).toContain(`fromLock: ${file}: ${message}`);
        // Said how to get out of it.
        expect(stderr).toMatch(/never by hand|update the nix-model-repo input/);
      });
    }

    it("only the broken entry: the others still evaluate", async () => {
      const file = await lockFile((j) => (j.models.tiny.files[0].sha256 = "ABC"));
      expect(await value<string>(`(nmr.fromLock ${file}).llama.name`)).toBe("llama");
    });

    it("a name that is not a store name", async () => {
      const file = await lockFile((j) => (j.models["a b"] = j.models.tiny));
      expect(await evalError(`(nmr.fromLock ${file})."a b".drvPath`)).toContain(
        'models."a b" must be named with letters',
      );
    });
  });

  it("is in the flake as nix-model-repo.lib.fromLock pkgs ./models.lock.json", async () => {
    const file = await lockFile();
    const result = await nixEval(`let
        f = import ${repoRoot}/test/integration/flake-stand-in.nix;
      in (f.nix-model-repo.lib.fromLock f.pkgs ${file}).tiny.name`);
    expect(result.stderr).toBe("");
    expect(result.value).toBe("tiny");
    const without = await nixEval(`let f = import ${repoRoot}/test/integration/flake-stand-in.nix;
      in f.nix-model-repo.lib.fromLock ${file}`);
    expect(without.stderr).toContain("nix-model-repo.lib.fromLock takes pkgs first");
  });
});
