import { execFile, execFileSync, spawn } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpNar } from "../../src/nar/dump.js";
import { narHash } from "../../src/nar/hash.js";
import { fromNix32 } from "../../src/nar/nix32.js";
import { writeNar } from "../../src/nar/write.js";
import { UserError } from "../../src/errors/user-error.js";

const run = promisify(execFile);

/** What the real Nix says: `nix hash path` prints the SRI form. */
async function nixHashPath(path: string): Promise<string> {
  const { stdout } = await run("nix", ["--extra-experimental-features", "nix-command", "hash", "path", path]);
  return stdout.trim();
}

/** `nix-store --dump` bytes (small trees only). */
function nixDump(path: string): Buffer {
  return execFileSync("nix-store", ["--dump", path], { maxBuffer: 64 * 1024 * 1024 });
}

const b = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))));

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "nar-test-"));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A tree with every kind of thing a NAR holds and every ordering trap. */
function buildMixedTree(root: string): void {
  mkdirSync(join(root, "names"), { recursive: true });
  const at = (...names: (string | Buffer)[]) =>
    Buffer.concat([Buffer.from(root), ...names.flatMap((name) => [Buffer.from("/"), Buffer.from(name)])]);
  writeFileSync(at("config.json"), '{"a": 1}\n');
  writeFileSync(at("run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  writeFileSync(at("eight-bytes"), "12345678");
  writeFileSync(at("empty"), "");
  writeFileSync(at("empty-exec"), "", { mode: 0o700 });
  mkdirSync(at("empty-dir"));
  mkdirSync(at("nested"));
  mkdirSync(at("nested", "a"));
  mkdirSync(at("nested", "a", "b"));
  mkdirSync(at("nested", "a", "b", "c"));
  writeFileSync(at("nested", "a", "leaf.bin"), randomish(1000));
  // Names whose byte order differs from JS's UTF-16 string order and from locale order:
  // uppercase before lowercase, "é" (0xc3 0xa9) after "z", U+FFFD-adjacent and astral
  // characters (UTF-16 surrogates sort below U+E000..U+FFFF; UTF-8 bytes sort above).
  for (const name of ["B", "a", "é", "Z", "_", "a.b", "a-b", "ab", "e\u0301", "\uff5e", "😀", "日本語.txt", "~"]) {
    writeFileSync(at("names", name), name);
  }
  // Not UTF-8 at all: 0xff, a lone continuation byte, and 0xc3 without its partner.
  writeFileSync(at("names", b([0xff, 0x61])), "invalid utf-8 name");
  writeFileSync(at("names", b([0x80])), "lone continuation byte");
  writeFileSync(at("names", b("x", [0xc3])), "truncated sequence");
  symlinkSync("config.json", at("link-relative"));
  symlinkSync("/etc/hostname", at("link-absolute"));
  symlinkSync("does/not/exist", at("link-dangling"));
  symlinkSync("nested/a", at("link-to-dir"));
  symlinkSync(b("names/", [0xff, 0x61]), at("link-non-utf8"));
  symlinkSync("../../..", at("nested", "a", "b", "link-up"));
}

function randomish(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) % 251;
  return bytes;
}

describe("narHash agrees with nix hash path", () => {
  it("on a tree with symlinks, executables, empty files and dirs, non-ASCII and non-UTF-8 names", async () => {
    const root = join(work, "mixed");
    buildMixedTree(root);
    const [ours, theirs] = await Promise.all([narHash(root), nixHashPath(root)]);
    expect(ours.sri).toBe(theirs);
    const base32 = execFileSync("nix-hash", ["--type", "sha256", "--base32", root], { encoding: "utf8" }).trim();
    expect(ours.nix32).toBe(base32);
    expect(fromNix32(base32)).toEqual(ours.sha256);
    expect(ours.narSize).toBe(nixDump(root).length);
  });

  it("writes the same bytes as nix-store --dump", async () => {
    const root = join(work, "dump");
    buildMixedTree(root);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (chunk: Buffer) => chunks.push(chunk));
    const written = await writeNar(root, out);
    out.end();
    const ours = Buffer.concat(chunks);
    const theirs = nixDump(root);
    expect(written).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });

  it.each([
    ["a regular file", (p: string) => writeFileSync(p, "just a file\n")],
    ["an executable file", (p: string) => writeFileSync(p, "#!/bin/sh\n", { mode: 0o755 })],
    ["an empty file", (p: string) => writeFileSync(p, "")],
    ["an empty directory", (p: string) => mkdirSync(p)],
    ["a symlink (not followed)", (p: string) => symlinkSync("/etc/passwd", p)],
    ["a dangling symlink", (p: string) => symlinkSync("nowhere", p)],
    ["a symlink to a directory", (p: string) => symlinkSync(work, p)],
  ])("with %s as the root", async (_label, make) => {
    const root = join(work, `root-${_label.replace(/\W+/g, "-")}`);
    make(root);
    expect((await narHash(root)).sri).toBe(await nixHashPath(root));
  });

  it("ignores every mode bit but the owner's execute bit, as Nix does", async () => {
    const root = join(work, "modes");
    mkdirSync(root);
    const file = join(root, "f");
    writeFileSync(file, "mode test\n");
    const hashes: Record<string, string> = {};
    for (const mode of [0o644, 0o600, 0o444, 0o654, 0o645, 0o744, 0o100, 0o4755]) {
      chmodSync(file, mode);
      const ours = await narHash(root);
      expect(ours.sri, `mode ${mode.toString(8)}`).toBe(await nixHashPath(root));
      hashes[mode.toString(8)] = ours.sri;
    }
    // Group or other execute alone does not make a file executable in a NAR.
    expect(new Set([hashes["644"], hashes["600"], hashes["444"], hashes["654"], hashes["645"]]).size).toBe(1);
    expect(new Set([hashes["744"], hashes["100"], hashes["4755"]]).size).toBe(1);
    expect(hashes["744"]).not.toBe(hashes["644"]);
  });

  it("takes the path as Nix does: a trailing slash follows a symlink, .. is resolved by the OS", async () => {
    const root = join(work, "normalise");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "sub", "x"), "x");
    symlinkSync("sub", join(root, "link"));
    const direct = await narHash(root);
    expect((await narHash(`${root}/`)).sri).toBe(direct.sri);
    expect((await narHash(`${root}/sub/..`)).sri).toBe(direct.sri);
    // "link/" names the directory it points to; "link" the symlink itself.
    const link = join(root, "link");
    expect((await narHash(`${link}/`)).sri).toBe(await nixHashPath(`${link}/`));
    expect((await narHash(`${link}/`)).sri).toBe((await narHash(join(root, "sub"))).sri);
    expect((await narHash(link)).sri).toBe(await nixHashPath(link));
    expect((await narHash(link)).sri).not.toBe((await narHash(`${link}/`)).sri);
    // Physically link/.. is root/sub/.. = root, lexically it would be root too; a deeper link tells them apart.
    mkdirSync(join(root, "sub", "inner"));
    symlinkSync("sub/inner", join(root, "deep"));
    const parent = `${join(root, "deep")}/..`;
    expect((await narHash(parent)).sri).toBe(await nixHashPath(parent));
    expect((await narHash(parent)).sri).toBe((await narHash(join(root, "sub"))).sri);
  });
});

