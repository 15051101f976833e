import type { Explanation } from "../../errors/explain.js";
import { type Failure, TransferFailure } from "../../errors/failures.js";
import type { FailureContext } from "../../errors/render.js";
import type { FoundToken } from "../../auth/token.js";

/**
 * The Hub source's explain hook: a failed Hub call in words a user can act on. The Hub
 * says what went wrong in `X-Error-Code` (huggingface_hub utils/_http.py,
 * hf_raise_for_status); the fix depends on whether a token was sent, and where it came from.
 */
export interface HubFailureContext {
  readonly endpoint: string;
  readonly repo: string;
  readonly repoType: string;
  readonly revision: string;
  /** The commit a lockfile pins, asked for instead of the revision (AdapterContext.pinned). */
  readonly pinned?: string | undefined;
  readonly token: FoundToken | null;
}

const AUTH_DOCS = "docs/authentication.md";

const DAEMON_HINT =
  "Builds run in the Nix daemon's environment, not your shell's: give the daemon the token (systemd EnvironmentFile with HF_TOKEN=..., or auth.tokenFile plus extra-sandbox-paths).";

export function explainHubFailure(failure: Failure, context: HubFailureContext): Explanation | undefined {
  if (!(failure instanceof TransferFailure) || failure.status === undefined) return undefined;
  const code = failure.headers["x-error-code"];
  const serverMessage = failure.headers["x-error-message"];
  const page = `${context.endpoint}/${context.repoType === "model" ? "" : `${context.repoType}s/`}${context.repo}`;
  const where: FailureContext = {
    source: "huggingface",
    repo: context.repo,
    revision: context.revision,
    endpoint: context.endpoint,
    token: context.token ? `from ${context.token.origin}` : "none (anonymous)",
  };
  const cause = `HTTP ${failure.status}${code ? ` (${code})` : ""}${serverMessage ? `: ${serverMessage}` : ""}`;
  const tokenSteps = [
    `Create a read token at ${context.endpoint}/settings/tokens.`,
    'Give it to the fetcher: `export HF_TOKEN=hf_...` for a single-user Nix or `nix-model-repo prefetch`, or `auth.tokenFile = "/run/secrets/hf-token";`.',
    DAEMON_HINT,
  ];

  if (code === "GatedRepo") {
    return {
      what: `${context.repo} is a gated repository: its files need an accepted licence and a token`,
      context: where,
      cause,
      fix: context.token
        ? [
            `Open ${page} while logged in with the account the token belongs to, and accept the licence (access may need approval).`,
            "Make sure the token has read access to gated repositories.",
          ]
        : [`Open ${page}, log in and accept the licence.`, ...tokenSteps],
      help: AUTH_DOCS,
    };
  }
  if (code === "RevisionNotFound" && context.pinned !== undefined) {
    return {
      what: `${context.repo} no longer has commit ${context.pinned}, which the lockfile pins`,
      context: { ...where, commit: context.pinned },
      cause,
      fix: [
        "The repo's history was rewritten upstream (a force-push), or the repo was replaced by another of the same name.",
        "`nix-model-repo verify` tells what changed; `nix-model-repo update NAME` locks what the source has now.",
      ],
    };
  }
  if (code === "RevisionNotFound") {
    return {
      what: `Revision '${context.revision}' does not exist in ${context.repo}`,
      context: where,
      cause,
      fix: [`List branches and tags at ${page}/tree/main, or use a 40-character commit id.`],
    };
  }
  if (
    code === "RepoNotFound" ||
    ((failure.status === 401 || failure.status === 404) && code === undefined && !context.token)
  ) {
    return {
      what: `Repository ${context.repo} was not found (or is private)`,
      context: where,
      cause,
      fix: context.token
        ? [
            `Check the repo id and type (repoType = "${context.repoType}") at ${page}.`,
            "If it is private, check that the token's account can read it.",
          ]
        : [
            `Check the repo id and type (repoType = "${context.repoType}") at ${page}.`,
            "If it is private, a token is needed:",
            ...tokenSteps,
          ],
      help: AUTH_DOCS,
    };
  }
  if (failure.status === 401) {
    return {
      what: `The Hub refused the token for ${context.repo}`,
      context: where,
      cause,
      fix: ["The token is invalid or expired: create a new one and give it to the fetcher.", ...tokenSteps.slice(0, 1)],
      help: AUTH_DOCS,
    };
  }
  if (failure.status === 429) {
    return {
      what: `The Hub is rate-limiting requests for ${context.repo}`,
      context: where,
      cause,
      fix: [
        "Wait a few minutes and build again.",
        "Authenticated requests get higher limits: give the fetcher a token.",
      ],
    };
  }
  if (failure.status >= 500) {
    return {
      what: `The Hub request for ${context.repo} failed`,
      context: where,
      cause,
      fix: ["The Hub or the mirror is having trouble; build again later."],
    };
  }
  return undefined;
}
