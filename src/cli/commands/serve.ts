import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { Command } from "../command.js";
import { integerFlag, parseCommandArgs, usageError } from "../args.js";
import { UserError } from "../../errors/user-error.js";
import { logger } from "../../util/log.js";
import { registerSecret } from "../../util/secrets.js";
import { startHubServer, type HubServer, type HubServerOptions } from "../../serve/index.js";

const DEFAULT_PORT = 8080;
/** A minute: longer is no CDN's first byte, and node cuts timers past 2^31 ms to 1 ms. */
const MAX_XORB_DELAY_MS = 60_000;

const usage = `usage: nix-model-repo serve DIR [--port N] [--host H] [--token-file F] [--gated REPO]... [--private REPO]...
                            [--xet REPO]... [--xet-dir DIR] [--xorb-delay-ms N] [--cdn-url URL | --cdn-host H]
                            [--page-size N]

Serves the Hugging Face repos found in DIR over the part of the Hub API that downloads use,
so huggingface_hub, transformers, @huggingface/hub and nix-model-repo itself can download
from it: an air-gapped mirror. Point clients at it with HF_ENDPOINT=<printed URL>.

DIR is an HF cache (folders models--org--name, datasets--…, spaces--…), a folder of fetched
outputs (directories or nix-build result links holding .nix-model-repo-meta.json), or one
repo folder. A gated repo (a file named .gated in its folder, or --gated) serves its files
only to callers with an accepted token; a private one (.private, or --private) is hidden
from everyone else.

options:
  --port N          port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --token-file F    accepted tokens, one per line ('#' comments allowed); tokens are never
                    taken on the command line, where other users could read them
  --gated REPO      treat REPO as gated (org/name, datasets/org/name, spaces/org/name);
                    for folders that cannot hold a marker, such as Nix store outputs
  --private REPO    treat REPO as private
  --xet REPO        also serve REPO's LFS files through Xet, as huggingface.co does (a file
                    named .xet in a repo folder does the same); see docs/serve.md
  --xet-dir DIR     write the xorbs, named by hash, into DIR (kept when the server stops)
                    instead of a temporary folder: for a CDN of your own to serve them at
                    <cdn-url>/xorbs/default/<hash>
  --xorb-delay-ms N wait N ms before answering each xorb request, as a CDN far away takes
                    to its first byte (for benchmarks; npm run bench, case 6)
  --cdn-url URL     answer LFS files with a 302 to URL/cdn-lfs/… (a name that reaches this
                    server), as huggingface.co redirects to its CDN
  --cdn-host H      like --cdn-url, but also listen on address H (same port), e.g. 127.0.0.2
  --page-size N     tree entries per page (default 1000, as the Hub)

Stops on Ctrl-C (SIGINT) or SIGTERM; SIGHUP re-scans DIR. NIX_MODEL_REPO_LOG=debug logs
every request. See docs/serve.md.`;

export interface ServeIo {
  readonly stdout: Writable;
  /** Aborted to stop serving (the command wires SIGINT/SIGTERM to it). */
  readonly stop: AbortSignal;
  /** Called once listening (tests read the URL from here). */
  readonly onListening?: (server: HubServer) => void;
  /** Re-scan requests (the command wires SIGHUP to it). */
  readonly onReloadRequest?: (reload: () => void) => void;
}

async function readTokenFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UserError({
      what: "cannot read the token file",
      context: { file: path },
      cause: error instanceof Error ? error.message : String(error),
      fix: ["Write one accepted token per line to that file (chmod 600), then pass --token-file again."],
    });
  }
  const tokens = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  tokens.forEach(registerSecret);
  if (tokens.length === 0) logger.warn(`${path} holds no token: gated and private repos will refuse every caller`);
  return tokens;
}

async function assertDirectory(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UserError({
      what: info ? "DIR is not a directory" : "DIR does not exist",
      context: { dir },
      fix: ["Pass an HF cache (e.g. ~/.cache/huggingface/hub) or a folder of fetched models."],
    });
  }
}

function cdnOption(values: { "cdn-url"?: string; "cdn-host"?: string }): HubServerOptions["cdn"] {
  if (values["cdn-url"] !== undefined && values["cdn-host"] !== undefined) {
    throw usageError("use either --cdn-url or --cdn-host, not both", usage);
  }
  if (values["cdn-host"] !== undefined) return { host: values["cdn-host"] };
  if (values["cdn-url"] === undefined) return undefined;
  try {
    const url = new URL(values["cdn-url"]);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new UserError({ what: `--cdn-url must be an http(s) URL, got '${values["cdn-url"]}'` }, { exitCode: 2 });
  }
  return { baseUrl: values["cdn-url"] };
}

