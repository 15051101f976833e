/**
 * The Hugging Face source through Xet, against serve speaking Xet on loopback: the choice
 * (network.xet, HF_HUB_DISABLE_XET, files without Xet data), the same output whichever path
 * the bytes took, where each credential goes (recorded at serve), and every fault of the Xet
 * path injected server-side — each ends in the right bytes or a clear error naming the file,
 * with no output left.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { UserError } from "../../src/errors/user-error.js";
import { fetchModelInto, runFetchSpec } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { narHash } from "../../src/nar/hash.js";
import { silentProgress } from "../../src/progress/silent.js";
import { faults, match, startHubServer, type HubServer } from "../../src/serve/index.js";
import { clearSecretsForTesting } from "../../src/util/secrets.js";
import { writeHubRepo, type WrittenHubRepo } from "../helpers/hub-fixture.js";
import { XET_FAULT_REFUSALS, xetRepoFiles } from "../serve/xet-fixture.js";

const TOKEN = `hf_xet_${randomBytes(12).toString("hex")}`;
const REPO = "acme/xet-model";

let root: string;
let repo: WrittenHubRepo;
let hub: HubServer;
let scratch: string;
let outputs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nmr-hf-xet-"));
  scratch = await mkdtemp(join(tmpdir(), "nmr-hf-xet-out-"));
  repo = await writeHubRepo(root, { repoId: REPO, files: xetRepoFiles() });
  await writeFile(join(repo.folder, ".xet"), "");
  await writeHubRepo(root, { repoId: "acme/plain", files: { "w.bin": randomBytes(5000), "config.json": "{}" } });
  // Small xorbs so files span several; xorbs on another host (127.0.0.2), as huggingface.co's.
  hub = await startHubServer({
    root,
    tokens: [TOKEN],
    cdn: { host: "127.0.0.2" },
    xet: { xorbMaxBytes: 256 * 1024 },
  });
});

afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  clearSecretsForTesting();
});

afterEach(() => {
  hub.setFaults(undefined);
  hub.setTreeOverride(undefined);
  hub.clearRequests();
  vi.restoreAllMocks();
});

function spec(
  xet: "auto" | "off" | "required",
  repoId: string,
  files: string[] | null,
  network: Record<string, unknown> = { retry: { maxAttempts: 2, baseDelay: 0 } },
) {
  return parseSpec({
    specVersion: SPEC_VERSION,
    name: "xet-test",
    source: { type: "huggingface", repo: repoId, endpoint: hub.url, files },
    network: { xet, ...network },
  });
}

/** Fetches into a fresh directory; the log lines it printed come back too. */
async function fetchWith(
  xet: "auto" | "off" | "required",
  env: NodeJS.ProcessEnv = { HF_TOKEN: TOKEN },
  repoId = REPO,
  files: string[] | null = null,
  network?: Record<string, unknown>,
): Promise<{ out: string; log: string; error: unknown }> {
  const out = join(scratch, `out-${++outputs}`);
  let log = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    log += String(chunk);
    return true;
  });
  try {
    await fetchModelInto(spec(xet, repoId, files, network), out, { env, progress: silentProgress });
    return { out, log, error: undefined };
  } catch (error) {
    return { out, log, error };
  } finally {
    vi.restoreAllMocks();
  }
}

const lfsFiles = () => repo.files.filter((file) => file.lfs);
const routes = () => hub.requests.map((request) => request.route);
const contentFromResolve = () =>
  hub.requests.filter(
    (request) => request.method === "GET" && (request.route === "resolve" || request.route === "cdn"),
  );

async function expectWholeModel(out: string, only?: string): Promise<void> {
  for (const file of repo.files.filter((candidate) => only === undefined || candidate.path === only)) {
    const bytes = await readFile(join(out, "snapshots", repo.commit, file.path));
    expect(bytes.equals(file.content), file.path).toBe(true);
  }
}

