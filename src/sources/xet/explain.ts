import type { Explanation, FailureScope } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import { XetFormatError } from "../../xet/index.js";

/**
 * The Xet sources' words for data from Xet storage that does not decode (a lying chunk
 * header, an LZ4 bomb, a reconstruction that does not add up): only with network.xet =
 * "required" does it fail a file, and then the fix is to let such files take their plain URL.
 */
export function explainXetFailure(failure: Failure, scope: FailureScope): Explanation | undefined {
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
