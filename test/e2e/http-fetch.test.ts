/**
 * source.url end to end: fetchModel → nix-build (real Nix, stand-in pkgs) → the bundled
 * fetcher → a real HTTP server on loopback (test/helpers/fault-server.ts; one test with
 * Debian's nginx), with faults, tokens, redirects and archives served from the server side.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tar } from "../helpers/tar-builder.js";
import { FaultServer } from "../helpers/fault-server.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  libPrelude,
  nixAvailable,
  nixBuild,
  nixReadableTempDir,
  type NixBuildResult,
  reportedHash,
  hubCacheWith,
  regularFilesUnder,
  FAKE_HASH,
} from "../helpers/nix.js";
import { runCli } from "../helpers/cli.js";
import { hasNginx, startNginx } from "../helpers/nginx.js";

const TOKEN = `http_e2e_${randomBytes(12).toString("hex")}`;
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** The fixed-output derivation itself (phase 1): what the source produces, before any validation. */
function expression(fields: string): string {
  return `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
}

/** Builds once with the fake hash to learn the real one, then for real. */
async function buildTwice(
  fields: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ first: NixBuildResult; build: NixBuildResult; hash: string }> {
  const first = await nixBuild(expression(`${fields} hash = "${FAKE_HASH}";`), { env });
  const hash = reportedHash(first);
  expect(hash, first.stderr).toMatch(/^sha256-/);
  const build = await nixBuild(expression(`${fields} hash = "${hash}";`), { env });
  expect(build.stderr).not.toContain("error:");
  expect(build.ok).toBe(true);
  return { first, build, hash: hash! };
}

describe.skipIf(!nixAvailable)("fetchModel from plain HTTP, built by Nix (needs nix-build)", () => {
  let server: FaultServer;
  let work: string;
  const weights = randomBytes(3 * 1024 * 1024 + 5);
  const config = JSON.stringify({ model_type: "tiny", run: randomBytes(8).toString("hex") });
  const archived = {
    "config.json": JSON.stringify({ archived: randomBytes(6).toString("hex") }),
    "onnx/model.onnx": randomBytes(150_000),
    "tokenizer/vocab.txt": "a\nb\nc\n",
  };
  let targz: Buffer;
  let zip: Buffer;
  let evilTar: Buffer;
  let slipTar: Buffer;

  beforeAll(async () => {
    server = await FaultServer.start();
    work = await mkdtemp(join(tmpdir(), "nmr-e2e-http-"));
    server.serveBytes("/files/model.safetensors", weights);
    server.serveBytes("/files/config.json", Buffer.from(config));
    server.serveBytes("/download", Buffer.from(config));
    server.serveBytes("/corrupt/model.safetensors", weights, { corruptAt: 1000 });
    server.serveBytes("/cdn/secret.bin", weights);
    // A private file: the token is checked here, then the bytes come from another host (a CDN).
    server.route("/private/secret.bin", (request, response) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.writeHead(401, { "content-type": "text/plain" });
        return void response.end("token required");
      }
      response.writeHead(302, { location: server.url("/cdn/secret.bin?signature=abc", "127.0.0.2") });
      response.end();
    });

    // Archives made by the real tools.
    const tree = join(work, "tree");
    for (const [path, content] of Object.entries(archived)) {
      await mkdir(join(tree, path, ".."), { recursive: true });
      await writeFile(join(tree, path), content);
    }
    execFileSync("tar", ["czf", join(work, "model.tar.gz"), "-C", tree, "."]);
    execFileSync("python3", [
      "-c",
      "import zipfile,sys,os\nwith zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED) as z:\n  z.write(os.path.join(sys.argv[2],'config.json'),'extra/config.json')",
      join(work, "extra.zip"),
      tree,
    ]);
    targz = await readFile(join(work, "model.tar.gz"));
    zip = await readFile(join(work, "extra.zip"));
    server.serveBytes("/archives/model.tar.gz", targz);
    server.serveBytes("/archives/extra.zip", zip);
    evilTar = await tar([
      { name: "ok.txt", content: "fine" },
      { name: "etc", type: "symlink", linkname: "/etc" },
    ]);
    slipTar = await tar([{ name: `../../../../../../tmp/nmr-http-escape-${TOKEN.slice(-8)}`, content: "escaped" }]);
    server.serveBytes("/archives/evil.tar", evilTar);
    server.serveBytes("/archives/slip.tar", slipTar);
  });

  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  const twoFiles = () => `source.url.urls = [
    { url = "${server.url("/files/model.safetensors")}"; sha256 = "${sha256(weights)}"; }
    { url = "${server.url("/download")}?id=7"; filename = "config.json"; sha256 = "sha256-${Buffer.from(sha256(config), "hex").toString("base64")}"; }
  ];`;

  it("fetches files into the Hugging Face layout, the same hash twice", async () => {
    const { build, hash } = await buildTwice(`name = "http-two"; ${twoFiles()}`);
    const out = build.outPath!;
    const meta = JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta.source).toEqual({
      type: "url",
      files: [
        { filename: "model.safetensors", sha256: sha256(weights) },
        { filename: "config.json", sha256: sha256(config) },
      ],
      unpack: false,
    });
    // Blobs are named by content sha256; the snapshot commit is the manifest id.
    expect((await readdir(join(out, "blobs"))).sort()).toEqual([sha256(weights), sha256(config)].sort());
    const report = await assertEveryFileFoundOffline(await hubCacheWith(out, "acme/http-two"), "acme/http-two", {
      "model.safetensors": weights,
      "config.json": Buffer.from(config),
    });
    expect(report.commit).toBe(meta.resolved.commit);
    expect(await readFile(join(out, "refs", "main"), "utf8")).toBe(meta.resolved.commit);

    const again = await nixBuild(
      expression(`name = "http-two"; ${twoFiles()} hash = "${hash}"; network.concurrency = 1;`),
      { check: true },
    );
    expect(again.stderr).not.toContain("error:");
    expect(again.ok).toBe(true);
  });

  it("fails naming the file when a byte is corrupted on the server", async () => {
    const result = await nixBuild(
      expression(
        `name = "http-corrupt"; source.url.urls = [ { url = "${server.url("/corrupt/model.safetensors")}"; sha256 = "${sha256(weights)}"; } ]; hash = "${FAKE_HASH}";`,
      ),
    );
    expect(result.ok).toBe(false);
    expect(result.stderr).toContain("model.safetensors");
    expect(result.stderr).toMatch(/sha256/);
    expect(result.stderr).not.toContain("hash mismatch in fixed-output derivation");
  });

  it("sends the token to the URL's own host only: not to the host it redirects to, nor into any artifact", async () => {
    const before = server.log.length;
    const fields = `name = "http-private"; source.url.urls = [ { url = "${server.url("/private/secret.bin")}"; sha256 = "${sha256(weights)}"; } ]; auth.tokenEnvVar = "MY_HTTP_TOKEN";`;
    const { first, build } = await buildTwice(fields, { MY_HTTP_TOKEN: TOKEN });
    expect(build.stderr + first.stderr).toContain("using the token from $MY_HTTP_TOKEN");
    const requests = server.log.slice(before);
    expect(
      requests.some(
        (r) => r.path === "/private/secret.bin" && r.host === "127.0.0.1" && r.authorization === `Bearer ${TOKEN}`,
      ),
    ).toBe(true);
    const cdn = requests.filter((r) => r.host === "127.0.0.2");
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((r) => r.authorization === undefined)).toBe(true);

    expect(await readFile(build.drvPath!, "utf8")).not.toContain(TOKEN);
    expect(first.stdout + first.stderr + build.stdout + build.stderr).not.toContain(TOKEN);
    for (const file of await regularFilesUnder(build.outPath!))
      expect((await readFile(file)).includes(TOKEN)).toBe(false);

    // Without the token the server's refusal is reported, naming the file.
    const anonymous = await nixBuild(expression(`${fields} hash = "${FAKE_HASH}";`), { env: { MY_HTTP_TOKEN: "" } });
    expect(anonymous.ok).toBe(false);
    expect(anonymous.stderr).toContain("401");
    expect(anonymous.stderr).toContain("secret.bin");
  });

  it("reads the token from auth.tokenFile", async () => {
    const secrets = await nixReadableTempDir("nmr-http-secret-");
    const tokenFile = join(secrets, "token");
    await writeFile(tokenFile, `${TOKEN}\n`);
    await chmod(tokenFile, 0o644);
    const result = await nixBuild(
      expression(
        `name = "http-private-file"; source.url.urls = [ { url = "${server.url("/private/secret.bin")}"; sha256 = "${sha256(weights)}"; } ]; auth.tokenFile = "${tokenFile}"; hash = "${FAKE_HASH}";`,
      ),
    );
    expect(result.stderr).toContain("hash mismatch in fixed-output derivation");
    expect(result.stderr).toContain(`using the token from auth.tokenFile ${tokenFile}`);
    expect(result.stderr).not.toContain(TOKEN);
  });

  it("unpacks a tar.gz and a zip into one snapshot, keeping neither archive", async () => {
    const fields = `name = "http-unpack"; source.url = { unpack = true; urls = [
      { url = "${server.url("/archives/model.tar.gz")}"; sha256 = "${sha256(targz)}"; }
      { url = "${server.url("/archives/extra.zip")}"; sha256 = "${sha256(zip)}"; }
    ]; };`;
    const { build } = await buildTwice(fields);
    const out = build.outPath!;
    await assertEveryFileFoundOffline(await hubCacheWith(out, "acme/unpacked"), "acme/unpacked", {
      ...Object.fromEntries(Object.entries(archived).map(([path, content]) => [path, Buffer.from(content)])),
      "extra/config.json": Buffer.from(archived["config.json"]),
    });
    const blobs = await readdir(join(out, "blobs"));
    expect(blobs).not.toContain(sha256(targz));
    expect(blobs).not.toContain(sha256(zip));
    // config.json and extra/config.json share one blob.
    expect(blobs.length).toBe(3);
    const meta = JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
    expect(meta.resolved["archive:model.tar.gz"]).toBe(sha256(targz));
    expect(meta.resolved["archive:extra.zip"]).toBe(sha256(zip));
    expect(meta.files.map((f: { path: string }) => f.path)).toEqual([
      "config.json",
      "extra/config.json",
      "onnx/model.onnx",
      "tokenizer/vocab.txt",
    ]);
  });

  it("refuses hostile archives and writes nothing outside the output", async () => {
    const symlinked = await nixBuild(
      expression(
        `name = "http-evil"; source.url = { unpack = true; urls = [ { url = "${server.url("/archives/evil.tar")}"; sha256 = "${sha256(evilTar)}"; } ]; }; hash = "${FAKE_HASH}";`,
      ),
    );
    expect(symlinked.ok).toBe(false);
    expect(symlinked.stderr).toContain("Refusing an entry of the archive evil.tar: it is a symbolic link");

    // Outside any sandbox, through the CLI, where an escape would really land.
    const spec = join(work, "slip.json");
    const out = join(work, "slip-out");
    await writeFile(
      spec,
      JSON.stringify({
        specVersion: 1,
        name: "slip",
        source: {
          type: "url",
          unpack: true,
          urls: [{ url: server.url("/archives/slip.tar"), sha256: sha256(slipTar) }],
        },
      }),
    );
    const cli = await runCli(["fetch", "--spec", spec, "--out", out]);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain("it has a '..' segment");
    expect(existsSync(`/tmp/nmr-http-escape-${TOKEN.slice(-8)}`)).toBe(false);
    expect(existsSync(out)).toBe(false);
    // The scratch directory for the archive is gone too.
    expect((await readdir(tmpdir())).filter((name) => name.startsWith("nix-model-repo-unpack-"))).toEqual([]);
  });

  it("prefetches a URL, prints its sha256, and the build finds the model in the store", async () => {
    const served = randomBytes(70_000);
    server.serveBytes("/prefetch/weights.bin", served);
    const result = await runCli(["prefetch", `url:${server.url("/prefetch/weights.bin")}`, "--json"]);
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    const prefetched = JSON.parse(result.stdout) as {
      hash: string;
      storePath: string;
      expression: string;
      name: string;
    };
    expect(prefetched.expression).toContain(`sha256 = "${sha256(served)}";`);
    expect(prefetched.name).toBe("weights");
    const build = await nixBuild(
      expression(
        `name = "weights"; source.url.urls = [ { url = "${server.url("/prefetch/weights.bin")}"; sha256 = "${sha256(served)}"; } ]; hash = "${prefetched.hash}";`,
      ),
    );
    expect(build.ok).toBe(true);
    expect(build.outPath).toBe(prefetched.storePath);
  });

  it.skipIf(!hasNginx)("fetches from nginx, the real file server (needs Debian's nginx or nginx-light)", async () => {
    const root = await nixReadableTempDir("nmr-nginx-root-");
    await mkdir(join(root, "models"));
    await writeFile(join(root, "models", "model.safetensors"), weights);
    await writeFile(join(root, "models", "config.json"), config);
    execFileSync("chmod", ["-R", "a+rX", root]);
    const nginx = await startNginx(root);
    try {
      const fields = `name = "http-nginx"; source.url.urls = [
        { url = "${nginx.url}/models/model.safetensors"; sha256 = "${sha256(weights)}"; }
        { url = "${nginx.url}/models/config.json"; sha256 = "${sha256(config)}"; }
      ];`;
      const { build } = await buildTwice(fields);
      await assertEveryFileFoundOffline(await hubCacheWith(build.outPath!, "acme/nginx"), "acme/nginx", {
        "model.safetensors": weights,
        "config.json": Buffer.from(config),
      });
      // A wrong pin fails naming the file, whoever serves it.
      const wrong = await nixBuild(
        expression(
          `name = "http-nginx-wrong"; source.url.urls = [ { url = "${nginx.url}/models/config.json"; sha256 = "${sha256("other")}"; } ]; hash = "${FAKE_HASH}";`,
        ),
      );
      expect(wrong.ok).toBe(false);
      expect(wrong.stderr).toContain("config.json");
      expect(wrong.stderr).not.toContain("hash mismatch in fixed-output derivation");
    } finally {
      await nginx.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
