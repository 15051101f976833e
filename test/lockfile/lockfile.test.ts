import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  checkNewEntry,
  entryMeta,
  lockedStorePaths,
  parseLockFile,
  readLockFile,
  serializeLockFile,
  updateLockFile,
  withEntry,
  writeLockFile,
} from "../../src/lockfile/index.js";
import { hubEntry, lockOf, ollamaEntry, sha256Of } from "./fixtures.js";

// biome-ignore lint/suspicious/noExplicitAny: a hand edit reaches anywhere in the JSON.
type HandEdited = Record<string, any>;

/** The lock's JSON with `edit` applied to a fresh copy: a hand edit. */
function edited(edit: (json: HandEdited) => void): string {
  const json = JSON.parse(serializeLockFile(lockOf({ tiny: hubEntry(), llama: ollamaEntry() })));
  edit(json);
  return JSON.stringify(json);
}

function refusal(text: string): string {
  try {
    parseLockFile(text, "models.lock.json");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("the lock was accepted");
}

describe("the lockfile format", () => {
  it("round-trips, with sorted keys, files sorted by path and a trailing newline", () => {
    const entry = hubEntry();
    const shuffled = { ...entry, files: [...entry.files].reverse() };
    const text = serializeLockFile(lockOf({ zeta: shuffled, alpha: ollamaEntry() }));
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.indexOf('"alpha"')).toBeLessThan(text.indexOf('"zeta"'));
    expect(text.indexOf('"config.json"')).toBeLessThan(text.indexOf('"model.safetensors"'));
    expect(Object.keys(JSON.parse(text).models.zeta.files[0])).toEqual([
      "blob",
      "ids",
      "large",
      "path",
      "sha256",
      "size",
    ]);
    const read = parseLockFile(text, "models.lock.json");
    expect(read.models["zeta"]).toEqual(entry);
    // The same content gives the same bytes, whatever order it was built in.
    expect(serializeLockFile(read)).toBe(text);
  });

  it("gives the meta file a fetchModel output of the same source holds", () => {
    expect(entryMeta(hubEntry())).toEqual({
      formatVersion: 1,
      layout: "huggingface",
      source: hubEntry().recorded,
      resolved: hubEntry().resolved,
      files: hubEntry().files.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    });
  });

  it("names the store paths: one per large file by content, one for the small files", () => {
    const paths = lockedStorePaths("tiny", hubEntry(), "/nix/store");
    expect([...paths.blobs.keys()]).toEqual([sha256Of("weights")]);
    expect(paths.blobs.get(sha256Of("weights"))).toMatch(
      new RegExp(`^/nix/store/[0-9a-z]{32}-model-blob-${sha256Of("weights")}$`),
    );
    expect(paths.smallFiles).toMatch(/^\/nix\/store\/[0-9a-z]{32}-tiny-files$/);
    // The same content in another model is the same path.
    expect(lockedStorePaths("other", hubEntry(), "/nix/store").blobs).toEqual(paths.blobs);
  });

  describe("refuses a hand-edited lock, naming the entry and the field", () => {
    const cases: [string, (json: HandEdited) => void, string][] = [
      ["an unknown version", (j) => (j.lockVersion = 2), "has lockVersion 2; this nix-model-repo reads version 1"],
      ["no version", (j) => delete j.lockVersion, "has lockVersion missing"],
      [
        "a wrong sha256",
        (j) => (j.models.tiny.files[0].sha256 = "ABC"),
        'models."tiny".files[0].sha256 must be 64 lowercase hex digits, got "ABC"',
      ],
      [
        "a sha256 in upper case",
        (j) => (j.models.tiny.files[1].sha256 = sha256Of("weights").toUpperCase()),
        'models."tiny".files[1].sha256 must be 64 lowercase hex digits',
      ],
      [
        "a path with ..",
        (j) => (j.models.tiny.files[0].path = "../../etc/passwd"),
        `models."tiny".files[0].path must not have a '..' segment`,
      ],
      [
        "an absolute path",
        (j) => (j.models.tiny.files[0].path = "/etc/passwd"),
        'models."tiny".files[0].path must be relative',
      ],
      [
        "a missing field",
        (j) => delete j.models.tiny.files[1].size,
        'models."tiny".files[1].size must be an integer >= 0, got nothing',
      ],
      [
        "a missing large",
        (j) => delete j.models.tiny.files[1].large,
        'models."tiny".files[1].large must be true or false, got nothing',
      ],
      ["an unknown field", (j) => (j.models.tiny.extra = 1), 'unknown field models."tiny".extra'],
      [
        "a negative size",
        (j) => (j.models.tiny.files[1].size = -1),
        'models."tiny".files[1].size must be an integer >= 0',
      ],
      [
        "a huge size",
        (j) => (j.models.tiny.files[1].size = 2 ** 60),
        'models."tiny".files[1].size must be an integer below 2^53',
      ],
      [
        "a bad narHash",
        (j) => (j.models.tiny.smallFiles.narHash = "sha256-xyz"),
        'models."tiny".smallFiles.narHash must be an SRI sha256',
      ],
      [
        "no small files hash",
        (j) => (j.models.tiny.smallFiles = null),
        'models."tiny".smallFiles must give the narHash',
      ],
      [
        "a short commit",
        (j) => (j.models.tiny.resolved.commit = "abc"),
        'models."tiny".resolved.commit must be a 40-hex commit',
      ],
      [
        "a terminal escape in a path",
        (j) => (j.models.tiny.files[0].path = "config\u001b[2J.json"),
        'models."tiny".files[0].path must not contain control characters',
      ],
      [
        "a line separator in a path (printed, it breaks the line)",
        (j) => (j.models.tiny.files[0].path = "config\u2028.json"),
        'models."tiny".files[0].path must not contain control characters',
      ],
      [
        "an escape in the name",
        (j) => (j.models["ti\u001bny"] = j.models.tiny),
        'models."ti\\u001bny" must be named with',
      ],
      ["a name that is a path", (j) => (j.models["../x"] = j.models.tiny), 'models."../x" must be named with'],
      [
        "a duplicate path",
        (j) => (j.models.tiny.files[1].path = "config.json"),
        'models."tiny".files[1].path must name each file once',
      ],
      [
        "a file inside a file",
        (j) => (j.models.tiny.files[1].path = "config.json/x"),
        'models."tiny".files[1].path must not be inside another file',
      ],
      [
        "two contents under one blob",
        (j) => (j.models.tiny.files[1].blob = j.models.tiny.files[0].blob),
        'models."tiny".files[1].blob must name a blob of its own: config.json has this blob with other content',
      ],
      [
        "a ref with ..",
        (j) => (j.models.tiny.layout.refs = [".."]),
        'models."tiny".layout.refs[0] must be a revision name',
      ],
      [
        "a bad blob name",
        (j) => (j.models.tiny.files[0].blob = "../x"),
        'models."tiny".files[0].blob must be the blob\'s name',
      ],
      [
        "a credential in the endpoint",
        (j) => (j.models.tiny.source.endpoint = "https://u:p@h"),
        'models."tiny".source.endpoint must not contain credentials',
      ],
      [
        "an Ollama blob whose path is another digest",
        (j) => (j.models.llama.files[0].sha256 = sha256Of("other")),
        'models."llama".files[0].sha256 must be the digest its path names',
      ],
      [
        "an Ollama manifest that is not the pinned one",
        (j) => (j.models.llama.resolved.manifestDigest = `sha256:${sha256Of("other")}`),
        `models."llama".resolved.manifestDigest must be the manifest's sha256`,
      ],
    ];
    for (const [what, edit, message] of cases) {
      it(what, () => expect(refusal(edited(edit))).toContain(message));
    }

    it("not JSON", () => expect(refusal('{"lockVersion": 1,')).toContain("is not valid JSON"));
    it("names the file", () =>
      expect(refusal(edited((j) => (j.models.tiny.files[0].sha256 = "x")))).toContain(
        "Invalid lockfile models.lock.json:",
      ));
  });

  it("refuses an entry made from a hostile answer before it is written or stored", () => {
    const entry = hubEntry();
    const hostile = {
      ...entry,
      files: [{ ...entry.files[0]!, ids: { etag: "\u001b]0;owned\u0007" } }, entry.files[1]!],
    };
    expect(() => checkNewEntry("tiny", hostile, "s3://models/tiny")).toThrow(
      'Invalid lock entry from s3://models/tiny: models."tiny".files[0].ids.etag must be at most 256 printable characters',
    );
    expect(checkNewEntry("tiny", entry, "hf:acme/tiny")).toEqual(entry);
  });

  it("is never written with something it would refuse to read", () => {
    const entry = { ...hubEntry(), files: [{ ...hubEntry().files[0]!, path: "../escape" }] };
    expect(() => serializeLockFile(lockOf({ tiny: entry }))).toThrow(/must not have a '\.\.' segment/);
  });
});

