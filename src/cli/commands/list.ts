import { openCatalog } from "../../lifecycle/catalog.js";
import { type ListedModel, listModels } from "../../lifecycle/list.js";
import { humanBytes } from "../../progress/format.js";
import { logger } from "../../util/log.js";
import { parseCommandArgs, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, lockOptionOf } from "../lock-option.js";
import { LOCK_OPTIONS_USAGE } from "../locking.js";
import { printJson, printLines, table } from "../print.js";
import { GIT_OID } from "../../util/hex-ids.js";

const usage = `nix-model-repo list [options]

Lists the models on this machine: every store path holding a nix-model-repo meta file
that a garbage-collector root keeps (a result link, a profile, a pin, a dev shell), and
every entry of the lockfile, built or not. For each: its name, source, resolved
revision, size on disk and what keeps it. Sizes are the NAR sizes Nix records; a store
path two models share (a weight file two locked models have) counts once in the total.
A model nothing keeps is not listed: the next garbage collection deletes it.

options:
${LOCK_OPTIONS_USAGE}

exit status:
  0   listed
  1   asking Nix failed (nix-store is missing, or the store cannot be read)
  2   usage error, or the lockfile given with --lock cannot be read`;

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
    });
    if (positionals.length > 0) throw usageError("list takes no arguments", usage);
    const catalog = await openCatalog(lockOptionOf(values.lock));
    const list = await listModels(catalog);
    for (const { path, why } of list.unreadable) logger.warn(`${path} is left out: its ${why}`);
    if (values.json) {
      printJson({ lock: catalog.lock === null ? null : catalog.lockPath, ...list });
      return 0;
    }
    if (list.models.length === 0) {
      printLines(["No models: no GC root keeps a nix-model-repo model, and there is no lockfile entry."]);
      return 0;
    }
    printLines([
      ...table(
        ["NAME", "SOURCE", "REVISION", "SIZE", "SHARED", "KEPT BY"],
        list.models.map((model) => [
          model.name,
          model.source,
          shortRevision(model.revision),
          model.bytes > 0 ? humanBytes(model.bytes) : "-",
          model.sharedBytes > 0 ? humanBytes(model.sharedBytes) : "-",
          keptBy(model),
        ]),
      ),
      "",
      summary(list.models.length, list.totalBytes, list.sharedBytes),
    ]);
    return 0;
  },
};

function shortRevision(revision: string | null): string {
  if (revision === null) return "-";
  const digest = /^sha256:([0-9a-f]{12})/.exec(revision);
  if (digest) return `sha256:${digest[1]}`;
  return GIT_OID.test(revision) ? revision.slice(0, 12) : revision;
}

function keptBy(model: ListedModel): string {
  const [first, ...more] = model.roots;
  const roots = first === undefined ? "" : `${first.link}${more.length > 0 ? ` (+${more.length} more)` : ""}`;
  switch (model.state) {
    case "built":
      return roots;
    case "missing":
      return "not built, not in the store";
    default: {
      const files = model.state === "in-store" ? "its files are in the store" : "some of its files are in the store";
      return `not built; ${files}${roots === "" ? ", nothing keeps them" : `, kept by ${roots}`}`;
    }
  }
}

function summary(count: number, total: number, shared: number): string {
  const models = `${count} model${count === 1 ? "" : "s"}, ${humanBytes(total)} on disk`;
  return shared > 0
    ? `${models}; ${humanBytes(shared)} of it in store paths several models share, counted once.`
    : `${models}.`;
}

export default command;
