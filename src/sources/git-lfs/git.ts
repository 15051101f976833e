import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { UserError } from "../../errors/user-error.js";
import { redact } from "../../util/secrets.js";
import { TransferFailure } from "../../errors/failures.js";
import type { HttpSettings } from "../../http/settings.js";

/**
 * Running `git` for the git-lfs source in an environment built from scratch: nothing of
 * the user's or the system's git configuration in play (no ~/.gitconfig, no /etc/gitconfig,
 * no credential helpers or askpass programs, no prompts), only the http(s) transports, and
 * LFS smudging off. Credentials reach git
 * as an `http.<url>.extraHeader` through GIT_CONFIG_COUNT/KEY/VALUE variables, so they
 * are in no argv (visible to every user in `ps`) and in no file.
 *
 * The executable is $NIX_MODEL_REPO_GIT (set by the Nix library to pkgs.git, since a
 * fixed-output build has no PATH), else `git` from PATH (prefetch on a user's machine).
 */
export interface GitRunner {
  /** Runs git, returns stdout; fails with a UserError carrying git's (redacted) stderr. */
  run(args: readonly string[], options?: { readonly input?: string; readonly signal?: AbortSignal }): Promise<Buffer>;
  /** Streams the stdout of a git command (cat-file blob): a failure surfaces while reading. */
  stream(args: readonly string[], signal: AbortSignal): Readable;
}

export interface GitRunnerOptions {
  /** The bare repository (--git-dir). */
  readonly gitDir: string;
  /** An empty directory to be HOME, so nothing is read from the real one. */
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  /** `http.<prefix>.extraHeader` values: only URLs under the prefix get them. */
  readonly extraHeaders?: readonly { readonly urlPrefix: string; readonly header: string }[];
  /** What the failure messages name ("https://host/org/repo.git"). */
  readonly describe: string;
  /** The spec's network settings that git can honour: explicit proxies, and how long a transfer may stall. */
  readonly network?: { readonly proxy: HttpSettings["proxy"]; readonly readTimeoutMs: number };
}

/** The variables git takes its proxies from. */
const PROXY_VARIABLES = [
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
];

/** Variables passed through to git from the fetcher's environment: proxies and TLS roots. */
const PASSED_THROUGH = [
  ...PROXY_VARIABLES,
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NIX_SSL_CERT_FILE",
  "GIT_SSL_CAINFO",
  "TZ",
];

export function gitExecutable(env: NodeJS.ProcessEnv): string {
  return env["NIX_MODEL_REPO_GIT"] || "git";
}

export function gitEnvironment(options: GitRunnerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: options.env["PATH"] ?? "/path-not-set",
    HOME: options.home,
    XDG_CONFIG_HOME: options.home,
    GIT_DIR: options.gitDir,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_ALLOW_PROTOCOL: "http:https",
    GIT_LFS_SKIP_SMUDGE: "1",
    LC_ALL: "C",
  };
  for (const name of PASSED_THROUGH) if (options.env[name] !== undefined) env[name] = options.env[name];
  const proxy = options.network?.proxy;
  if (proxy) {
    // network.proxy replaces the environment's proxies, for git as for the fetcher's own requests.
    for (const name of PROXY_VARIABLES) delete env[name];
    if (proxy.http) env["http_proxy"] = proxy.http;
    if (proxy.https) env["https_proxy"] = proxy.https;
    if (proxy.noProxy) env["no_proxy"] = proxy.noProxy;
  }
  // git uses libcurl's default roots unless told; Nix's builder sets SSL_CERT_FILE.
  const caFile = options.env["GIT_SSL_CAINFO"] ?? options.env["SSL_CERT_FILE"] ?? options.env["NIX_SSL_CERT_FILE"];
  if (caFile) env["GIT_SSL_CAINFO"] = caFile;
  const config: [string, string][] = [
    // No filters, hooks or helpers from anywhere: the repo is read, never checked out.
    ["filter.lfs.smudge", ""],
    ["filter.lfs.process", ""],
    ["filter.lfs.required", "false"],
    ["credential.helper", ""],
    ["core.hooksPath", "/dev/null"],
    ["protocol.version", "2"],
    // A stalled transfer fails (and is reported) instead of hanging the build: below 1 byte/s for the read timeout.
    ["http.lowSpeedLimit", "1"],
    ["http.lowSpeedTime", String(Math.max(1, Math.round((options.network?.readTimeoutMs ?? 300_000) / 1000)))],
    ...(options.extraHeaders ?? []).map(
      ({ urlPrefix, header }) => [`http.${urlPrefix}.extraHeader`, header] as [string, string],
    ),
  ];
  env["GIT_CONFIG_COUNT"] = String(config.length);
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  return env;
}

