import { UserError } from "../../errors/user-error.js";
import { storeName, type PrefetchScheme } from "../prefetch-target.js";

/**
 * `hf:org/name[@revision]` (also `huggingface:`). `hf:datasets/org/name` selects a
 * dataset, as the Hub's URLs do; --repo-type says the same explicitly.
 */
export const huggingFacePrefetch: PrefetchScheme = {
  prefixes: ["hf", "huggingface"],
  example: "hf:org/name[@revision] [--files PATTERN]... [--endpoint URL] [--repo-type model|dataset|space]",
  parse(rest, flags) {
    const at = rest.lastIndexOf("@");
    let repo = at === -1 ? rest : rest.slice(0, at);
    const revision = at === -1 ? "main" : rest.slice(at + 1);
    let repoType = flags.repoType ?? "model";
    const typed = /^(datasets|spaces|models)\/(.+)$/.exec(repo);
    if (typed && typed[2]!.includes("/")) {
      repoType = typed[1]!.slice(0, -1);
      repo = typed[2]!;
    }
    if (repo === "" || revision === "") {
      throw new UserError(
        {
          what: `Cannot read the Hugging Face target 'hf:${rest}'`,
          fix: ["Write it as hf:org/name or hf:org/name@revision, e.g. hf:acme/tiny@main."],
        },
        { exitCode: 2 },
      );
    }
    const source = {
      type: "huggingface",
      repo,
      repoType,
      revision,
      files: flags.files && flags.files.length > 0 ? [...flags.files] : null,
      endpoint: flags.endpoint ?? null,
    };
    return {
      source,
      defaultName: storeName(repo.split("/").pop() ?? repo),
      nixAttribute: "huggingface",
      nixValue: {
        repo,
        ...(repoType === "model" ? {} : { repoType }),
        revision,
        ...(source.files ? { files: source.files } : {}),
        ...(source.endpoint ? { endpoint: source.endpoint } : {}),
      },
    };
  },
};