describe("choosing Xet", () => {
  it('takes every LFS file through Xet with "required", and none with "off": the same output, the same hash', async () => {
    const viaXet = await fetchWith("required");
    expect(viaXet.error).toBeUndefined();
    await expectWholeModel(viaXet.out);
    expect(routes().filter((route) => route === "xet-reconstruction")).toHaveLength(lfsFiles().length);
    expect(hub.requests.filter((request) => request.url.startsWith("/v1/"))).toHaveLength(0);
    // Only the regular git files came through resolve.
    expect(
      contentFromResolve()
        .map((request) => decodeURIComponent(request.url.split("/").pop()!))
        .sort(),
    ).toEqual(
      repo.files
        .filter((file) => !file.lfs)
        .map((file) => file.path)
        .sort(),
    );

    hub.clearRequests();
    const viaBridge = await fetchWith("off");
    expect(viaBridge.error).toBeUndefined();
    expect(routes().some((route) => route.startsWith("xet-"))).toBe(false);

    expect((await narHash(viaXet.out)).sri).toBe((await narHash(viaBridge.out)).sri);
    expect(await readFile(join(viaXet.out, ".nix-model-repo-meta.json"), "utf8")).toBe(
      await readFile(join(viaBridge.out, ".nix-model-repo-meta.json"), "utf8"),
    );
  });

  it("sends the Hub token to the Hub only, the Xet token to the CAS only, and nothing to pre-signed xorb URLs", async () => {
    const { error } = await fetchWith("required");
    expect(error).toBeUndefined();
    const xorbHost = new URL(hub.cdnUrl!).host;
    for (const request of hub.requests) {
      const where = `${request.route} ${request.url.split("?")[0]}`;
      if (request.route === "xet-reconstruction") expect(request.credential, where).toBe("xet-token");
      else if (request.route === "xet-xorb") {
        expect(request.credential, where).toBe("none");
        expect(request.host, where).toBe(xorbHost);
      } else expect(request.credential, where).toBe("hub-token");
    }
    expect(routes()).toContain("xet-token");
  });

  it("downloads a range once however many terms of the file read it", async () => {
    // repeats.bin is one block three times: its reconstruction reads the same chunks thrice.
    const { error, out } = await fetchWith("required", undefined, REPO, ["repeats.bin"]);
    expect(error).toBeUndefined();
    await expectWholeModel(out, "repeats.bin");
    const reads = hub.requests.filter((request) => request.route === "xet-xorb");
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((request) => `${request.url} ${request.range}`)).size).toBe(reads.length);
    const file = repo.files.find((candidate) => candidate.path === "repeats.bin")!;
    const fetched = reads.reduce((sum, request) => {
      const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(request.range ?? "") ?? [];
      return sum + Number(last) - Number(first) + 1;
    }, 0);
    expect(fetched).toBeLessThan(file.size / 2);
  });

  it('with "auto" uses Xet where it can; HF_HUB_DISABLE_XET turns "auto" off but not "required"', async () => {
    await fetchWith("auto");
    expect(routes()).toContain("xet-reconstruction");

    hub.clearRequests();
    const disabled = await fetchWith("auto", { HF_TOKEN: TOKEN, HF_HUB_DISABLE_XET: "yes" });
    expect(disabled.error).toBeUndefined();
    expect(disabled.log).toContain("Xet is off (HF_HUB_DISABLE_XET=yes)");
    expect(routes().some((route) => route.startsWith("xet-"))).toBe(false);

    hub.clearRequests();
    const required = await fetchWith("required", { HF_TOKEN: TOKEN, HF_HUB_DISABLE_XET: "1" });
    expect(required.error).toBeUndefined();
    expect(routes()).toContain("xet-reconstruction");
  });

  it("takes a repo without Xet data through resolve, and says nothing about Xet", async () => {
    const { error, log } = await fetchWith("auto", { HF_TOKEN: TOKEN }, "acme/plain");
    expect(error).toBeUndefined();
    expect(log).not.toMatch(/xet/i);
    expect(routes().some((route) => route.startsWith("xet-"))).toBe(false);
  });

  it('takes a file whose listing has no valid xetHash through resolve with a log line ("auto"), and refuses it ("required")', async () => {
    const target = "model-v2.safetensors";
    await spoilListing(target, { xetHash: "not-a-hash" });
    const auto = await fetchWith("auto");
    expect(auto.error).toBeUndefined();
    await expectWholeModel(auto.out);
    expect(auto.log).toContain(`1 of the ${lfsFiles().length} LFS files of ${REPO} have no Xet data`);
    expect(contentFromResolve().some((request) => request.url.includes(target))).toBe(true);

    const required = await fetchWith("required");
    expect(required.error).toBeInstanceOf(UserError);
    expect((required.error as Error).message).toContain('network.xet = "required", but the Hub lists no Xet data');
    expect(existsSync(required.out)).toBe(false);
  });
});