function describeRepos(server: HubServer): string[] {
  const repos = server.repos();
  const width = Math.max(0, ...repos.map((repo) => repo.id.length));
  return repos.map((repo) => {
    const refs = Object.entries(repo.refs)
      .map(([name, commit]) => `${name}=${commit.slice(0, 10)}`)
      .join(" ");
    const marks = [repo.gated ? `gated (${repo.gated})` : "", repo.private ? "private" : "", repo.xet ? "xet" : ""]
      .filter(Boolean)
      .join(", ");
    return `  ${repo.type.padEnd(7)} ${repo.id.padEnd(width)}  ${refs || `${repo.commits.length} commit(s), no refs`}  ${repo.files} files${marks ? `  ${marks}` : ""}`;
  });
}

/** The command body, with its I/O injected so tests can run it in-process. */
export async function runServe(argv: readonly string[], io: ServeIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(usage, argv, {
    port: { type: "string" },
    host: { type: "string" },
    "token-file": { type: "string" },
    "cdn-url": { type: "string" },
    "cdn-host": { type: "string" },
    "page-size": { type: "string" },
    gated: { type: "string", multiple: true },
    private: { type: "string", multiple: true },
    xet: { type: "string", multiple: true },
    "xet-dir": { type: "string" },
    "xorb-delay-ms": { type: "string" },
  });
  const [dir, ...extra] = positionals;
  if (dir === undefined || extra.length > 0) {
    throw usageError(dir === undefined ? "missing DIR" : `expected one DIR, got ${positionals.length}`, usage);
  }
  const port = integerFlag("port", values.port, DEFAULT_PORT);
  const pageSize = integerFlag("page-size", values["page-size"], 1000);
  const xorbDelayMs = integerFlag("xorb-delay-ms", values["xorb-delay-ms"], 0);
  if (xorbDelayMs > MAX_XORB_DELAY_MS) {
    throw new UserError({ what: `--xorb-delay-ms must be at most ${MAX_XORB_DELAY_MS} (a minute)` }, { exitCode: 2 });
  }
  if (port > 65535 || pageSize < 1) {
    throw new UserError(
      { what: port > 65535 ? `--port must be at most 65535` : `--page-size must be at least 1` },
      { exitCode: 2 },
    );
  }
  await assertDirectory(dir);
  const tokens = values["token-file"] === undefined ? [] : await readTokenFile(values["token-file"]);
  const host = values.host ?? "127.0.0.1";

  let server: HubServer;
  try {
    server = await startHubServer({
      root: dir,
      host,
      port,
      pageSize,
      tokens,
      gated: values.gated ?? [],
      private: values.private ?? [],
      xet: { repos: values.xet ?? [], ...(values["xet-dir"] === undefined ? {} : { directory: values["xet-dir"] }) },
      cdn: cdnOption(values),
      ...(xorbDelayMs > 0 && {
        faults: (request) => (request.route === "xet-xorb" ? { delayMs: xorbDelayMs } : undefined),
      }),
      recordRequests: false,
      onWarning: (message) => logger.warn(message),
      // An access log at debug level (NIX_MODEL_REPO_LOG=debug); queries may hold CDN signatures.
      onRequest: (request) => logger.debug(`${request.method} ${request.url.split("?")[0]} ${request.status ?? "-"}`),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EACCES") {
      throw new UserError(
        {
          what: `cannot listen on ${host}:${port}`,
          cause: code,
          fix: [
            code === "EADDRINUSE"
              ? "Pick another port with --port N (or --port 0 for a free one)."
              : "Pick an address of this machine with --host (and --cdn-host).",
          ],
        },
        { cause: error },
      );
    }
    throw error;
  }

  const repos = server.repos();
  const lines = [`Serving ${repos.length} repo(s) from ${dir} on ${server.url}`, ...describeRepos(server)];
  if (repos.length === 0) {
    const hub = join(dir, "hub");
    const hint = (await stat(hub).catch(() => undefined))?.isDirectory() ? ` (did you mean ${hub}?)` : "";
    logger.warn(`no Hub repo folders found in ${dir}${hint}`);
  }
  if (server.cdnUrl) lines.push(`LFS files redirect to ${server.cdnUrl}/cdn-lfs/…`);
  if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost" && tokens.length === 0) {
    logger.warn(
      `listening on ${host} without --token-file: every non-gated repo is readable by anyone who can reach it`,
    );
  }
  lines.push("", "Use it with:", `  export HF_ENDPOINT=${server.url}`, "");
  io.stdout.write(lines.join("\n"));
  io.onListening?.(server);
  io.onReloadRequest?.(() => {
    server.reload().then(
      () => logger.info(`re-scanned ${dir}: ${server.repos().length} repo(s)`),
      (error: unknown) =>
        logger.warn(`re-scan of ${dir} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  });

  if (!io.stop.aborted) await new Promise((resolve) => io.stop.addEventListener("abort", resolve, { once: true }));
  await server.close();
  return 0;
}

const serve: Command = {
  usage,
  async run(argv) {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    let onHangup: (() => void) | undefined;
    try {
      return await runServe(argv, {
        stdout: process.stdout,
        stop: stop.signal,
        onReloadRequest: (reload) => {
          onHangup = reload;
          process.on("SIGHUP", reload);
        },
      });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      if (onHangup) process.off("SIGHUP", onHangup);
    }
  },
};

export default serve;
