import { UserError } from "../../errors/user-error.js";
import { openCatalog, resolveTarget } from "../../lifecycle/catalog.js";
import { gcRootsDirectory, listPins, pin, unpin } from "../../lifecycle/gc.js";
import { parseCommandArgs, usageError } from "../args.js";
import type { Command } from "../command.js";
import { LOCK_OPTIONS, lockOptionOf } from "../lock-option.js";
import { LOCK_OPTIONS_USAGE } from "../locking.js";
import { printJson, printLines, table } from "../print.js";

const usage = `nix-model-repo gc pin NAME|PATH [--name PIN] [options]
nix-model-repo gc unpin NAME [options]
nix-model-repo gc list [options]

Keeps models from the garbage collector with per-user roots: links under
$XDG_DATA_HOME/nix-model-repo/gc-roots (default ~/.local/share/nix-model-repo/gc-roots),
each registered with \`nix-store --add-root\`. Do not move that folder: Nix remembers the
links by their paths.

  pin NAME|PATH   keep a model: a lockfile entry, a model \`list\` shows, or a store path
                  (./result). A lock entry that is not built yet keeps the files \`add\`
                  downloaded. Pinning a name again moves the pin to the new path.
  unpin NAME      remove the pin: the next garbage collection may delete the model
  list            the pins, what they point at, and whether Nix sees them as roots

options:
  --name PIN         pin under this name (default: the model's name)
${LOCK_OPTIONS_USAGE}

exit status:
  0   done
  1   asking Nix failed, nothing of the model is in the store, or NAME is not pinned
  2   usage error, or no such model`;

const command: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      ...LOCK_OPTIONS,
      name: { type: "string" },
    });
    const [action, ...rest] = positionals;
    if (action === "pin") {
      if (rest.length !== 1) throw usageError("gc pin takes one NAME or PATH", usage);
      const catalog = await openCatalog(lockOptionOf(values.lock));
      const result = await pin(await resolveTarget(rest[0]!, catalog), { name: values.name });
      if (values.json) printJson(result);
      else
        printLines([
          ...result.pinned.map(({ link, path }) => `pinned ${link} -> ${path}`),
          ...result.replaced.map(({ link, path }) => `removed ${link}${path === null ? "" : ` (was ${path})`}`),
          ...(result.filesOnly
            ? [`${result.name} is not built: its downloaded files are pinned; pin it again once it is built.`]
            : []),
        ]);
      return 0;
    }
    if (values.name !== undefined) throw usageError("--name applies to gc pin only", usage);
    if (action === "unpin") {
      if (rest.length !== 1) throw usageError("gc unpin takes one NAME", usage);
      const removed = await unpin(rest[0]!);
      if (removed.length === 0) {
        throw new UserError({
          what: `${rest[0]!} is not pinned`,
          fix: [`\`nix-model-repo gc list\` shows the pins in ${gcRootsDirectory()}.`],
        });
      }
      if (values.json) printJson({ name: rest[0], removed });
      else
        printLines(
          removed.map((link) => `unpinned ${link.link}${link.target === null ? "" : ` (was ${link.target})`}`),
        );
      return 0;
    }
    if (action === "list") {
      if (rest.length !== 0) throw usageError("gc list takes no arguments", usage);
      const pins = await listPins();
      if (values.json) printJson({ directory: gcRootsDirectory(), pins });
      else if (pins.length === 0) printLines([`No pins in ${gcRootsDirectory()}.`]);
      else
        printLines(
          table(
            ["NAME", "POINTS AT", "STATE"],
            pins.map((entry) => [
              entry.part === null ? entry.name : `${entry.name} (${entry.part})`,
              entry.target ?? "(not a link)",
              !entry.valid
                ? "broken: not a store path"
                : entry.registered
                  ? "kept"
                  : "not a root: Nix does not know this link (moved?); pin it again",
            ]),
          ),
        );
      return 0;
    }
    throw usageError(action === undefined ? "gc needs pin, unpin or list" : `unknown gc action '${action}'`, usage);
  },
};

export default command;
