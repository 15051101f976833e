/**
 * An interrupted `prefetch` or `add` leaves nothing behind (issue 14, item 6): the bundled
 * CLI downloads a file from a server on loopback that sends it slowly, and is sent SIGINT (or
 * SIGTERM) while the file is half written. It must exit as a shell does (128 + the signal)
 * and leave no nix-model-repo-prefetch-* or -lock-* directory and no .incomplete file in its
 * TMPDIR; `add` leaves the lockfile as it was.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { cliPath } from "../helpers/cli.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();
let runs = 0;
const prefetch = (target: string) => ["prefetch", target];

/** Every path under `dir`, relative. */
async function everythingUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

async function interruptMidDownload(signal: "SIGINT" | "SIGTERM", command: (target: string) => string[] = prefetch) {
  const tmp = join(bed.dir.path, `tmp-${++runs}`);
  await mkdir(tmp);
  const path = `/slow-${runs}/model.bin`;
  // 1 MiB at 200 KiB/s: the download is under way for seconds.
  bed.server.serveGenerated(path, 1024 * 1024, runs, { trickleBytesPer100Ms: 20 * 1024 });
  const child = spawn(process.execPath, [cliPath, ...command(`url:${bed.server.url(path)}`)], {
    env: { ...process.env, TMPDIR: tmp, NIX_MODEL_REPO_PROGRESS: "plain" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  // Wait until the file is being written, then interrupt.
  for (;;) {
    const paths = await everythingUnder(tmp);
    if (paths.some((entry) => entry.endsWith(".incomplete")) && bed.server.requestsFor(path)[0]?.bytesSent) break;
    await sleep(20);
  }
  child.kill(signal);
  return { code: await exited, stderr, tmp };
}

describe("an interrupted prefetch", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("on %s exits with %d and leaves no directory and no .incomplete file", async (signal, status) => {
    const { code, stderr, tmp } = await interruptMidDownload(signal);
    expect(code, stderr).toBe(status);
    expect(stderr).toContain(`interrupted by ${signal}: stopped, and removed what it had written`);
    expect(await everythingUnder(tmp)).toEqual([]);
  });
});

describe("an interrupted add", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("on %s exits with %d, leaves the lockfile as it was, and no directory", async (signal, status) => {
    const lock = join(bed.dir.path, `models-${signal}.lock.json`);
    const before = '{\n  "lockVersion": 1,\n  "models": {}\n}\n';
    await writeFile(lock, before);
    const { code, stderr, tmp } = await interruptMidDownload(signal, (target) => [
      "add",
      "slow",
      target,
      "--lock",
      lock,
    ]);
    expect(code, stderr).toBe(status);
    expect(stderr).toContain(`interrupted by ${signal}: stopped, and removed what it had written`);
    expect(await everythingUnder(tmp)).toEqual([]);
    expect(await readFile(lock, "utf8")).toBe(before);
  });
});

describe("an interrupted verify", () => {
  it("of a git source on SIGTERM exits with 143, ends git and its HTTP helper, and removes the scratch clone", async () => {
    // A git host that accepts connections and never answers: git waits, and so would verify.
    const held: Socket[] = [];
    const host = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/org/model.git`;
    const commit = "1".repeat(40);
    const tmp = join(bed.dir.path, `tmp-${++runs}`);
    await mkdir(tmp);
    const lock = join(tmp, "..", `verify-${runs}.lock.json`);
    const oid = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
    const readme = { path: "README.md", size: 5, large: false, blob: oid, ids: { gitOid: oid } };
    await writeFile(
      lock,
      JSON.stringify({
        lockVersion: 1,
        models: {
          tiny: {
            source: { target: `git-lfs:${url}@${commit}` },
            layout: { kind: "huggingface", refs: [] },
            resolved: { commit },
            recorded: { type: "git-lfs", rev: commit, lfsFiles: null },
            files: [{ ...readme, sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" }],
            smallFiles: { narHash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
          },
        },
      }),
    );
    const gitProcesses = () =>
      execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.includes(url));
    try {
      const child = spawn(process.execPath, [cliPath, "verify", "--lock", lock], {
        env: { ...process.env, TMPDIR: tmp },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      while (held.length === 0) await sleep(20);
      expect((await everythingUnder(tmp)).some((entry) => entry.startsWith("nix-model-repo-git-"))).toBe(true);
      child.kill("SIGTERM");
      expect(await exited, stderr).toBe(143);
      expect(await everythingUnder(tmp)).toEqual([]);
      expect(gitProcesses()).toEqual([]);
    } finally {
      for (const socket of held) socket.destroy();
      host.close();
    }
  }, 30_000);
});
