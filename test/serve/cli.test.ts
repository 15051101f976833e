/** `nix-model-repo serve`: flags, printed lines, token file, stopping; run in-process via runServe. */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServe } from "../../src/cli/commands/serve.js";
import type { HubServer } from "../../src/serve/index.js";
import { UserError } from "../../src/errors/user-error.js";
import { redact } from "../../src/util/secrets.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";

const TOKEN = "hf_cliAcceptedToken11112222333344445555";
let root: string;

beforeAll(async () => {
  root = await makeTempDir("serve-cli-");
  await writeHubRepo(join(root, "hub"), {
    repoId: "acme/tiny",
    files: { "config.json": "{}\n", "model.safetensors": "w" },
  });
  await writeHubRepo(join(root, "hub"), { repoId: "acme/gated", files: { "config.json": "{}\n" }, gated: true });
  await writeFile(join(root, "tokens"), `# accepted tokens\n\n${TOKEN}\n`);
  await chmod(join(root, "tokens"), 0o600);
});

afterAll(async () => removeDir(root));

/** Starts the command, runs `body` against the live server, then stops it like Ctrl-C would. */
async function withServe(
  argv: string[],
  body: (server: HubServer, output: () => string) => Promise<void>,
): Promise<number> {
  const stdout = new PassThrough();
  let printed = "";
  stdout.on("data", (chunk: Buffer) => (printed += chunk.toString()));
  const stop = new AbortController();
  let server: HubServer | undefined;
  let listening!: () => void;
  const started = new Promise<void>((resolve) => (listening = resolve));
  const running = runServe(argv, {
    stdout,
    stop: stop.signal,
    onListening: (live) => {
      server = live;
      listening();
    },
  });
  await Promise.race([started, running]);
  try {
    if (server) await body(server, () => printed);
  } finally {
    stop.abort();
  }
  return running;
}

describe("serve command", () => {
  it("prints the URL, the repos and the HF_ENDPOINT line, serves, and stops with status 0", async () => {
    const status = await withServe(
      [join(root, "hub"), "--port", "0", "--token-file", join(root, "tokens")],
      async (server, output) => {
        const text = output();
        expect(text).toContain(`Serving 2 repo(s) from ${join(root, "hub")} on ${server.url}`);
        expect(text).toMatch(/model\s+acme\/gated\s+main=[0-9a-f]{10}\s+1 files\s+gated \(auto\)/);
        expect(text).toMatch(/model\s+acme\/tiny\s+main=[0-9a-f]{10}\s+2 files/);
        expect(text).toContain(`export HF_ENDPOINT=${server.url}`);
        expect(text).not.toContain(TOKEN);
        const gated = await fetch(`${server.url}/acme/gated/resolve/main/config.json`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        expect(gated.status).toBe(200);
        expect(server.requests).toEqual([]); // a long-running mirror keeps no request log
      },
    );
    expect(status).toBe(0);
    expect(redact(`token ${TOKEN}`)).toBe("token ***"); // registered as a secret when read
  });

  it("--gated and --private mark repos without touching their folders", async () => {
    await withServe(
      [join(root, "hub"), "--port", "0", "--gated", "acme/tiny", "--private", "acme/gated"],
      async (server, output) => {
        expect(output()).toMatch(/acme\/tiny .*gated \(auto\)/);
        expect(output()).toMatch(/acme\/gated .*gated \(auto\), private/);
        expect((await fetch(`${server.url}/acme/tiny/resolve/main/config.json`)).status).toBe(401);
        expect((await fetch(`${server.url}/api/models/acme/gated`)).headers.get("x-error-code")).toBe("RepoNotFound");
      },
    );
  });

  it("answers LFS with redirects to --cdn-host", async () => {
    await withServe(
      [join(root, "hub"), "--port", "0", "--cdn-host", "127.0.0.2", "--page-size", "1"],
      async (server, output) => {
        expect(output()).toContain(`LFS files redirect to http://127.0.0.2:${server.port}/cdn-lfs/`);
        const response = await fetch(`${server.url}/acme/tiny/resolve/main/model.safetensors`, { redirect: "manual" });
        expect(new URL(response.headers.get("location")!).host).toBe(`127.0.0.2:${server.port}`);
        expect((await fetch(`${server.url}/api/models/acme/tiny/tree/main`)).headers.get("link")).toBeTruthy();
      },
    );
  });

  it("refuses bad input with usage errors (exit 2) or a clear UserError", async () => {
    const stop = new AbortController();
    stop.abort();
    const io = { stdout: new PassThrough(), stop: stop.signal };
    const failures: Array<[string[], number, RegExp]> = [
      [[], 2, /missing DIR/],
      [[root, root], 2, /expected one DIR/],
      [[root, "--port", "x"], 2, /--port must be a non-negative integer/],
      [[root, "--port", "70000"], 2, /at most 65535/],
      [[root, "--token", "hf_x"], 2, /Unknown option '--token'/],
      [[root, "--cdn-url", "ftp://x"], 2, /--cdn-url must be an http\(s\) URL/],
      [[root, "--cdn-url", "http://a", "--cdn-host", "127.0.0.2"], 2, /either --cdn-url or --cdn-host/],
      [[join(root, "nope")], 1, /DIR does not exist/],
      [[join(root, "tokens")], 1, /DIR is not a directory/],
      [[root, "--token-file", join(root, "missing-tokens")], 1, /cannot read the token file/],
    ];
    for (const [argv, exitCode, message] of failures) {
      const error = await runServe(argv, io).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, argv.join(" ")).toBeInstanceOf(UserError);
      expect([argv.join(" "), (error as UserError).exitCode]).toEqual([argv.join(" "), exitCode]);
      expect((error as UserError).message).toMatch(message);
    }
  });

  it("says clearly when the port is taken", async () => {
    await withServe([join(root, "hub"), "--port", "0"], async (server) => {
      const stop = new AbortController();
      const error = await runServe([join(root, "hub"), "--port", String(server.port)], {
        stdout: new PassThrough(),
        stop: stop.signal,
      }).catch((thrown: unknown) => thrown);
      expect((error as UserError).message).toMatch(/cannot listen on 127\.0\.0\.1:\d+[\s\S]*EADDRINUSE[\s\S]*--port/);
    });
  });
});
