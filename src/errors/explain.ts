import { printable } from "../util/printable.js";
import { humanBytes } from "../util/units.js";
import { diskFailureFrom } from "./classify.js";
import { tmpdir } from "node:os";
import { isAbsolute, relative } from "node:path";
import {
  DiskFailure,
  DownloadFailure,
  Failure,
  InsufficientSpaceFailure,
  SpecFailure,
  TransferFailure,
} from "./failures.js";
import type { FailureContext, UserErrorDetails } from "./render.js";
import { UserError } from "./user-error.js";

/**
 * The one place a failure becomes the message a user reads. The engine, the HTTP
 * client and the adapters throw typed failures (failures.ts) and know nothing of Nix
 * options or fixes; here the source's explain hook is asked first (it knows a gated
 * repo from a missing one), and what it does not recognise gets the explanation of its
 * code. Every result is a UserError, rendered in the one format (render.ts), with the
 * fields that identify what was being fetched in front.
 */
export type Explanation = UserErrorDetails;

/** Where a failure happened: during a file's download (with the file), or before, while resolving. */
export interface FailureScope {
  /** The file being downloaded; undefined while the source is being resolved. */
  readonly file?: string;
  /** How many times the file was downloaded (2 after a digest mismatch). */
  readonly downloads?: number;
}

/** A source's words for the failures it recognises; undefined for the rest. */
export type ExplainHook = (failure: Failure, scope: FailureScope) => Explanation | undefined;

export interface ExplainOptions {
  /** What was being fetched (the adapter's describe()): source, repo, revision... */
  readonly context?: FailureContext;
  /** The same in a few words, for the first line: "acme/tiny @ main". */
  readonly subject?: string;
  /** The source's hook, asked first. */
  readonly hook?: ExplainHook | undefined;
}

export function explainFailure(error: unknown, options: ExplainOptions = {}): unknown {
  if (error instanceof UserError) return withContext(error, options.context);
  const download = error instanceof DownloadFailure ? error : undefined;
  const failure = download?.failure ?? (error instanceof Failure ? error : diskFailureFrom(error));
  if (failure === undefined) return error;
  const scope: FailureScope = download ? { file: download.file, downloads: download.downloads } : {};
  const explanation = options.hook?.(failure, scope) ?? generic(failure, download, options.subject);
  const context = { ...options.context, ...(download ? { file: download.file } : {}), ...explanation.context };
  // A document only the Nix library writes is a usage error of the command that reads it.
  const exitCode = failure instanceof SpecFailure ? failure.document.exitCode : 1;
  return new UserError({ ...explanation, context }, { cause: error, code: failure.code, exitCode });
}

/**
 * The CLI's last word on any error (src/cli/main.ts): explained if it is a failure the fetcher
 * knows, and otherwise (a bug, or an answer nobody foresaw) still in the one format, with the
 * error as it is and what to do.
 */
export function explainForUser(error: unknown): UserError {
  const explained = explainFailure(error);
  if (explained instanceof UserError) return explained;
  const code = (explained as NodeJS.ErrnoException | undefined)?.code;
  const message = explained instanceof Error ? explained.message : String(explained);
  const name = explained instanceof Error ? explained.name : typeof explained;
  return new UserError(
    {
      what: "Unexpected error",
      cause: `${name}${code && !message.includes(code) ? ` ${code}` : ""}: ${message}`,
      fix: [
        "Try again; if it happens again, report it to the nix-model-repo maintainers with this message and the output of the same command run with --verbose.",
      ],
    },
    { cause: explained },
  );
}

/** A message for any thrown value, safe to print (printable()); typed failures are explained first. */
export function describeError(error: unknown): string {
  const explained = explainFailure(error);
  if (explained instanceof UserError) return explained.message;
  if (explained instanceof Error) {
    const code = (explained as NodeJS.ErrnoException).code;
    const message = code && !explained.message.includes(code) ? `${code}: ${explained.message}` : explained.message;
    return printable(message, { multiline: true });
  }
  return printable(String(explained), { multiline: true });
}

/** Puts the fields that identify the fetch in front of an error's own, when it lacks them. */
function withContext(error: UserError, context: FailureContext | undefined): UserError {
  const own = error.details.context ?? {};
  if (context === undefined || Object.keys(context).every((key) => key in own)) return error;
  return new UserError(
    { ...error.details, context: { ...context, ...own } },
    { exitCode: error.exitCode, cause: error.cause ?? error, ...(error.code ? { code: error.code } : {}) },
  );
}

const AUTH_DOCS = "docs/authentication.md";

