import type { Explanation, FailureScope } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import { XetFormatError } from "../../xet/index.js";
import { XetSpillFailure } from "./spill-folder.js";

/**
 * The Xet sources' words for data from Xet storage that does not decode (a lying chunk
 * header, an LZ4 bomb, a reconstruction that does not add up), and for ranges that found no
 * room on disk: only with network.xet = "required" does either fail a file, and then the fix
 * is to let such files take their plain URL (or, for the disk, to give $TMPDIR room).
 */
export function explainXetFailure(failure: Failure, scope: FailureScope): Explanation | undefined {
  if (failure instanceof XetSpillFailure) {
    return {
      what: `No room to keep Xet ranges on disk while downloading ${scope.file ?? "a file"}`,
      context: { folder: failure.folder },
      cause: failure.message,
      fix: [
        "Free space in $TMPDIR, or point TMPDIR at a file system with room: while the writer waits on the network, Xet keeps up to 512 MiB of ranges there (inside Nix, in the build's own folder).",
        'Or set network.xet = "auto" (the default): the file then continues through its plain URL, with the same bytes and hash.',
      ],
      help: "docs/sources/xet.md",
    };
  }
  if (!(failure instanceof TransferFailure) || !(failure.cause instanceof XetFormatError)) return undefined;
  return {
    what: `Xet storage gave data for ${scope.file ?? "a file"} that does not decode`,
    cause: failure.message,
    fix: [
      'Set network.xet = "auto" (the default): a file Xet cannot deliver then comes through its plain URL, with the same bytes and hash.',
      "If it persists, report it with this message: the Xet storage, or a proxy in between, serves data that does not match the Xet format.",
    ],
    help: "docs/sources/xet.md",
  };
}