describe("narHash of files read in turn and read ahead", () => {
  // Small files are read synchronously, files of 8 MiB and more ahead, 1 MiB at a time into
  // two buffers (src/nar/dump.ts): sizes either side of both edges, none a multiple of 8.
  it("agrees with nix hash path either side of the read-ahead size and chunk", async () => {
    const root = join(work, "read-ahead-edges");
    mkdirSync(root);
    const MiB = 1024 * 1024;
    for (const size of [8 * MiB - 1, 8 * MiB, 8 * MiB + 1, 9 * MiB + 13]) {
      const bytes = randomish(size);
      writeFileSync(join(root, `file-${size}`), bytes);
    }
    expect((await narHash(root)).sri).toBe(await nixHashPath(root));
  });
});

describe("narHash refuses what a NAR cannot hold", () => {
  async function userError(path: string): Promise<UserError> {
    const error = await narHash(path).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }

  it("a missing path", async () => {
    const error = await userError(join(work, "no-such-path"));
    expect(error.message).toMatch(/Cannot hash .*no-such-path: no such file or directory/);
  });

  it("a FIFO inside the tree, which Nix also refuses", async () => {
    const root = join(work, "with-fifo");
    mkdirSync(root);
    execFileSync("mkfifo", [join(root, "pipe")]);
    const error = await userError(root);
    expect(error.message).toContain(`${join(root, "pipe")} is a FIFO (named pipe)`);
    await expect(nixHashPath(root)).rejects.toThrow(/unsupported type/);
  });

  it("a Unix socket", async () => {
    const root = join(work, "with-socket");
    mkdirSync(root);
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, "sock"), resolve));
    try {
      const error = await userError(root);
      expect(error.message).toContain("is a socket");
    } finally {
      server.close();
    }
  });

  it("a character device as the root", async () => {
    const error = await userError("/dev/null");
    expect(error.message).toContain("/dev/null is a character device");
  });

  // 10 MiB is read ahead; 1 MiB is read in turn (src/nar/dump.ts).
  for (const [kind, mib] of [
    ["read ahead", 10],
    ["read in turn", 1],
  ] as const) {
    it(`a file that shrinks while it is read (${kind})`, async () => {
      const error = await changeWhileHashing(`shrinking-${mib}`, mib, (file) =>
        truncateSync(file, (mib * MEBIBYTE) / 2),
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(/changed size while it was read/);
      const message = (error as UserError).message;
      expect(message).toContain(`expected ${mib * MEBIBYTE} bytes, read ${(mib * MEBIBYTE) / 2}`);
      expect(message).not.toContain("or more");
    });

    it(`a file that grows while it is read (${kind})`, async () => {
      const error = await changeWhileHashing(`growing-${mib}`, mib, (file) => appendFileSync(file, "more"));
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(/changed size while it was read/);
      expect((error as UserError).message).toContain(
        `expected ${mib * MEBIBYTE} bytes, read ${mib * MEBIBYTE + 1} or more`,
      );
    });
  }
});

