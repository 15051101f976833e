/**
 * The scratch files Xet ranges wait in (src/sources/xet/spill-folder.ts): every chunk reads
 * back as written, across the blocks it is written and read in, in any order; a range's file
 * goes when the range is closed, the folder
 * when the download ends, and none is made for a download that never needed one.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { SpillFolder } from "../../src/sources/xet/spill-folder.js";
import type { SpilledChunk } from "../../src/xet/index.js";

let scratch: string;
let savedTmpdir: string | undefined;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), "nmr-spill-"));
  savedTmpdir = process.env["TMPDIR"];
  process.env["TMPDIR"] = scratch;
});

afterEach(async () => {
  if (savedTmpdir === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = savedTmpdir;
  await rm(scratch, { recursive: true, force: true });
});

it("reads every chunk back as written, in any order, across blocks", async () => {
  const folder = new SpillFolder();
  const range = folder.open();
  // 3.5 MiB in chunks of 1 B to 128 KiB: writes and reads cross the 512 KiB blocks.
  const written: Array<{ chunk: SpilledChunk; data: Buffer }> = [];
  for (let total = 0; total < 3.5 * 1024 * 1024; ) {
    const data = randomBytes(1 + ((written.length * 7919) % (128 * 1024)));
    written.push({ chunk: range.write(data), data });
    total += data.length;
  }
  const [folderName] = await readdir(scratch);
  expect(folderName).toMatch(/^nix-model-repo-xet-/);
  const files = await readdir(join(scratch, folderName!));
  expect(files).toHaveLength(1);
  expect((await stat(join(scratch, folderName!, files[0]!))).mode & 0o777).toBe(0o600);

  // A read is valid until the range's next read (the assembler's contract): compared at once.
  for (const [index, { chunk, data }] of written.entries())
    expect(Buffer.compare(range.read(chunk), data), `chunk ${index}`).toBe(0);
  for (const { chunk, data } of [...written].reverse()) expect(Buffer.compare(range.read(chunk), data)).toBe(0);
  // A read right after a write, before the block is full.
  const last = randomBytes(1000);
  expect(Buffer.compare(range.read(range.write(last)), last)).toBe(0);

  range.close();
  expect(await readdir(join(scratch, folderName!))).toEqual([]);
  folder.dispose();
  expect(await readdir(scratch)).toEqual([]);
});

it("makes no folder for ranges that never kept a chunk, and removes files left open", async () => {
  const quiet = new SpillFolder();
  quiet.open();
  quiet.open().close();
  quiet.dispose();
  expect(await readdir(scratch)).toEqual([]);

  const interrupted = new SpillFolder();
  const open = interrupted.open();
  open.read(open.write(randomBytes(10)));
  const [folderName] = await readdir(scratch);
  interrupted.dispose();
  expect(existsSync(join(scratch, folderName!))).toBe(false);
});
