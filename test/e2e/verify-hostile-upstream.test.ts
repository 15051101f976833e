/**
 * `verify` against a hostile Hub (issue 14's attack, on the lifecycle's new code path): an
 * HTML page where the tree listing belongs, a revision API that redirects to another host
 * while a token is set, and a tree listing that goes on past a million entries. The HTML and
 * the flood end in the `error` state (exit 1) with a message that says what the answer was,
 * the token never leaves its host, and the lockfile is only read. The project's own Hub server on loopback,
 * faults injected server-side. No Nix needed: a lock entry is verified from its listing.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { faults, type HubServer, startHubServer } from "../../src/serve/index.js";
import { runCli } from "../helpers/cli.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";

const TOKEN = `hf_verify_${randomBytes(12).toString("hex")}`;

describe("verify against a hostile Hub", () => {
  let root: string;
  let work: string;
  let lock: string;
  let hub: HubServer;
  let before: string;
  const env = () => ({ PATH: "/nonexistent", HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "nmr-verify-hostile-hub-"));
    work = await mkdtemp(join(tmpdir(), "nmr-verify-hostile-"));
    lock = join(work, "models.lock.json");
    await writeHubRepo(root, { repoId: "acme/tiny", files: { "config.json": '{"a":1}', "w.bin": randomBytes(3000) } });
    // The Hub on 127.0.0.1, its CDN host on 127.0.0.2 (the same server): a real other host.
    hub = await startHubServer({ root, tokens: [TOKEN], cdn: { host: "127.0.0.2" }, pageSize: 100_000 });
    const added = await runCli(["add", "tiny", "hf:acme/tiny", "--lock", lock], { env: env() });
    expect(added.code, added.stderr).toBe(0);
    before = await readFile(lock, "utf8");
  });

  afterEach(async () => {
    hub.setFaults(undefined);
    hub.setTreeOverride(undefined);
    hub.clearRequests();
    expect(await readFile(lock, "utf8")).toBe(before);
  });

  afterAll(async () => {
    await hub?.close();
    await rm(root, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  const verify = async () => {
    const result = await runCli(["verify", "tiny", "--lock", lock, "--json"], { env: env() });
    return { ...result, model: result.stdout === "" ? undefined : JSON.parse(result.stdout).models[0] };
  };

  it("says an HTML page where the listing belongs is HTML, in the error state", async () => {
    hub.setFaults(
      faults.always(
        {
          respond: {
            status: 200,
            headers: { "Content-Type": "text/html" },
            body: "<!doctype html><html><body>Sign in to continue</body></html>",
          },
        },
        (request) => request.route === "tree",
      ),
    );
    const result = await verify();
    expect(result.code, result.stderr).toBe(1);
    expect(result.model).toMatchObject({ name: "tiny", state: "error" });
    expect(JSON.stringify(result.model)).toMatch(/invalid JSON from .*Content-Type text\/html/);
  });

  it("follows a revision API redirected to another host without the token", async () => {
    hub.setFaults(
      faults.times(
        1,
        { respond: { status: 302, headers: { Location: `${hub.cdnUrl}/api/models/acme/tiny/revision/main` } } },
        (request) => request.route === "info",
      ),
    );
    const result = await verify();
    expect(result.stderr).not.toContain(TOKEN);
    expect(result.stdout).not.toContain(TOKEN);
    const elsewhere = hub.requests.filter((request) => request.host.startsWith("127.0.0.2"));
    expect(elsewhere.length).toBeGreaterThan(0);
    expect(elsewhere.every((request) => !request.hasAuthorization)).toBe(true);
    // The repo is public: the other host answers without a token, the same revision.
    expect(result.model?.state, result.stderr).toBe("unchanged");
  });

  it("refuses a tree listing of more than a million entries, naming the cap", async () => {
    const junk = Array.from({ length: 1_000_100 }, (_, index) => ({
      type: "file",
      path: `junk/${index}.bin`,
      oid: "2".repeat(40),
      size: 1,
    }));
    hub.setTreeOverride(({ repo }) => (repo.id === "acme/tiny" ? junk : undefined));
    const result = await verify();
    expect(result.code, result.stderr).toBe(1);
    expect(result.model).toMatchObject({ name: "tiny", state: "error" });
    expect(JSON.stringify(result.model)).toContain("goes on past 1000000 entries");
  }, 180_000);
});