const MEBIBYTE = 1024 * 1024;

/** Hashes a tree of one `mib` MiB file, changing the file when its first bytes arrive; the error. */
async function changeWhileHashing(name: string, mib: number, change: (file: string) => void): Promise<unknown> {
  const root = join(work, name);
  mkdirSync(root);
  const file = join(root, "big");
  writeFileSync(file, Buffer.alloc(mib * MEBIBYTE, 1));
  let changed = false;
  return dumpNar(root, {
    write(chunk) {
      // The first content chunk is the first write longer than the framing tokens.
      if (!changed && chunk.length > 4096) {
        changed = true;
        change(file);
      }
    },
  }).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
}

describe("nix-model-repo hash", () => {
  let cli: string;
  beforeAll(async () => {
    const { build } = await import("esbuild");
    cli = join(work, "cli.mjs");
    await build({
      // main.ts loads each command lazily: bundle only `hash`, so this test does not
      // depend on the state of the other commands.
      plugins: [
        {
          name: "only-the-hash-command",
          setup(pluginBuild) {
            pluginBuild.onResolve({ filter: /^\.\/\w+\.js$/ }, (args) =>
              args.importer.endsWith(join("commands", "index.ts")) && args.path !== "./hash.js"
                ? { path: args.path, external: true }
                : undefined,
            );
          },
        },
      ],
      entryPoints: [join(import.meta.dirname, "../../src/cli/main.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: cli,
      logLevel: "silent",
    });
  });

  function runCli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  }

  it("prints the SRI hash by default, and --base32 / --hex as nix-hash does", async () => {
    const root = join(work, "cli-tree");
    buildMixedTree(root);
    const sri = await runCli("hash", root);
    expect(sri).toMatchObject({ status: 0, stdout: `${await nixHashPath(root)}\n` });
    const base32 = await runCli("hash", root, "--base32");
    expect(base32.stdout).toBe(execFileSync("nix-hash", ["--type", "sha256", "--base32", root], { encoding: "utf8" }));
    const hex = await runCli("hash", "--hex", root);
    expect(hex.stdout).toBe(execFileSync("nix-hash", ["--type", "sha256", root], { encoding: "utf8" }));
  });

  it("reports a missing path as a user error, without a stack trace", async () => {
    const result = await runCli("hash", join(work, "missing"));
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: Cannot hash .*missing: no such file or directory/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects two formats, no path, or two paths as usage errors", async () => {
    for (const args of [["--hex", "--base32", work], [], [work, work]]) {
      const result = await runCli("hash", ...args);
      expect(result.status, args.join(" ")).toBe(2);
      expect(result.stderr).toContain("usage: nix-model-repo hash PATH");
    }
  });
});

describe("dumpNar while it reads a large tree", () => {
  // One 80 MiB file is read ahead, each read a turn of the event loop; six 7 MiB files are
  // read synchronously, with a turn every 32 MiB (src/nar/dump.ts). Sparse: costs no disk.
  for (const [kind, sizes] of [
    ["one big file, read ahead", [80]],
    ["files read synchronously", [7, 7, 7, 7, 7, 7]],
  ] as const) {
    it(`lets the event loop run (signal handlers, timers): ${kind}`, async () => {
      const root = join(work, `event-loop-${sizes.length}`);
      mkdirSync(root);
      sizes.forEach((mib, index) => {
        const file = join(root, `weights-${index}.bin`);
        writeFileSync(file, "");
        truncateSync(file, mib * 1024 * 1024);
      });
      let turns = 0;
      let stop = false;
      const turn = () => {
        turns += 1;
        if (!stop) setImmediate(turn);
      };
      setImmediate(turn);
      // Turns of the event loop between the first and the last chunk of the files' contents.
      let turnsAtFirst: number | undefined;
      let turnsAtLast = 0;
      await dumpNar(root, {
        write(chunk) {
          if (chunk.length < 4096) return; // framing tokens
          turnsAtFirst ??= turns;
          turnsAtLast = turns;
        },
      });
      stop = true;
      expect(turnsAtFirst).toBeDefined();
      expect(turnsAtLast - (turnsAtFirst ?? 0)).toBeGreaterThanOrEqual(2);
    });
  }
});
