import type { Command } from "../command.js";
import { parseCommandArgs, usageError } from "../args.js";
import { narHash } from "../../nar/hash.js";

const usage = `usage: nix-model-repo hash PATH [--sri | --base32 | --hex]

Prints the sha256 of PATH's NAR serialisation, the hash \`nix hash path PATH\` prints and a
fixed-output derivation with outputHashMode = "recursive" declares. PATH may be a
directory, a file or a symlink (not followed). Only the executable bit of a file counts.

options:
  --sri      sha256-<base64> (default), the form \`hash = "..."\` takes
  --base32   Nix's base-32, as \`nix-hash --type sha256 --base32\` prints
  --hex      lowercase hexadecimal, as \`nix-hash --type sha256\` prints`;

const hash: Command = {
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(usage, argv, {
      sri: { type: "boolean" },
      base32: { type: "boolean" },
      hex: { type: "boolean" },
    });
    const formats = (["sri", "base32", "hex"] as const).filter((format) => values[format]);
    if (formats.length > 1) {
      throw usageError(`choose one output format, not ${formats.map((format) => `--${format}`).join(" and ")}`, usage);
    }
    const [path, ...extra] = positionals;
    if (path === undefined || extra.length > 0) {
      throw usageError(path === undefined ? "missing PATH" : `expected one PATH, got ${positionals.length}`, usage);
    }
    const result = await narHash(path);
    const format = formats[0] ?? "sri";
    const printed = format === "sri" ? result.sri : format === "base32" ? result.nix32 : result.sha256.toString("hex");
    process.stdout.write(`${printed}\n`);
    return 0;
  },
};

export default hash;
