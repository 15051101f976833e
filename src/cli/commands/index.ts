import type { CommandLoader } from "../command.js";

/** Every subcommand, in the order `--help` lists them. */
export const commands: ReadonlyMap<string, { summary: string; load: CommandLoader }> = new Map([
  [
    "prefetch",
    {
      summary: "Download a model, print its hash and a fetchModel expression",
      load: async () => (await import("./prefetch.js")).default,
    },
  ],
  [
    "add",
    {
      summary: "Lock a model in models.lock.json: download it once, add its files to the store",
      load: async () => (await import("./add.js")).default,
    },
  ],
  [
    "update",
    {
      summary: "Move locked models to what their sources have now, downloading only what changed",
      load: async () => (await import("./update.js")).default,
    },
  ],
  [
    "verify",
    {
      summary: "Tell whether upstream changed since a model was locked or built, without downloading weights",
      load: async () => (await import("./verify.js")).default,
    },
  ],
  [
    "list",
    {
      summary: "List the models on this machine and in the lockfile, with sizes and what keeps them",
      load: async () => (await import("./list.js")).default,
    },
  ],
  [
    "info",
    {
      summary: "Show one model: source, revision, files, hashes, validation, GC roots, shared blobs",
      load: async () => (await import("./info.js")).default,
    },
  ],
  [
    "gc",
    {
      summary: "Pin models against garbage collection (gc pin|unpin|list)",
      load: async () => (await import("./gc.js")).default,
    },
  ],
  [
    "fetch",
    {
      summary: "Fetch a model described by a spec file into a directory (the FOD builder)",
      load: async () => (await import("./fetch.js")).default,
    },
  ],
  [
    "hash",
    {
      summary: "Print the SRI sha256 NAR hash of a path, as `nix hash path` does",
      load: async () => (await import("./hash.js")).default,
    },
  ],
  [
    "serve",
    {
      summary: "Serve Hugging Face cache folders over the Hub download API",
      load: async () => (await import("./serve.js")).default,
    },
  ],
  [
    "scan",
    {
      summary: "Scan model files for malicious serialized code",
      load: async () => (await import("./scan.js")).default,
    },
  ],
  [
    "assemble",
    {
      summary: "Lay out a locked model from the store paths of its files (lib.fromLock's builder)",
      load: async () => (await import("./assemble.js")).default,
    },
  ],
  [
    "validate",
    {
      summary: "Run the validation phase on a raw model output (the phase-2 builder)",
      load: async () => (await import("./validate.js")).default,
    },
  ],
]);
