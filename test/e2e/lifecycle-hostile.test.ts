/**
 * The lifecycle commands attacked as issue 14 attacked the fetcher: meta files in the
 * store written to make `list` misbehave (a link to /dev/zero, a file past the size a
 * meta file can have, JSON nested a hundred thousand deep, the wrong shape, a future
 * format), terminal escapes in every string a meta file, a GC root link or an argument
 * can carry, a lock entry of 150,000 files each listed at 1e15 bytes. Each is left out with a warning or refused with a message; nothing hangs,
 * nothing crashes, and no escape sequence reaches the terminal.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_META_BYTES } from "../../src/lifecycle/meta.js";
import { serializeLockFile } from "../../src/lockfile/index.js";
import { hubEntry, sha256Of } from "../lockfile/fixtures.js";
import { runCli } from "../helpers/cli.js";
import { nixAvailable } from "../helpers/nix.js";
import { type PrivateStore, privateStore } from "../helpers/private-store.js";

const ESC = "\u001b";
const CSI = "\u009b";
const RLO = "\u202e";
const CLEAR = `${ESC}[2J${ESC}]0;pwned\u0007`;

/** Controls a terminal obeys: none may be printed raw (tab and newline are layout). */
function expectNoControls(text: string): void {
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
}

const goodMeta = (name: string, extra: Record<string, unknown> = {}) => ({
  formatVersion: 1,
  layout: "huggingface",
  source: { type: "huggingface", repo: `acme/${name}`, repoType: "model", revision: "main", files: null },
  resolved: { commit: "a".repeat(40) },
  files: [{ path: "config.json", size: 2, sha256: "4".repeat(64) }],
  ...extra,
});

