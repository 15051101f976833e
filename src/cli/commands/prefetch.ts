import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "../command.js";
import { parseCommandArgs, usageError } from "../args.js";
import { parseSpec, SPEC_VERSION } from "../../fetch/spec.js";
import { fetchModelInto } from "../../fetch/fetch-model.js";
import { createProgressReporter } from "../../progress/reporter.js";
import { narHash } from "../../nar/hash.js";
import { addFixedRecursive, fixedOutputPath, nixStoreAvailable } from "../../nix/store.js";
import { rawDerivationName } from "../../nix/names.js";
import { PREFETCH_SCHEMES } from "../../sources/registry.js";
import type { PrefetchScheme, PrefetchTarget } from "../../sources/prefetch-target.js";
import type { ModelMeta } from "../../model/meta.js";
import { UserError } from "../../errors/user-error.js";
import { toNix, nixString } from "../../util/nix-expr.js";
import { humanBytes } from "../../progress/format.js";
import { handleInterrupts, interruptSignal, removeOnExit } from "../interrupt.js";

const usage = `nix-model-repo prefetch TARGET [options]

Downloads a model exactly as the fetchModel builder does, prints its hash and a
fetchModel expression to paste, and (when Nix is installed) adds it to the store
at the derivation's path so the first build needs no network.

targets:
${PREFETCH_SCHEMES.map((scheme) => `  ${scheme.example}`).join("\n")}

options:
  --name NAME        derivation name (default: from the target)
  --files PATTERN    only these files (repeatable; huggingface_hub allow_patterns)
  --endpoint URL     the source's endpoint (a Hub mirror, an S3 endpoint, the MLflow tracking server...)
  --repo-type TYPE   model (default), dataset or space
  --region REGION    the S3 bucket's region (default: $AWS_REGION, else us-east-1)
  --unpack           url: targets: unpack the .tar, .tar.gz/.tgz or .zip into the model
  --token-env VAR    also read the token from $VAR (as auth.tokenEnvVar)
  --json             print a JSON object instead of text

Tokens come from the environment and standard files (HF_TOKEN, ~/.cache/huggingface/token),
never from the command line.

The download goes to a directory under $TMPDIR first (it needs room for the whole model
there, and again in the Nix store). Interrupted (Ctrl-C, SIGTERM) or failed, it removes
that directory before it exits; nothing is resumed, a new prefetch starts over.`;

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      name: { type: "string" },
      files: { type: "string", multiple: true },
      endpoint: { type: "string" },
      "repo-type": { type: "string" },
      region: { type: "string" },
      "token-env": { type: "string" },
      unpack: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    });
    if (positionals.length !== 1) throw usageError("prefetch takes exactly one TARGET", usage);
    const target = parseTarget(positionals[0]!, {
      files: values.files,
      endpoint: values.endpoint,
      repoType: values["repo-type"],
      region: values.region,
      unpack: values.unpack,
    });
    const name = values.name ?? target.defaultName;
    const spec = parseSpec({
      specVersion: SPEC_VERSION,
      name,
      source: target.source,
      auth: { tokenEnvVar: values["token-env"] ?? null, tokenFile: null },
    });

    handleInterrupts();
    const signal = interruptSignal;
    const workdir = await mkdtemp(join(tmpdir(), "nix-model-repo-prefetch-"));
    const scratch = removeOnExit(workdir);
    try {
      // The directory's name is the FOD's name: `nix-store --add-fixed` names the path after it.
      const out = join(workdir, rawDerivationName(name));
      const meta = await fetchModelInto(spec, out, { env: process.env, progress: createProgressReporter(), signal });
      // What only the fetch could tell (a URL's sha256) goes into the expression to paste.
      const pinned = completeTarget(positionals[0]!, target, meta);
      signal.throwIfAborted();
      const hash = await narHash(out);
      signal.throwIfAborted();
      const storePath = (await nixStoreAvailable()) ? await addToStore(out, hash.nix32, rawDerivationName(name)) : null;
      const result = {
        name,
        hash: hash.sri,
        storePath,
        source: pinned.source,
        resolved: meta.resolved,
        files: meta.files.length,
        bytes: meta.files.reduce((sum, file) => sum + file.size, 0),
        expression: expression(name, pinned, hash.sri),
      };
      process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : humanReport(result));
      return 0;
    } finally {
      await rm(workdir, { recursive: true, force: true });
      scratch.release();
    }
  },
};

/** The grammar of TARGET; lib/parse-model-spec.nix follows it (test/nix-eval/model-specs.json). */
export function parseTarget(text: string, flags: Parameters<PrefetchScheme["parse"]>[1]): PrefetchTarget {
  const colon = text.indexOf(":");
  const prefix = colon === -1 ? "" : text.slice(0, colon);
  const scheme = PREFETCH_SCHEMES.find((candidate) => candidate.prefixes.includes(prefix));
  if (!scheme) {
    throw new UserError(
      {
        what: `Unknown prefetch target '${text}'`,
        fix: [`Targets look like:\n${PREFETCH_SCHEMES.map((s) => s.example).join("\n")}`],
      },
      { exitCode: 2 },
    );
  }
  return scheme.parse(text.slice(colon + 1), flags);
}

function completeTarget(text: string, target: PrefetchTarget, meta: ModelMeta): PrefetchTarget {
  const scheme = PREFETCH_SCHEMES.find((candidate) => candidate.prefixes.includes(text.slice(0, text.indexOf(":"))));
  return scheme?.complete ? scheme.complete(target, meta) : target;
}

async function addToStore(directory: string, nix32: string, name: string): Promise<string> {
  const storePath = await addFixedRecursive(directory);
  const expected = await fixedOutputPath(nix32, name);
  if (storePath !== expected) {
    throw new UserError({
      what: "The store path of the prefetched model is not the one the build will look for",
      context: { added: storePath, expected },
    });
  }
  return storePath;
}

function expression(name: string, target: PrefetchTarget, hash: string): string {
  return `fetchModel {
  name = ${nixString(name)};
  source.${target.nixAttribute} = ${toNix(target.nixValue as Parameters<typeof toNix>[0], "  ")};
  hash = ${nixString(hash)};
}`;
}

function humanReport(result: {
  name: string;
  hash: string;
  storePath: string | null;
  resolved: Record<string, string>;
  files: number;
  bytes: number;
  expression: string;
}): string {
  const resolved = Object.entries(result.resolved)
    .map(([key, value]) => `${key} ${value}`)
    .join(", ");
  return `fetched ${result.files} file${result.files === 1 ? "" : "s"} (${humanBytes(result.bytes)})${resolved ? `, ${resolved}` : ""}
hash: ${result.hash}
${result.storePath ? `store path: ${result.storePath} (added: the first build needs no network)` : "store path: not added (nix-store is not on PATH)"}

${result.expression}
`;
}

export default command;