describe("a locked file, fetched on its own", () => {
  it("learns its Xet hash from paths-info, not from the tree, and comes through Xet", async () => {
    const target = repo.files.find((file) => file.path === "model.safetensors")!;
    const out = join(scratch, `out-${++outputs}`);
    const perFile = parseSpec({
      specVersion: SPEC_VERSION,
      name: "xet-test",
      source: { type: "huggingface", repo: REPO, endpoint: hub.url },
      network: { xet: "required" },
      select: {
        output: "file",
        resolved: { commit: repo.commit },
        files: [{ path: target.path, size: target.size, sha256: target.sha256 }],
      },
    });
    await runFetchSpec(perFile, out, { env: { HF_TOKEN: TOKEN }, progress: silentProgress });
    expect((await readFile(out)).equals(target.content)).toBe(true);
    expect(routes()).not.toContain("tree");
    expect(routes().filter((route) => route === "paths-info")).toHaveLength(1);
    expect(routes().filter((route) => route === "xet-reconstruction")).toHaveLength(1);
    expect(contentFromResolve()).toHaveLength(0);
  });
});

/** The real listing with `change` applied to one entry, served instead of it. */
async function spoilListing(path: string, change: Record<string, unknown>): Promise<void> {
  const listing = (await (await fetch(`${hub.url}/api/models/${REPO}/tree/main?recursive=true`)).json()) as Array<{
    path: string;
  }>;
  const spoilt = listing.map((entry) => (entry.path === path ? { ...entry, ...change } : entry));
  hub.setTreeOverride(({ repo: { id } }) => (id === REPO ? spoilt : undefined));
}

describe("hostile Xet servers", () => {
  const target = "model.safetensors";

  it("a listed size of 1e15 for a Xet file: refused by the one rule for listed sizes, before any Xet request", async () => {
    const real = repo.files.find((file) => file.path === target)!;
    await spoilListing(target, { size: 1e15, lfs: { oid: real.sha256, size: 1e15, pointerSize: 134 } });
    const { error, out } = await fetchWith("required", undefined, REPO, [target]);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).details.cause).toMatch(/more than the \d+ bytes \(64 TiB\) the fetcher accepts/);
    expect(routes().filter((route) => route.startsWith("xet"))).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ["a reconstruction reply over 32 MiB", () => Buffer.alloc(33 * 1024 * 1024, 0x20), /longer than 32 MiB/],
    ["a reply of nested brackets", () => "[".repeat(1_000_000), /not JSON the protocol allows: .*nested/i],
    ["an HTML page", () => "<html><body>Service busy</body></html>", /not JSON the protocol allows/],
  ])("%s: a clear error naming the file", async (_, body, message) => {
    hub.setFaults(
      faults.always(
        { respond: { status: 200, headers: { "Content-Type": "application/json" }, body: body() } },
        match.xetReconstruction,
      ),
    );
    const { error } = await fetchWith("required", undefined, REPO, [target]);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).details.context?.["file"]).toBe(target);
    expect((error as UserError).details.cause).toMatch(message);
  });

  it.each([
    ["a file: CAS URL", { casUrl: "file:///etc/passwd" }, /casUrl is not http\(s\) but file:/],
    ["a CAS URL with credentials", { casUrl: "http://user:pw@127.0.0.1:1/" }, /casUrl carries credentials/],
    ["a token with a line break", { accessToken: "xet_a\r\nX-Injected: 1" }, /accessToken is not a token/],
    ["no expiry", { exp: "soon" }, /exp "soon" is not a Unix time/],
  ])("a Xet token reply with %s is refused before any CAS request", async (_, change, message) => {
    hub.setFaults(
      faults.always(
        {
          respond: {
            status: 200,
            body: { accessToken: "xet_forged_token_value", exp: 4_000_000_000, casUrl: hub.url, ...change },
          },
        },
        match.route("xet-token"),
      ),
    );
    const { error } = await fetchWith("required", undefined, REPO, [target]);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).details.cause).toMatch(message);
    expect(hub.requests.filter((request) => request.route === "xet-reconstruction")).toHaveLength(0);
  });
});

