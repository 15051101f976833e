import { readFile } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { UserError } from "../../errors/user-error.js";
import type { SpecDocument } from "../../errors/failures.js";
import { type Assembly, assembleLayout, type HubAssembledFile } from "../../layout/assemble.js";
import { checkLockFile, type LockEntry } from "../../lockfile/index.js";
import { FieldReader } from "../../spec/fields.js";
import { parseCommandArgs, requiredFlags } from "../args.js";
import type { Command } from "../command.js";

const usage = `nix-model-repo assemble [--assembly FILE] [--out DIR]

Lays out a locked model (docs/lockfile.md) in DIR from the store paths holding its
files: the layout a fetch writes, with each blob a link to the fixed-output path that
holds it. This is the builder of lib.fromLock's assembly derivation; you do not run it
by hand.

  --assembly FILE   the assembly (JSON: the lock entry and its files' store paths);
                    default: $assemblyPath, from the derivation's passAsFile
  --out DIR         where to write; must not exist; default: $out`;

const ASSEMBLY: SpecDocument = {
  title: "assembly",
  fix: [
    "The assembly is written by lib.fromLock: check that the library and the fetcher package are the same version.",
  ],
  help: "docs/lockfile.md",
  exitCode: 2,
};

const command: Command = {
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      usage,
      argv,
      { assembly: { type: "string" }, out: { type: "string" } },
      { allowPositionals: false },
    );
    const { "--assembly FILE": file, "--out DIR": out } = requiredFlags("assemble", usage, {
      "--assembly FILE": values.assembly ?? process.env["assemblyPath"],
      "--out DIR": values.out ?? process.env["out"],
    });
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new UserError(
        { what: `Cannot read the assembly ${file}`, cause: error.code ?? error.message },
        { exitCode: 2 },
      );
    });
    const meta = await assembleLayout(out, readAssembly(JSON.parse(text)));
    process.stderr.write(`assembled ${meta.files.length} files (${meta.layout} layout)\n`);
    return 0;
  },
};

/** The JSON lib/lock/assemble.nix writes: { name, entry, blobs: { <sha256>: path }, smallFiles: path | null }. */
function readAssembly(json: unknown): Assembly {
  const root = FieldReader.root(json, "", ASSEMBLY);
  const name = root.string("name");
  // The entry is checked by the lockfile's own reader, every field of it.
  const entry = checkLockFile({ lockVersion: 1, models: { [name]: root.record("entry") } }, ASSEMBLY).models[name]!;
  const blobs = root.record("blobs");
  const smallFiles = root.optionalString("smallFiles");
  root.done();
  const storePath = (where: string, value: unknown): string => {
    if (typeof value !== "string" || !isAbsolute(value) || value.split("/").includes(".."))
      throw root.refuse(where, "must be an absolute store path", value);
    return value;
  };
  const targetOf = (file: LockEntry["files"][number]): string =>
    file.large
      ? storePath(`blobs.${file.sha256}`, blobs[file.sha256])
      : `${storePath("smallFiles", smallFiles)}/${file.sha256}`;
  const files = entry.files.map((file) => ({
    path: file.path,
    size: file.size,
    sha256: file.sha256,
    target: targetOf(file),
  }));
  if (entry.layout.kind === "ollama") {
    const manifest = entry.files.find((file) => file.path.startsWith("manifests/"))!.path;
    return { layout: "ollama", metaSource: entry.recorded, resolved: entry.resolved, files, manifest };
  }
  const hubFiles: HubAssembledFile[] = entry.files.map((file, index) => ({
    ...files[index]!,
    blob: file.blob!,
    ...(file.ids.gitOid === undefined
      ? {}
      : {
          hubTreeEntry: {
            size: file.size,
            blobId: file.ids.gitOid,
            ...(file.ids.lfsOid === undefined ? {} : { lfs: { sha256: file.ids.lfsOid, size: file.size } }),
          },
        }),
  }));
  return {
    layout: "huggingface",
    commit: entry.resolved["commit"]!,
    refs: entry.layout.refs,
    metaSource: entry.recorded,
    resolved: entry.resolved,
    files: hubFiles,
  };
}

export default command;
