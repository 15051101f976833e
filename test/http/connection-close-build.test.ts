import { randomBytes } from "node:crypto";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_HASH, libPrelude, nixAvailable, nixBuild, nixReadableTempDir, reportedHash } from "../helpers/nix.js";
import {
  pythonHttpServerSkipReason,
  startPythonHttpServer,
  type PythonHttpServer,
} from "../helpers/python-http-server.js";
import { cleanAwsEnv, s3rverAvailable, startS3Server, type S3TestServer } from "../helpers/s3-server.js";
import { sha256 } from "../helpers/transfer-fixtures.js";

/**
 * The fetcher as Nix runs it (real nix-build of fetchModel, stand-in pkgs, the bundled
 * fetcher) against servers that close the connection after every response, with
 * `network.bandwidth.limit` making the builder read slower than loopback delivers.
 * Before patches/undici+7.30.2.patch, the builder died in undici's Parser.finish on
 * most of these fetches (nodejs/undici#5360; see connection-close.test.ts).
 *
 * Each model is fetched three times: with a wrong hash (to learn the right one; Nix
 * keeps what it fetched under the right one), then twice more with --check.
 */

const files = {
  "config.json": Buffer.from(JSON.stringify({ model_type: "tiny", run: randomBytes(8).toString("hex") })),
  "model.safetensors": randomBytes(3 * 1024 * 1024 + 7),
  "tokenizer.json": randomBytes(700 * 1024),
};

const expression = (fields: string) =>
  `${libPrelude} (nmr.fetchModel { ${fields} network.bandwidth.limit = "8M"; }).raw`;

/** Anonymous S3 requests: no AWS configuration of the machine running the tests. */
const options = { env: cleanAwsEnv };

async function fetchThreeTimes(fields: string): Promise<void> {
  const first = await nixBuild(expression(`${fields} hash = "${FAKE_HASH}";`), options);
  expect(first.stderr).not.toContain("AssertionError");
  const hash = reportedHash(first);
  expect(hash, first.stderr).toMatch(/^sha256-/);
  const build = await nixBuild(expression(`${fields} hash = "${hash}";`), options);
  expect(build.ok, build.stderr).toBe(true);
  for (let round = 0; round < 2; round++) {
    const check = await nixBuild(expression(`${fields} hash = "${hash}";`), { ...options, check: true });
    expect(check.stderr).not.toContain("error:");
    expect(check.ok).toBe(true);
  }
}

describe.skipIf(!nixAvailable || pythonHttpServerSkipReason !== undefined)(
  "fetchModel source.url from Python's http.server, built by Nix (needs nix-build and python3)",
  () => {
    let python: PythonHttpServer;

    beforeAll(async () => {
      const served = await nixReadableTempDir("nmr-closing-http-");
      for (const [name, bytes] of Object.entries(files)) {
        await writeFile(join(served, name), bytes);
        await chmod(join(served, name), 0o644);
      }
      python = await startPythonHttpServer(served);
    });
    afterAll(async () => {
      await python?.close();
    });

    it("fetches every file whole, three times in a row", async () => {
      const urls = Object.entries(files)
        .map(([name, bytes]) => `{ url = "${python.origin}/${name}"; sha256 = "${sha256(bytes)}"; }`)
        .join(" ");
      await fetchThreeTimes(`name = "closing-http"; source.url.urls = [ ${urls} ];`);
    });
  },
);

describe.skipIf(!nixAvailable || !s3rverAvailable)(
  "fetchModel source.s3 from a store that closes after every response, built by Nix (needs nix-build and s3rver)",
  () => {
    let store: S3TestServer;

    beforeAll(async () => {
      store = await startS3Server();
      await store.createBucket("closing");
      for (const [name, bytes] of Object.entries(files)) await store.put("closing", `acme/tiny/${name}`, bytes);
      store.faults.closeConnections = true;
    });
    afterAll(async () => {
      await store?.close();
    });

    it("fetches every object whole, three times in a row", async () => {
      await fetchThreeTimes(
        `name = "closing-s3"; source.s3 = { bucket = "closing"; prefix = "acme/tiny"; endpoint = "${store.url}"; };`,
      );
      expect(store.requests.filter((request) => request.method === "GET").length).toBeGreaterThanOrEqual(3 * 4);
    });
  },
);