function isInside(path: string, directory: string | undefined): boolean {
  if (!directory) return false;
  const rel = relative(directory, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * The free-space check's refusal (src/transfer/preflight.ts): both numbers, and what to do
 * about the place it is: Nix's build directory, the temporary directory `prefetch` works
 * in, or the Nix store (where a build writes its output).
 */
function notEnoughSpace(failure: InsufficientSpaceFailure, subject: string | undefined): Explanation {
  const { directory, needed, available } = failure;
  const env = process.env;
  const where = isInside(directory, env["NIX_BUILD_TOP"])
    ? "It is Nix's build directory: set `build-dir` in nix.conf (older Nix: the nix-daemon's TMPDIR) to a file system with room."
    : isInside(directory, tmpdir())
      ? "It is in the temporary directory (TMPDIR), where `nix-model-repo prefetch`, `add` and `update` download: point TMPDIR at a file system with room (e.g. `TMPDIR=/var/tmp`)."
      : isInside(directory, env["NIX_STORE_DIR"] || "/nix/store")
        ? "It is the Nix store: `nix-collect-garbage` removes what no GC root keeps; or grow the file system that holds it."
        : "Or write the output (--out) to a file system with room.";
  return {
    what: `Not enough space to download ${subject ?? "the model"}`,
    context: { to: directory, needed: humanBytes(needed), available: humanBytes(available) },
    cause: `the files need ${humanBytes(needed)} (${needed} bytes) and ${humanBytes(available)} (${available} bytes) are free there`,
    fix: [`Free at least ${humanBytes(needed - available)} on the file system that holds ${directory}.`, where],
  };
}

const NETWORK_FIXES = [
  "Check the network connection and proxy settings (https_proxy, no_proxy, network.proxy), then try again.",
  "On a slow or flaky link, raise network.retry.maxAttempts or network.timeout.read.",
];

/** The explanation of a failure by its code, for what no source recognised. */
function generic(failure: Failure, download: DownloadFailure | undefined, subject: string | undefined): Explanation {
  const file = download?.file;
  const base = {
    what: file ? `Failed to download ${file}` : `Failed to fetch ${subject ?? "the model"}`,
    context: {
      ...(download ? { from: download.from } : {}),
      ...(failure instanceof TransferFailure && failure.url !== undefined ? { url: failure.url } : {}),
    },
    cause: failure.message,
  };
  switch (failure.code) {
    case "NMR_NETWORK":
      return { ...base, fix: NETWORK_FIXES };
    case "NMR_TLS":
      return {
        ...base,
        fix: [
          "If a proxy or private CA signs this host, point SSL_CERT_FILE or NIX_SSL_CERT_FILE at a CA bundle that includes it; verification is never turned off.",
        ],
      };
    case "NMR_AUTH":
      return {
        ...base,
        fix: [
          `Check that the token is given to the fetcher and has access to ${file ? "this file" : "this model"} (inside Nix builds: the daemon's environment).`,
        ],
        help: AUTH_DOCS,
      };
    case "NMR_NOT_FOUND":
      return {
        ...base,
        fix: [
          file
            ? "Check that the file still exists at this revision/version."
            : "Check the name, the revision or version, and the endpoint.",
        ],
      };
    case "NMR_RATE_LIMITED":
      return {
        ...base,
        fix: ["The server is rate limiting: wait a few minutes, or use a token (higher limits), then try again."],
      };
    case "NMR_SERVER":
      return { ...base, fix: ["The server is having trouble: try again later.", ...NETWORK_FIXES.slice(1)] };
    case "NMR_HTTP":
      return {
        ...base,
        fix: ["Check the URL and the endpoint: the server answered with a status the fetcher does not expect."],
      };
    case "NMR_BAD_RESPONSE":
      if (failure instanceof TransferFailure && /html/i.test(failure.headers["content-type"] ?? "")) {
        return {
          ...base,
          fix: [
            "The server answered with a web page (HTML) where its API answers JSON: check the endpoint (the API's base URL, such as https://huggingface.co, not a page of the site).",
            "A proxy, firewall or captive portal may have answered instead: try without it (network.proxy, https_proxy).",
          ],
        };
      }
      return {
        ...base,
        fix: [
          "The server (or a proxy in between) answered something the fetcher cannot use: try again, and without the proxy; if it persists, report it with this message.",
        ],
      };
    case "NMR_INTEGRITY":
      return {
        ...base,
        what: file
          ? `Downloaded ${file} does not match what the source lists for it`
          : "An answer of the source does not match its digest",
        cause: `${failure.message}${download && download.downloads > 1 ? ` (downloaded ${download.downloads} times)` : ""}`,
        fix: [
          "The file may have changed on the server after it was listed: run the fetch again, or pin a commit/version.",
          "A proxy or cache between you and the server may alter the file: try without it (network.proxy, https_proxy).",
        ],
      };
    case "NMR_UNVERIFIABLE":
      return {
        ...base,
        what: `Cannot verify ${file ?? "a file"}`,
        fix: ["The source listed a digest the fetcher cannot check this way: report it with this message."],
      };
    case "NMR_DISK": {
      if (failure instanceof InsufficientSpaceFailure) return notEnoughSpace(failure, subject);
      const disk = failure instanceof DiskFailure ? failure : undefined;
      return {
        ...base,
        what: `Failed to write ${file ?? disk?.path ?? "the output"}`,
        context: { ...base.context, ...(disk ? { to: disk.path } : {}) },
        fix: [
          disk?.errno === "ENOSPC" || disk?.errno === "EDQUOT"
            ? "Free space where the output is written (the Nix store, or --out)."
            : "Check that the output directory is writable (the Nix store, or --out).",
        ],
      };
    }
    case "NMR_BAD_SPEC": {
      const document = failure instanceof SpecFailure ? failure.document : undefined;
      return {
        what: failure.message,
        fix: document?.fix ?? [],
        ...(document?.help ? { help: document.help } : {}),
      };
    }
  }
}
