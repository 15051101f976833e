/** `nix-model-repo serve --xet REPO` and the `.xet` marker, through the command itself. */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runServe } from "../../src/cli/commands/serve.js";
import type { HubServer } from "../../src/serve/index.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";
import { makeTempDir, removeDir } from "./harness.js";

let root: string;

beforeAll(async () => {
  root = await makeTempDir("serve-xet-cli-");
  await writeHubRepo(root, { repoId: "acme/flagged", files: { "model.safetensors": "weights one" } });
  const marked = await writeHubRepo(root, { repoId: "acme/marked", files: { "model.safetensors": "weights two" } });
  await writeFile(join(marked.folder, ".xet"), "");
  await writeHubRepo(root, { repoId: "acme/plain", files: { "model.safetensors": "weights three" } });
});

afterAll(async () => removeDir(root));

async function withServe(argv: string[], body: (server: HubServer, output: string) => Promise<void>): Promise<void> {
  const stdout = new PassThrough();
  let printed = "";
  stdout.on("data", (chunk: Buffer) => {
    printed += chunk.toString();
  });
  const stop = new AbortController();
  let server: HubServer | undefined;
  const started = new Promise<void>((resolve) => {
    runServe(argv, {
      stdout,
      stop: stop.signal,
      onListening: (live) => {
        server = live;
        resolve();
      },
    }).catch(() => resolve());
  });
  await started;
  try {
    expect(server).toBeDefined();
    await body(server!, printed);
  } finally {
    stop.abort();
  }
}

describe("serve --xet", () => {
  it("serves the flagged and the marked repo through Xet, and the others as before", async () => {
    await withServe([root, "--port", "0", "--xet", "acme/flagged"], async (server, output) => {
      expect(output).toMatch(/acme\/flagged .*xet/);
      expect(output).toMatch(/acme\/marked .*xet/);
      expect(output).not.toMatch(/acme\/plain .*xet/);
      const xetHash = async (repo: string) =>
        (await fetch(`${server.url}/${repo}/resolve/main/model.safetensors`, { method: "HEAD" })).headers.get(
          "x-xet-hash",
        );
      expect(await xetHash("acme/flagged")).toMatch(/^[0-9a-f]{64}$/);
      expect(await xetHash("acme/marked")).toMatch(/^[0-9a-f]{64}$/);
      expect(await xetHash("acme/plain")).toBeNull();
    });
  });

  it("writes the xorbs into --xet-dir, named by hash, and keeps them when it stops", async () => {
    const xorbs = join(root, "xorbs");
    await withServe([root, "--port", "0", "--xet", "acme/flagged", "--xet-dir", xorbs], async (server) => {
      const head = await fetch(`${server.url}/acme/flagged/resolve/main/model.safetensors`, { method: "HEAD" });
      expect(head.headers.get("x-xet-hash")).toMatch(/^[0-9a-f]{64}$/);
    });
    const names = await readdir(xorbs);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers each xorb request --xorb-delay-ms late, and nothing else", async () => {
    const delayMs = 400;
    await withServe(
      [root, "--port", "0", "--xet", "acme/flagged", "--xorb-delay-ms", String(delayMs)],
      async (server) => {
        const timed = async (url: string, init?: RequestInit) => {
          const started = performance.now();
          const response = await fetch(url, init);
          await response.arrayBuffer();
          return { response, ms: performance.now() - started };
        };
        const head = await timed(`${server.url}/acme/flagged/resolve/main/model.safetensors`, { method: "HEAD" });
        expect(head.ms).toBeLessThan(delayMs);
        const tokenUrl = /<([^>]+)>; rel="xet-auth"/.exec(head.response.headers.get("link") ?? "")![1]!;
        const { accessToken, casUrl } = (await (await fetch(tokenUrl)).json()) as {
          accessToken: string;
          casUrl: string;
        };
        const hash = head.response.headers.get("x-xet-hash")!;
        const reconstruction = (await (
          await fetch(`${casUrl}/v1/reconstructions/${hash}`, { headers: { Authorization: `Bearer ${accessToken}` } })
        ).json()) as { fetch_info: Record<string, Array<{ url: string; url_range: { start: number; end: number } }>> };
        const [entry] = Object.values(reconstruction.fetch_info)[0]!;
        const xorb = await timed(entry!.url, {
          headers: { Range: `bytes=${entry!.url_range.start}-${entry!.url_range.end}` },
        });
        expect(xorb.response.status).toBe(206);
        expect(xorb.ms).toBeGreaterThanOrEqual(delayMs - 5);
      },
    );
  });

  it("refuses a --xorb-delay-ms that is not a whole number of milliseconds, or over a minute", async () => {
    await expect(
      runServe([root, "--port", "0", "--xorb-delay-ms", "0.5"], {
        stdout: new PassThrough(),
        stop: new AbortController().signal,
      }),
    ).rejects.toThrow(/--xorb-delay-ms must be a non-negative integer, got '0.5'/);
    await expect(
      runServe([root, "--port", "0", "--xorb-delay-ms", "3000000000"], {
        stdout: new PassThrough(),
        stop: new AbortController().signal,
      }),
    ).rejects.toThrow(/--xorb-delay-ms must be at most 60000/);
  });
});
