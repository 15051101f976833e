/**
 * examples/devshell, the way a user meets it: as shipped it stops with the prefetch
 * command; after prefetching both models (from a local Hub standing in for huggingface.co)
 * and pasting the hashes, its dev shell builds and its hook makes both models resolve
 * offline. The flake is evaluated with stand-in inputs (test/integration/flake-stand-in.nix).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  nixAvailable,
  nixBuild,
  nixEval,
  nixReadableTempDir,
  repoRoot,
  nixStderrWithoutBusyRetries,
} from "../helpers/nix.js";
import { safetensors, startModelHub, type ModelHub } from "./fixtures.js";

const example = join(repoRoot, "examples", "devshell");
const standIn = `import ${repoRoot}/test/integration/flake-stand-in.nix`;

interface ModelConfig {
  source: { huggingface: { repo: string; revision: string; files: string[] } };
  hash: string | null;
}

/** Content for every file a model's `files` names (all literal names in the example). */
function contents(files: readonly string[]): Record<string, Buffer | string> {
  return Object.fromEntries(
    files.map((file) => [
      file,
      file.endsWith(".safetensors")
        ? safetensors(randomBytes(4096))
        : JSON.stringify({ file, run: randomBytes(4).toString("hex") }),
    ]),
  );
}

describe.skipIf(!nixAvailable)("examples/devshell", () => {
  let models: Record<string, ModelConfig>;
  let hub: ModelHub;
  let copy: string;

  beforeAll(async () => {
    const evaluated = await nixEval(`import ${example}/models.nix`);
    models = evaluated.value as Record<string, ModelConfig>;
    hub = await startModelHub(
      Object.values(models).map((model) => ({
        repoId: model.source.huggingface.repo,
        files: contents(model.source.huggingface.files),
      })),
    );
    copy = join(await nixReadableTempDir("nmr-example-"), "devshell");
    await cp(example, copy, { recursive: true });
  });

  afterAll(async () => {
    await hub?.close();
    if (copy) await rm(join(copy, ".."), { recursive: true, force: true });
  });

  it("ships two models with no unverified hash, and says how to get the hashes", async () => {
    expect(Object.keys(models).sort()).toEqual(["all-MiniLM-L6-v2", "gpt2"]);
    for (const model of Object.values(models)) expect(model.hash).toBeNull();
    const result = await nixEval(
      `let e = (${standIn}).example ${example}; in e.devShells.\${builtins.currentSystem}.default.drvPath`,
    );
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain(`hash is missing for model "all-MiniLM-L6-v2"`);
    expect(result.stderr).toContain(
      "nix-model-repo prefetch hf:sentence-transformers/all-MiniLM-L6-v2@main --files 'config.json'",
    );
  });

  it("after prefetch, the dev shell builds and both models resolve offline through its hook", async () => {
    let text = await readFile(join(copy, "models.nix"), "utf8");
    for (const [name, model] of Object.entries(models)) {
      const { repo, revision, files } = model.source.huggingface;
      const fetched = await hub.prefetch(repo, { revision, files });
      expect(fetched.args).toContain(`name = "${name}";`);
      // Paste the hash into this model's block, as the README says.
      const block = text.indexOf(`${name} = {`);
      const at = text.indexOf("hash = null;", block);
      text = `${text.slice(0, at)}hash = "${fetched.hash}";${text.slice(at + "hash = null;".length)}`;
    }
    await writeFile(join(copy, "models.nix"), text);

    const expression = `let e = (${standIn}).example ${copy}; in e.devShells.\${builtins.currentSystem}.default`;
    const built = await nixBuild(expression, { env: { HF_ENDPOINT: hub.hub.url } });
    expect(nixStderrWithoutBusyRetries(built.stderr), built.stderr).not.toMatch(/error:/);
    const hook = (await nixEval(`(${expression}).shellHook`)).value as string;

    const project = await mkdtemp(join(tmpdir(), "nmr-example-project-"));
    try {
      const output = execFileSync(
        "bash",
        ["-c", `${hook}\necho "HF_HUB_CACHE=$HF_HUB_CACHE"; echo "HF_HUB_OFFLINE=$HF_HUB_OFFLINE"`],
        {
          cwd: project,
          env: { PATH: process.env["PATH"] },
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const cache = /HF_HUB_CACHE=(.*)/.exec(output)![1]!;
      expect(output).toContain("HF_HUB_OFFLINE=1");
      const repos = Object.values(models).map((model) => model.source.huggingface.repo);
      for (const [index, written] of hub.repos.entries()) {
        await assertEveryFileFoundOffline(cache, repos[index]!, new Map(written.files.map((f) => [f.path, f.sha256])));
      }
      expect(existsSync(join(project, ".nix-model-repo", "gcroots", "shell-hf-hub"))).toBe(true);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