describe.skipIf(!nixAvailable)("list and info with hostile meta files, links and names", () => {
  let store: PrivateStore;
  let work: string;
  const added: Record<string, string> = {};
  const env = () => store.env;

  /** Adds a folder holding `meta` (written by `write`) to the store and roots it with a link in `work`. */
  async function addModel(name: string, write: (file: string) => Promise<void>, link = name): Promise<string> {
    const folder = join(work, "src", name);
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "config.json"), "{}");
    await write(join(folder, ".nix-model-repo-meta.json"));
    const path = (await store.nixStore(["--add", folder])).trim();
    await store.nixStore(["--add-root", join(work, link), "--indirect", "--realise", path]);
    added[name] = path;
    return path;
  }

  beforeAll(async () => {
    store = await privateStore();
    work = await mkdtemp(join(store.root, "work-"));
    await addModel("good", (file) => writeFile(file, JSON.stringify(goodMeta("good"))));
    await addModel("zero", (file) => symlink("/dev/zero", file));
    await addModel("huge", async (file) => {
      await writeFile(file, "{");
      await truncate(file, MAX_META_BYTES + 1);
    });
    await addModel("deep", (file) => writeFile(file, "[".repeat(100_000)));
    await addModel("shape", (file) => writeFile(file, JSON.stringify({ ...goodMeta("shape"), files: "all of them" })));
    await addModel("future", (file) => writeFile(file, JSON.stringify({ ...goodMeta("future"), formatVersion: 2 })));
    await addModel(
      "escapes",
      (file) =>
        writeFile(
          file,
          JSON.stringify(
            goodMeta("escapes", {
              source: { type: "huggingface", repo: `acme/${CLEAR}x`, revision: `main${CSI}2J`, files: null },
              resolved: { commit: `${RLO}deadbeef` },
              files: [{ path: `config${CLEAR}.json`, size: 2, sha256: "4".repeat(64) }],
              validation: {
                result: `passed${ESC}[31m`,
                validators: [{ name: `scan${CLEAR}`, status: "passed", findings: [{ file: CLEAR, reason: CLEAR }] }],
              },
            }),
          ),
        ),
      `result${CLEAR}`,
    );
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await rm(work ?? "/nonexistent", { recursive: true, force: true });
  });

  it("lists the good models, leaves out the hostile meta files with a reason, and prints no escape sequence", async () => {
    const listed = await runCli(["list", "--json"], { env: env(), timeoutMs: 60_000 });
    expect(listed.code, listed.stderr).toBe(0);
    expectNoControls(listed.stdout);
    expectNoControls(listed.stderr);
    const list = JSON.parse(listed.stdout);
    expect(list.models.map((model: { storePath: string }) => model.storePath).sort()).toEqual(
      [added["good"], added["escapes"]].sort(),
    );
    const why = Object.fromEntries(
      list.unreadable.map((entry: { path: string; why: string }) => [entry.path, entry.why]),
    );
    expect(why[added["zero"]!]).toMatch(/not a regular file/);
    expect(why[added["huge"]!]).toMatch(/more than a meta file can be/);
    expect(why[added["deep"]!]).toMatch(/not valid JSON/);
    expect(why[added["shape"]!]).toMatch(/has no files list/);
    expect(why[added["future"]!]).toMatch(/formatVersion 2/);
    // The escapes survive as data, escaped: JSON readers get the real strings back.
    const escapes = list.models.find((model: { storePath: string }) => model.storePath === added["escapes"]);
    expect(escapes.source).toBe(`hf:acme/${CLEAR}x@main${CSI}2J`);
    expect(escapes.roots[0].link).toBe(join(work, `result${CLEAR}`));

    const text = await runCli(["list"], { env: env() });
    expect(text.code, text.stderr).toBe(0);
    expectNoControls(text.stdout);
    expectNoControls(text.stderr);
    expect(text.stdout).toContain("acme/\\x1b[2J\\x1b]0;pwned\\x07x");
    expect(text.stderr).toMatch(/warn: .*-zero is left out: its \.nix-model-repo-meta\.json is not a regular file/);
  });

  it("shows a model whose meta file is full of escapes without printing one", async () => {
    for (const [args, shown] of [
      [["info", added["escapes"]!], "config\\x1b[2J"],
      [["info", added["escapes"]!, "--json"], "config\\u001b[2J"],
    ] as const) {
      const result = await runCli(args, { env: env() });
      expect(result.code, result.stderr).toBe(0);
      expectNoControls(result.stdout);
      expect(result.stdout).toContain(shown);
    }
  });

  it("refuses a hostile path's meta file, and escapes in arguments, with a clear message", async () => {
    const zero = await runCli(["info", added["zero"]!], { env: env(), timeoutMs: 60_000 });
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain("has a meta file nix-model-repo cannot use");
    for (const args of [
      ["info", CLEAR],
      ["gc", "pin", "good", "--name", CLEAR],
      ["gc", "unpin", CLEAR],
      ["verify", CLEAR],
    ]) {
      const result = await runCli(args, { env: env() });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expectNoControls(result.stderr);
      expectNoControls(result.stdout);
    }
  });

  it("gc list reports links it cannot use, and pin does not overwrite what it did not make", async () => {
    const directory = join(store.env["XDG_DATA_HOME"]!, "nix-model-repo", "gc-roots");
    await mkdir(directory, { recursive: true });
    await symlink("/etc/passwd", join(directory, "foreign"));
    await writeFile(join(directory, "good"), "not a link");
    const listed = await runCli(["gc", "list", "--json"], { env: env() });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).pins).toEqual([
      expect.objectContaining({ name: "foreign", target: "/etc/passwd", valid: false, registered: false }),
      expect.objectContaining({ name: "good", target: null, valid: false }),
    ]);
    const pinned = await runCli(["gc", "pin", added["good"]!], { env: env() });
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain("is not a link nix-model-repo made");
    expect(await readFile(join(directory, "good"), "utf8")).toBe("not a link");
  });

  it("shows a lock entry of 150,000 files listed at 1e15 bytes each, every row, without a crash", async () => {
    // Before: "Unexpected error (RangeError: Maximum call stack size exceeded)": the table's
    // column widths were a Math.max over one argument per row.
    const template = hubEntry().files[1]!;
    const files = Array.from({ length: 150_000 }, (_, index) => {
      const sha256 = sha256Of(`weights ${index}`);
      return {
        ...template,
        path: `w/${String(index).padStart(6, "0")}.bin`,
        size: 1e15,
        sha256,
        blob: sha256,
        ids: { ...template.ids, lfsOid: sha256 },
      };
    });
    const lock = join(work, "big.lock.json");
    await writeFile(
      lock,
      serializeLockFile({ lockVersion: 1, models: { big: { ...hubEntry(), files, smallFiles: null } } }),
    );
    const result = await runCli(["info", "big", "--lock", lock], { env: env() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("files (150000)");
    expect(result.stdout).toMatch(/w\/149999\.bin {2}909\.5 TiB/);
  }, 120_000);
});