describe("writing the lockfile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nmr-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is never seen half-written by a reader racing the writer", async () => {
    const file = join(dir, "models.lock.json");
    // A big lock, so a write takes a while: 20,000 files.
    const many = {
      ...hubEntry(),
      files: Array.from({ length: 20_000 }, (_, i) => ({ ...hubEntry().files[1]!, path: `shard-${i}.safetensors` })),
      smallFiles: null,
    };
    await writeLockFile(file, lockOf({ tiny: hubEntry() }));
    let reads = 0;
    const deadline = Date.now() + 3_000;
    const writes = (async () => {
      for (let i = 0; Date.now() < deadline; i++)
        await writeLockFile(file, lockOf(i % 2 ? { tiny: hubEntry() } : { tiny: many }));
    })();
    while (Date.now() < deadline) {
      const lock = await readLockFile(file);
      expect(Object.keys(lock.models)).toEqual(["tiny"]);
      reads++;
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect((await readdir(dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("lets two commands add entries at once without losing either", async () => {
    const file = join(dir, "models.lock.json");
    await Promise.all(
      ["a", "b", "c", "d"].map((name) => updateLockFile(file, (lock) => withEntry(lock, name, hubEntry()))),
    );
    expect(Object.keys((await readLockFile(file)).models)).toEqual(["a", "b", "c", "d"]);
    expect(await readdir(dir)).toEqual(["models.lock.json"]);
  });

  it("refuses to read a lock that is not there, unless adding to it", async () => {
    const file = join(dir, "missing.lock.json");
    await expect(readLockFile(file)).rejects.toThrow(/Cannot read the lockfile/);
    expect(await readLockFile(file, { missingOk: true })).toEqual({ lockVersion: 1, models: {} });
    await writeFile(file, "");
    await expect(readLockFile(file)).rejects.toThrow(/not valid JSON/);
  });
});
