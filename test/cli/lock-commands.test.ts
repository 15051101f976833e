/**
 * `nix-model-repo add` and `update` as a user runs them: usage, exit codes, the one error
 * format; hostile listings refused with the lockfile untouched; a lockfile never
 * half-written, even when the disk is full or the command is killed. (The downloads and
 * the Nix builds are in test/e2e/lock-*.test.ts.)
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLockFile } from "../../src/lockfile/index.js";
import { faults, type HubServer, match, startHubServer } from "../../src/serve/index.js";
import { cliPath, runCli } from "../helpers/cli.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";

/** nix-store hidden: these tests are about the lockfile, not the store. */
const noNix = { PATH: "/nonexistent", HF_TOKEN: "" };

describe("add and update on the command line", () => {
  let root: string;
  let dir: string;
  let hub: HubServer;
  const env = () => ({ ...noNix, HF_ENDPOINT: hub.url });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-lock-cli-hub-"));
    dir = await mkdtemp(join(tmpdir(), "nmr-lock-cli-"));
    await writeHubRepo(root, {
      repoId: "acme/tiny",
      files: { "config.json": '{"a":1}', "model.safetensors": randomBytes(3000) },
    });
    await writeHubRepo(root, { repoId: "acme/hostile", files: { "config.json": "{}" } });
    hub = await startHubServer({ root });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it("documents its options and exit codes", async () => {
    for (const command of ["add", "update"]) {
      const help = await runCli([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("--lock FILE");
      expect(help.stdout).toContain("--json");
      expect(help.stdout).toContain("exit status:");
    }
    const top = await runCli(["--help"]);
    expect(top.stdout).toMatch(/add\s+Lock a model/);
    expect(top.stdout).toMatch(/update\s+Move locked models/);
  });

  it("refuses bad usage with exit status 2", async () => {
    const lock = join(dir, "usage.lock.json");
    expect((await runCli(["add", "tiny"], { env: env() })).code).toBe(2);
    const badName = await runCli(["add", "../x", "hf:acme/tiny", "--lock", lock], { env: env() });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("NAME '../x' must be letters, digits");
    const badType = await runCli(["add", "x", "hf:acme/tiny", "--repo-type", "weights", "--lock", lock], {
      env: env(),
    });
    expect(badType.code).toBe(2);
    const missing = await runCli(["update", "--lock", join(dir, "none.lock.json")], { env: env() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Cannot read the lockfile");
    expect(missing.stderr).toContain("nix-model-repo add NAME TARGET");
  });

  it("adds an entry once; again only with --replace; update names the models it does not have", async () => {
    const lock = join(dir, "models.lock.json");
    const first = await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock, "--json"], { env: env() });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ name: "tiny", files: 2, storePaths: null });
    const before = await readFile(lock, "utf8");

    const again = await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already locks a model named tiny");
    expect(again.stderr).toContain("nix-model-repo update tiny");
    expect(await readFile(lock, "utf8")).toBe(before);
    const replaced = await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock, "--replace", "--files", "*.json"], {
      env: env(),
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(parseLockFile(await readFile(lock), lock).models["tiny"]!.files.map((f) => f.path)).toEqual(["config.json"]);

    const unknown = await runCli(["update", "tiny", "tinny", "--lock", lock], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('has no model named "tinny"; it has tiny');
  });

  it("never moves a model pinned to a commit, and does not ask the source", async () => {
    const lock = join(dir, "pinned.lock.json");
    const added = await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock, "--json"], { env: env() });
    const commit = JSON.parse(added.stdout).resolved.commit as string;
    const pinned = await runCli(["add", "pinned", `hf:acme/tiny@${commit}`, "--lock", lock], { env: env() });
    expect(pinned.code, pinned.stderr).toBe(0);
    const before = await readFile(lock, "utf8");
    hub.clearRequests();
    const result = await runCli(["update", "pinned", "--lock", lock, "--json"], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).models).toEqual([
      expect.objectContaining({
        name: "pinned",
        status: "pinned",
        pinnedTo: `commit ${commit}`,
        download: { files: 0, bytes: 0 },
      }),
    ]);
    expect(hub.requests).toHaveLength(0);
    expect(await readFile(lock, "utf8")).toBe(before);
  });

  it("refuses a hand-edited lock before touching the network, naming the entry and field", async () => {
    const lock = join(dir, "edited.lock.json");
    await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock], { env: env() });
    const json = JSON.parse(await readFile(lock, "utf8"));
    json.models.tiny.files[0].path = "../../etc/passwd";
    await writeFile(lock, JSON.stringify(json));
    hub.clearRequests();
    for (const args of [["update"], ["add", "other", "hf:acme/tiny"]]) {
      const result = await runCli([...args, "--lock", lock], { env: env() });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `Invalid lockfile ${lock}: models."tiny".files[0].path must not have a '..' segment`,
      );
    }
    expect(hub.requests).toHaveLength(0);
  });

  it("refuses a lockfile that never ends (/dev/zero, a link to a device) after a bounded read", async () => {
    // Before: every command read the whole file first, and /dev/zero grew the heap by
    // gigabytes a minute. Now at most 256 MiB are read, then the lock is refused.
    // (info, list and gc read it through the same readLockFile, after asking Nix: not on PATH here.)
    for (const args of [["update"], ["add", "other", "hf:acme/tiny"], ["verify"]]) {
      const result = await runCli([...args, "--lock", "/dev/zero"], { env: env(), timeoutMs: 60_000 });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain("The lockfile /dev/zero is longer than 256 MiB");
    }
  }, 120_000);

  describe("a hostile listing", () => {
    const lock = () => join(dir, "hostile.lock.json");
    let before: string;

    beforeAll(async () => {
      await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock()], { env: env() });
      before = await readFile(lock(), "utf8");
    });

    const entry = (path: string, size = 2) => ({
      type: "file",
      path,
      size,
      oid: "9e26dfeeb6e641a33dae4961196235bdb965b21b",
    });
    const attempt = async (listing: unknown[]) => {
      hub.setTreeOverride(({ repo }) => (repo.id === "acme/hostile" ? listing : undefined));
      try {
        return await runCli(["add", "hostile", "hf:acme/hostile", "--lock", lock()], { env: env() });
      } finally {
        hub.setTreeOverride(undefined);
      }
    };

    it("with a terminal escape in a file name is refused, printed escaped, and nothing is written", async () => {
      const result = await attempt([entry("config.json"), entry("evil\u001b]0;pwned\u0007\u001b[2J.json")]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("it contains control characters");
      expect(result.stderr).not.toContain("\u001b]0;pwned");
      expect(await readFile(lock(), "utf8")).toBe(before);
    });

    it("with a path out of the model is refused", async () => {
      const result = await attempt([entry("../../../escape.json")]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("it has a '..' segment");
      expect(await readFile(lock(), "utf8")).toBe(before);
    });

    it("with an absolute path, a bidirectional override, or one name in two Unicode forms is refused", async () => {
      const absolute = await attempt([entry("/etc/passwd")]);
      expect(absolute.code).toBe(1);
      expect(absolute.stderr).toContain("/etc/passwd");
      const bidi = await attempt([entry("model\u202egnp.json")]);
      expect(bidi.code).toBe(1);
      expect(bidi.stderr).not.toContain("\u202e");
      // "é" composed and decomposed: two names on the Hub, one file on a file system that normalises.
      const twice = await attempt([entry("caf\u00e9.json"), entry("cafe\u0301.json")]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain("two entries name the same file");
      expect(await readFile(lock(), "utf8")).toBe(before);
    });

    it("with a path too long for the system is refused before any download, as fetchModel refuses it", async () => {
      // 17 segments of 250 bytes: each is a valid name, together past PATH_MAX under the store.
      const deep = `${Array.from({ length: 17 }, (_, i) => `${i}`.padEnd(250, "x")).join("/")}.json`;
      hub.clearRequests();
      const result = await attempt([entry("config.json"), entry(deep)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/more than the \d+ the system allows/);
      expect(hub.requests.filter((request) => request.route === "resolve")).toEqual([]);
      expect(await readFile(lock(), "utf8")).toBe(before);
    });

    it("with a listed size of 1e15 is refused before any download, by the one rule for listed sizes", async () => {
      hub.clearRequests();
      const huge = await attempt([
        {
          ...entry("model.safetensors", 1e15),
          lfs: { oid: "a".repeat(64), size: 1e15, pointerSize: 130 },
        },
      ]);
      expect(huge.code).toBe(1);
      expect(huge.stderr).toContain("model.safetensors");
      expect(hub.requests.filter((request) => request.route === "resolve" || request.route === "cdn")).toEqual([]);
      expect(await readFile(lock(), "utf8")).toBe(before);
    });

    it("that lies about a size fails the download and leaves the lock", async () => {
      const result = await attempt([entry("config.json", 3 * 1024 ** 3)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("config.json");
      expect(await readFile(lock(), "utf8")).toBe(before);
      expect((await readdir(dir)).filter((name) => name.endsWith(".tmp") || name.endsWith(".lck"))).toEqual([]);
    });
  });

  it("fails when the bytes differ from what the listing said (changed between resolve and download); nothing written", async () => {
    const lock = join(dir, "changed.lock.json");
    await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock], { env: env() });
    const before = await readFile(lock, "utf8");
    hub.setFaults(
      faults.always({ corruptByteAt: 100 }, (request) => match.contentGet(request) && request.file !== "config.json"),
    );
    try {
      const result = await runCli(["add", "again", "hf:acme/tiny", "--lock", lock], { env: env() });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("model.safetensors");
      expect(result.stderr).toMatch(/sha256|digest|checksum/i);
    } finally {
      hub.setFaults(undefined);
    }
    expect(await readFile(lock, "utf8")).toBe(before);
  });

  it("leaves the lock whole when add is killed while downloading", async () => {
    const lock = join(dir, "killed.lock.json");
    await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock], { env: env() });
    const before = await readFile(lock, "utf8");
    await writeHubRepo(root, { repoId: "acme/slow", files: { "model.safetensors": randomBytes(200_000) } });
    await hub.reload();
    hub.setFaults(() => ({ stallAfterBytes: 1000 }));
    // SIGKILL leaves the process no chance to remove its scratch folder: give it one under
    // `dir`, not the machine's temp dir, where it outlived every run and tests that look for
    // leftovers there (git-lfs-fetch, http-fetch) would count it.
    const scratch = join(dir, "tmp-killed");
    await mkdir(scratch);
    try {
      const child = spawn(process.execPath, [cliPath, "add", "slow", "hf:acme/slow", "--lock", lock], {
        env: { ...process.env, ...env(), TMPDIR: scratch, NIX_MODEL_REPO_PROGRESS: "plain" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      await new Promise<void>((resolve) => {
        child.stderr.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("started model.safetensors")) resolve();
        });
      });
      child.kill("SIGKILL");
      await new Promise((resolve) => child.on("exit", resolve));
    } finally {
      hub.setFaults(undefined);
    }
    expect(await readFile(lock, "utf8")).toBe(before);
    expect((await readdir(dir)).filter((name) => name.startsWith(".killed") || name.endsWith(".lck"))).toEqual([]);
  });
});

