/**
 * Helpers for the lockfile's end-to-end tests: building several locked models at once,
 * and comparing an assembled output with the one a single-hash fetchModel writes.
 */
import { execFile } from "node:child_process";
import { lstat, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { libPrelude, nixReadableTempDir } from "./nix.js";

const run = promisify(execFile);

/** nix-build of a list of derivations: every out path, in order. */
export async function buildAll(
  expression: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ ok: boolean; paths: string[]; stderr: string }> {
  const dir = await nixReadableTempDir("nmr-lock-expr-");
  const file = join(dir, "default.nix");
  await writeFile(file, expression);
  try {
    const { stdout, stderr } = await run("nix-build", ["--no-out-link", "--option", "substituters", "", file], {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 300_000,
    });
    return { ok: true, paths: stdout.trim().split("\n"), stderr };
  } catch (error) {
    return { ok: false, paths: [], stderr: String((error as { stderr?: string }).stderr ?? error) };
  }
}

/** The same layout: every entry of `reference` (a fetchModel output) in `assembled`, blobs as links to the same bytes. */
export async function expectSameLayout(reference: string, assembled: string, relative = ""): Promise<void> {
  const names = (await readdir(join(reference, relative))).sort();
  expect((await readdir(join(assembled, relative))).sort(), `entries of ${relative || "/"}`).toEqual(names);
  for (const name of names) {
    const path = join(relative, name);
    const ref = await lstat(join(reference, path));
    const got = await lstat(join(assembled, path));
    if (ref.isDirectory()) {
      expect(got.isDirectory(), path).toBe(true);
      await expectSameLayout(reference, assembled, path);
    } else if (ref.isSymbolicLink()) {
      expect(await readlink(join(assembled, path)), path).toBe(await readlink(join(reference, path)));
    } else if (relative === "blobs") {
      // A blob is a link to the fixed-output path that holds exactly its bytes.
      expect(got.isSymbolicLink(), path).toBe(true);
      expect((await readFile(join(assembled, path))).equals(await readFile(join(reference, path))), path).toBe(true);
    } else {
      expect(got.isFile(), path).toBe(true);
      expect(await readFile(join(assembled, path), "utf8"), path).toBe(await readFile(join(reference, path), "utf8"));
    }
  }
}

/** A locked model and its raw (assembled) output, built together. */
export const modelAndRaw = (lock: string, name: string) =>
  `${libPrelude} let m = (nmr.fromLock ${lock}).${name}; in [ m m.raw ]`;
