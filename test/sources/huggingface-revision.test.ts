/**
 * A Hugging Face revision that is a full commit id (40 lowercase hex digits), as
 * fixed-output derivations usually pin it: the fetch lists and downloads that commit
 * without asking the Hub what the revision points to (huggingface_hub's snapshot_download
 * skips that call for one too), and a commit the repo lacks is refused, naming it.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFetchSpec } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { silentProgress } from "../../src/progress/silent.js";
import { type HubServer, startHubServer } from "../../src/serve/index.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";

const options = { env: {}, progress: silentProgress };

describe("a Hugging Face revision that is a commit id", () => {
  let root: string;
  let work: string;
  let hub: HubServer;
  let old: WrittenHubRepo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-commit-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-commit-out-"));
    // main has moved on: the old commit is still there, named by no branch.
    old = await writeHubRepo(root, {
      repoId: "acme/tiny",
      files: { "config.json": '{"v":1}' },
      refs: {},
      extraCommits: [{ files: { "config.json": '{"v":2}' }, refs: ["main"] }],
    });
    hub = await startHubServer({ root });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const spec = (revision: string) =>
    parseSpec({
      specVersion: SPEC_VERSION,
      name: "tiny",
      source: { type: "huggingface", repo: "acme/tiny", revision, endpoint: hub.url },
    });

  it("fetches that commit with a listing and a download, no question where a revision points", async () => {
    const out = join(work, "pinned");
    hub.clearRequests();
    await runFetchSpec(spec(old.commit), out, options);
    expect(await readFile(join(out, "snapshots", old.commit, "config.json"), "utf8")).toBe('{"v":1}');
    // As before: refs/main names the snapshot, so that default offline loads find it.
    expect(await readdir(join(out, "refs"))).toEqual(["main"]);
    expect(await readFile(join(out, "refs", "main"), "utf8")).toBe(old.commit);
    expect(hub.requests.map((request) => request.route)).not.toContain("info");
    expect(hub.requests.filter((request) => request.route === "resolve").map((request) => request.url)).toEqual([
      `/acme/tiny/resolve/${old.commit}/config.json`,
    ]);
  });

  it("still asks where a branch points", async () => {
    const out = join(work, "branch");
    hub.clearRequests();
    await runFetchSpec(spec("main"), out, options);
    const [commit] = await readdir(join(out, "snapshots"));
    expect(commit).not.toBe(old.commit);
    expect(await readFile(join(out, "snapshots", commit!, "config.json"), "utf8")).toBe('{"v":2}');
    expect(hub.requests.map((request) => request.route)).toContain("info");
  });

  it("refuses a commit the repo does not have, naming it, and leaves no output", async () => {
    const out = join(work, "unknown");
    const unknown = "0123456789abcdef0123456789abcdef01234567";
    await expect(runFetchSpec(spec(unknown), out, options)).rejects.toThrow(unknown);
    expect(existsSync(out)).toBe(false);
  });
});