/** Whether a small tmpfs can be mounted in a private mount namespace (a real ENOSPC). */
async function canMountSmallDisk(): Promise<boolean> {
  return new Promise((resolve) =>
    execFile("unshare", ["-rm", "sh", "-c", `mount -t tmpfs -o size=64k tmpfs "${tmpdir()}"`], (error) =>
      resolve(!error),
    ),
  );
}

describe.skipIf(!(await canMountSmallDisk()))(
  "a full disk under the lockfile (needs unshare and user namespaces)",
  () => {
    it("fails with the lock as it was, and no temporary file", async () => {
      const root = await mkdtemp(join(tmpdir(), "nmr-lock-full-hub-"));
      await writeHubRepo(root, { repoId: "acme/tiny", files: { "config.json": '{"a":1}' } });
      const hub = await startHubServer({ root });
      const work = await mkdtemp(join(tmpdir(), "nmr-lock-full-"));
      try {
        const seed = join(work, "seed.lock.json");
        const added = await runCli(["add", "first", "hf:acme/tiny", "--lock", seed], {
          env: { ...noNix, HF_ENDPOINT: hub.url },
        });
        expect(added.code, added.stderr).toBe(0);
        const disk = join(work, "disk");
        await mkdir(disk);
        // A 64 KiB disk holding the lock and a filler that leaves no free block.
        const script = `mount -t tmpfs -o size=64k tmpfs "$1" && cp "$2" "$1/models.lock.json" && (head -c 1000000 /dev/zero > "$1/filler" 2>/dev/null; true) && PATH=/nonexistent "$3" "$4" add second hf:acme/tiny --lock "$1/models.lock.json"; echo "exit=$?"; sha256sum "$1/models.lock.json"; ls -a "$1"`;
        const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
          execFile(
            "unshare",
            ["-rm", "sh", "-c", script, "sh", disk, seed, process.execPath, cliPath],
            { env: { ...process.env, HF_TOKEN: "", HF_ENDPOINT: hub.url, NIX_MODEL_REPO_PROGRESS: "plain" } },
            (_error, out, err) => resolve({ stdout: out, stderr: err }),
          ),
        );
        expect(stdout).toContain("exit=1");
        expect(stderr).toContain("Could not write the lockfile");
        expect(stderr).toContain("ENOSPC");
        const seedSha = createHash("sha256")
          .update(await readFile(seed))
          .digest("hex");
        expect(stdout).toContain(seedSha);
        expect(stdout.split("\n").filter((line) => line.endsWith(".tmp") || line.endsWith(".lck"))).toEqual([]);
      } finally {
        await hub.close();
        await rm(root, { recursive: true, force: true });
        await rm(work, { recursive: true, force: true });
      }
    });
  },
);