/**
 * git, spawned `detached` (a process group of its own), ended as a group when `signal` aborts
 * (a deadline, Ctrl-C, SIGTERM): killing git alone leaves the helper it started for HTTP
 * (git-remote-http) running, holding our pipes open and the fetcher alive until git's own
 * low-speed timeout.
 */
function endedAsGroup<C extends ChildProcess>(child: C, signal: AbortSignal | undefined): C {
  if (signal === undefined) return child;
  const stopGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // ESRCH: the group is already gone.
    }
  };
  if (signal.aborted) stopGroup();
  else signal.addEventListener("abort", stopGroup, { once: true });
  child.on("close", () => signal.removeEventListener("abort", stopGroup));
  return child;
}

export function createGitRunner(options: GitRunnerOptions): GitRunner {
  const executable = gitExecutable(options.env);
  const env = gitEnvironment(options);
  return {
    run(args, runOptions = {}) {
      return new Promise((resolve, reject) => {
        const child = endedAsGroup(
          spawn(executable, args, { env, stdio: ["pipe", "pipe", "pipe"], detached: true }),
          runOptions.signal,
        );
        const stdout: Buffer[] = [];
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => {
          if (stderr.length < 64 * 1024) stderr += chunk.toString("utf8");
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(runOptions.input ?? "");
        child.on("error", (error: NodeJS.ErrnoException) => reject(spawnFailure(error, executable)));
        child.on("close", (code) => {
          if (runOptions.signal?.aborted) reject(runOptions.signal.reason);
          else if (code === 0) resolve(Buffer.concat(stdout));
          else reject(new GitFailure(args, code, stderr, options.describe));
        });
      });
    },
    stream(args, signal) {
      const child = endedAsGroup(
        spawn(executable, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true }),
        signal,
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("error", (error: NodeJS.ErrnoException) => child.stdout.destroy(spawnFailure(error, executable)));
      child.on("close", (code) => {
        if (signal.aborted) child.stdout.destroy(signal.reason);
        else if (code !== 0) {
          child.stdout.destroy(
            new TransferFailure(`git ${args.join(" ")} failed (${code}): ${redact(stderr.trim())}`, {
              retryable: false,
              code: "NMR_BAD_RESPONSE",
            }),
          );
        }
      });
      return child.stdout;
    },
  };
}

/** A git command that failed; `stderr` is redacted. */
export class GitFailure extends Error {
  readonly stderr: string;
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    stderr: string,
    readonly repo: string,
  ) {
    const cleaned = redact(stderr.trim());
    super(`git ${args[0] ?? ""} failed (${code ?? "killed"}): ${cleaned.split("\n").slice(-3).join(" | ")}`);
    this.name = "GitFailure";
    this.stderr = cleaned;
  }
}

function spawnFailure(error: NodeJS.ErrnoException, executable: string): Error {
  if (error.code === "ENOENT") {
    return new UserError({
      what: `Cannot run git (${executable}): it is not installed`,
      fix: [
        "Inside Nix builds the library passes pkgs.git as $NIX_MODEL_REPO_GIT; check that the git-lfs source is used through fetchModel.",
        "For `nix-model-repo prefetch`, put git on PATH (nix-shell -p git).",
      ],
    });
  }
  return error;
}