describe("faults on the Xet path", () => {
  it("falls back to V1 reconstructions when the CAS answers 501 to V2, and keeps to V1", async () => {
    hub.setFaults(
      faults.always(
        { respond: { status: 501, body: { error: "not implemented" } } },
        (request) => match.xetReconstruction(request) && request.url.startsWith("/v2/"),
      ),
    );
    const { error, out } = await fetchWith("required");
    expect(error).toBeUndefined();
    await expectWholeModel(out);
    // Files asked at the same time each see V2 refused; then V1 serves every file.
    expect(hub.requests.filter((request) => request.url.startsWith("/v2/")).length).toBeLessThanOrEqual(
      lfsFiles().length,
    );
    expect(hub.requests.filter((request) => request.url.startsWith("/v1/"))).toHaveLength(lfsFiles().length);
  });

  it("asks for a cut xorb range again, with the same signed Range, and gets the file right", async () => {
    // Two ranges long enough to be cut mid-way.
    const long = (request: { range?: string | undefined }) => {
      const [, first, last] = /^bytes=(\d+)-(\d+)$/.exec(request.range ?? "") ?? [];
      return Number(last) - Number(first) > 50_000;
    };
    hub.setFaults(faults.times(2, { dropAfterBytes: 5000 }, (request) => match.xetXorb(request) && long(request)));
    const { error, out } = await fetchWith("required");
    expect(error).toBeUndefined();
    await expectWholeModel(out);
    const reads = hub.requests.filter((request) => request.route === "xet-xorb");
    const cut = reads.filter((request) => request.faulted);
    expect(cut).toHaveLength(2);
    const bounds = (request: { range?: string | undefined }) =>
      (/^bytes=(\d+)-(\d+)$/.exec(request.range ?? "") ?? []).slice(1).map(Number);
    // Which ranges the two cuts hit depends on the order the files' first requests go out in,
    // and a range two files share is read once for each: a cut one may be read three times.
    for (const request of cut) {
      const [start, end] = bounds(request);
      const later = reads.slice(reads.indexOf(request) + 1).filter((again) => again.url === request.url);
      // Asked again whole, with the same signed Range...
      expect(later.some((again) => again.range === request.range && !again.faulted)).toBe(true);
      // ...and never resumed from where the cut left off.
      expect(later.filter((again) => bounds(again)[1] === end && bounds(again)[0]! > start!)).toEqual([]);
    }
  });

  it("reads a stalled xorb range and a stalled reconstruction again after network.timeout.read", async () => {
    // A short read timeout, so a stalled answer costs seconds, not five minutes; attempts to
    // spare, so a slow answer on a loaded machine is retried too.
    const shortTimeout = { retry: { maxAttempts: 4, baseDelay: 0 }, timeout: { connect: 30, read: 3 } };
    for (const route of ["xet-xorb", "xet-reconstruction"] as const) {
      hub.clearRequests();
      hub.setFaults(faults.times(1, { stallAfterBytes: 100 }, match.route(route)));
      const { error, out } = await fetchWith("required", undefined, REPO, ["model.safetensors"], shortTimeout);
      expect(error, route).toBeUndefined();
      await expectWholeModel(out, "model.safetensors");
      expect(hub.requests.filter((request) => request.faulted).map((request) => request.route)).toEqual([route]);
    }
  });

  it("cuts a xorb range, a reconstruction and a token answer that drip one byte every 2 s (the low-speed limit), and gets the file", async () => {
    // A read timeout the drip never trips; 100 bytes/s over 1 s of waiting. Before the limit
    // held for API answers, the reconstruction and token drips kept the fetch waiting for hours.
    const slow = {
      retry: { maxAttempts: 3, baseDelay: 0 },
      timeout: { connect: 30, read: 5, lowSpeedLimit: 100, lowSpeedTime: 1 },
    };
    for (const route of ["xet-xorb", "xet-reconstruction", "xet-token"] as const) {
      hub.clearRequests();
      hub.setFaults(faults.times(1, { trickle: { bytes: 1, everyMs: 2_000 } }, match.route(route)));
      const { error, out, log } = await fetchWith("required", undefined, REPO, ["model.safetensors"], slow);
      expect(error, route).toBeUndefined();
      await expectWholeModel(out, "model.safetensors");
      const [cut, ...others] = hub.requests.filter((request) => request.faulted);
      expect([cut?.route, ...others], route).toEqual([route]);
      // The cut answer was asked for again (a xorb range with the same signed Range).
      const again = hub.requests.filter(
        (request) => !request.faulted && request.url === cut?.url && request.range === cut?.range,
      );
      expect(again.length, route).toBeGreaterThanOrEqual(1);
      // API answers say why in the log; a xorb range's retry goes to the progress reporter.
      if (route !== "xet-xorb") expect(log, route).toMatch(/too slow: \d+ bytes in \d+ s, below the low-speed limit/);
    }
  }, 60_000);

  it("renews the token a minute before it expires", async () => {
    // Tokens that live 30 s are always inside the 60 s margin: each reconstruction gets a fresh one.
    const shortLived = await startHubServer({ root, tokens: [TOKEN], xet: { tokenTtlSeconds: 30 } });
    try {
      const out = join(scratch, `out-${++outputs}`);
      await fetchModelInto(
        parseSpec({
          specVersion: SPEC_VERSION,
          name: "xet-test",
          source: { type: "huggingface", repo: REPO, endpoint: shortLived.url },
          // One file at a time, so each asks for the token after the previous one got it.
          network: { xet: "required", concurrency: 1 },
        }),
        out,
        { env: { HF_TOKEN: TOKEN }, progress: silentProgress },
      );
      await expectWholeModel(out);
      const there = shortLived.requests.map((request) => request.route);
      expect(there.filter((route) => route === "xet-token")).toHaveLength(lfsFiles().length);
      expect(shortLived.requests.filter((request) => request.status === 401)).toHaveLength(0);
    } finally {
      await shortLived.close();
    }
  });

  it("gets a fresh token when the CAS says the token expired mid-download", async () => {
    // The third reconstruction: files are already downloading through Xet when it comes.
    let reconstructions = 0;
    hub.setFaults((request) =>
      match.xetReconstruction(request) && ++reconstructions === 3 ? faults.xetTokenExpired() : undefined,
    );
    const { error, out } = await fetchWith("required");
    expect(error).toBeUndefined();
    await expectWholeModel(out);
    expect(
      hub.requests.filter((request) => request.route === "xet-reconstruction" && request.status === 401),
    ).toHaveLength(1);
    expect(routes().filter((route) => route === "xet-token").length).toBeGreaterThanOrEqual(2);
  });

  it("asks for the reconstruction again when a pre-signed xorb URL is refused (403)", async () => {
    hub.setFaults(faults.times(2, faults.xorbAccessDenied(), match.xetXorb));
    const { error, out } = await fetchWith("required");
    expect(error).toBeUndefined();
    await expectWholeModel(out);
    expect(hub.requests.filter((request) => request.route === "xet-xorb" && request.status === 403)).toHaveLength(2);
    // One new reconstruction serves every range of a file refused at the same time.
    const queries = routes().filter((route) => route === "xet-reconstruction").length;
    expect(queries).toBeGreaterThan(lfsFiles().length);
    expect(queries).toBeLessThanOrEqual(lfsFiles().length + 2);
  });

  it.each(XET_FAULT_REFUSALS)(
    "%s: a clear error naming the file with Xet required, the right bytes through resolve with auto",
    async (fault, code, message) => {
      // One file (several xorbs, all three schemes), so the fault has one place to show.
      const target = "model.safetensors";
      const onXet = (request: { route: string }) =>
        request.route === "xet-xorb" || request.route === "xet-reconstruction";
      hub.setFaults(faults.always({ xet: fault }, onXet));

      const required = await fetchWith("required", undefined, REPO, [target]);
      expect(required.error).toBeInstanceOf(UserError);
      const failure = required.error as UserError;
      expect(failure.code).toBe("NMR_BAD_RESPONSE");
      expect(failure.message).toContain(`Xet storage gave data for ${target} that does not decode`);
      expect(failure.message).toContain('Set network.xet = "auto"');
      expect(failure.details.context).toMatchObject({ source: "huggingface", repo: REPO });
      expect(failure.details.context?.["file"]).toBe(target);
      expect(failure.details.cause).toContain(`(${code})`);
      expect(failure.details.cause).toMatch(message);
      expect(existsSync(required.out)).toBe(false);

      hub.clearRequests();
      const auto = await fetchWith("auto", undefined, REPO, [target]);
      expect(auto.error).toBeUndefined();
      await expectWholeModel(auto.out, target);
      expect(auto.log).toMatch(new RegExp(`the Xet download failed \\(the Xet data for .* is unusable \\(${code}\\)`));
      expect(auto.log).toContain("through resolve instead");
      expect(contentFromResolve().some((request) => request.url.includes(target))).toBe(true);
    },
  );
});
