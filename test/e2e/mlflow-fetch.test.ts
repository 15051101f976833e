/**
 * source.mlflow end to end against the protocol-faithful MLflow server of
 * test/helpers/mlflow-server.ts (and s3rver behind it for s3:// artifact stores): the
 * fetcher CLI as the builder runs it, then real nix-build of fetchModel expressions.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMlflowServer, type MlflowTestServer } from "../helpers/mlflow-server.js";
import { startS3Server, s3rverAvailable, type S3TestServer } from "../helpers/s3-server.js";
import { assertEveryFileFoundOffline } from "../helpers/hf-offline.js";
import {
  libPrelude,
  nixAvailable,
  nixBuild,
  reportedHash,
  hubCacheWith,
  regularFilesUnder,
  FAKE_HASH,
} from "../helpers/nix.js";
import { runCli, type CliResult } from "../helpers/cli.js";

const USER = "reader";
const PASSWORD = `pw-${randomBytes(12).toString("hex")}`;
const TOKEN = `mlflow-token-${randomBytes(12).toString("hex")}`;

/** Nothing from the machine running the tests may leak in. */
const cleanEnv: NodeJS.ProcessEnv = {
  MLFLOW_TRACKING_URI: "",
  MLFLOW_TRACKING_USERNAME: "",
  MLFLOW_TRACKING_PASSWORD: "",
  MLFLOW_TRACKING_TOKEN: "",
  MLFLOW_S3_ENDPOINT_URL: "",
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  AWS_PROFILE: "",
  AWS_ENDPOINT_URL: "",
  AWS_ENDPOINT_URL_S3: "",
  AWS_CONFIG_FILE: "/nonexistent/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/aws-credentials",
  HOME: "/nonexistent-home",
};
const basicEnv: NodeJS.ProcessEnv = { ...cleanEnv, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: PASSWORD };

function modelArtifacts(tag: string): Record<string, Buffer | string> {
  return {
    MLmodel: `artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\nrun: ${tag}\n`,
    "model.pkl": randomBytes(300_000),
    "conda.yaml": "dependencies:\n- python=3.11\n",
    "data/nested/weights.bin": randomBytes(70_000),
    "name with spaces.txt": `spaces ${tag}`,
  };
}

function asBuffers(files: Record<string, Buffer | string>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(files).map(([path, content]) => [path, Buffer.from(content)]));
}

async function fetchWithCli(
  source: Record<string, unknown>,
  env: NodeJS.ProcessEnv = basicEnv,
  extra: Record<string, unknown> = {},
): Promise<CliResult & { out: string }> {
  const dir = await mkdtemp(join(tmpdir(), "nmr-mlflow-cli-"));
  const spec = join(dir, "spec.json");
  await writeFile(
    spec,
    JSON.stringify({ specVersion: 1, name: "mlflow-model", source: { type: "mlflow", ...source }, ...extra }),
  );
  const out = join(dir, "out");
  return { ...(await runCli(["fetch", "--spec", spec, "--out", out], { env })), out };
}

async function meta(
  out: string,
): Promise<{ source: unknown; resolved: Record<string, string>; files: { path: string }[] }> {
  return JSON.parse(await readFile(join(out, ".nix-model-repo-meta.json"), "utf8"));
}

interface Fixture {
  root: string;
  server: MlflowTestServer;
  versions: Record<number, Record<string, Buffer | string>>;
}

/** churn: v1 Archived, v2 Production + alias champion (source runs:/, storage_location proxied), v3 newest. */
async function churnFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), "nmr-mlflow-artifacts-"));
  const server = await startMlflowServer({
    artifactsRoot: root,
    basicAuth: { username: USER, password: PASSWORD },
    token: TOKEN,
  });
  const versions: Fixture["versions"] = {};
  for (const [version, stage] of [
    [1, "Archived"],
    [2, "production"],
    [3, "None"],
  ] as const) {
    const runId = `run${version}${randomBytes(4).toString("hex")}`;
    versions[version] = modelArtifacts(`v${version}-${runId}`);
    const folder = `1/${runId}/artifacts/model`;
    server.addRun(runId, `mlflow-artifacts:/1/${runId}/artifacts`);
    await server.addVersion({
      name: "churn",
      version,
      stage,
      source: `runs:/${runId}/model`,
      // MLflow 2.x resolves runs:/ sources to a storage location when registering.
      ...(version === 1 ? {} : { storageLocation: `mlflow-artifacts:/${folder}` }),
      artifacts: { folder, files: versions[version]! },
    });
  }
  server.setAlias("churn", "champion", 2);
  return { root, server, versions };
}

describe("source.mlflow against a protocol-faithful MLflow server (fetcher CLI)", () => {
  let fixture: Fixture;
  let server: MlflowTestServer;
  const at = () => ({ trackingUri: server.url, modelName: "churn" });

  beforeAll(async () => {
    fixture = await churnFixture();
    server = fixture.server;
  });

  afterAll(async () => {
    await server?.close();
    await rm(fixture.root, { recursive: true, force: true });
  });

  it("fetches a pinned version's artifacts, recursively, with Basic auth", async () => {
    const before = server.requests.length;
    const result = await fetchWithCli({ ...at(), modelVersion: "3" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      "MLflow: using credentials from $MLFLOW_TRACKING_USERNAME/$MLFLOW_TRACKING_PASSWORD",
    );
    expect(result.stderr + result.stdout).not.toContain(PASSWORD);
    const written = await meta(result.out);
    expect(written.source).toEqual({
      type: "mlflow",
      modelName: "churn",
      modelVersion: "3",
      modelStage: null,
      modelAlias: null,
    });
    expect(written.resolved).toEqual({ version: "3", commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    await assertEveryFileFoundOffline(
      await hubCacheWith(result.out, "mlflow/churn"),
      "mlflow/churn",
      asBuffers(fixture.versions[3]!),
    );
    const sent = server.requests.slice(before);
    expect(
      sent.every(
        (request) => request.authorization === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
      ),
    ).toBe(true);
    expect(sent.some((request) => request.url.startsWith("/api/2.0/mlflow/model-versions/get-download-uri?"))).toBe(
      true,
    );
  });

  it("resolves an alias, a stage and 'latest', and records the version each resolved to", async () => {
    const byAlias = await fetchWithCli({ ...at(), modelAlias: "champion" });
    expect(byAlias.code, byAlias.stderr).toBe(0);
    expect(byAlias.stderr).toContain("MLflow: churn alias @champion is version 2");
    expect((await meta(byAlias.out)).resolved.version).toBe("2");

    const byStage = await fetchWithCli(
      { ...at(), modelStage: "Production" },
      { ...cleanEnv, MLFLOW_TRACKING_TOKEN: TOKEN },
    );
    expect(byStage.code, byStage.stderr).toBe(0);
    expect(byStage.stderr).toContain("MLflow: using credentials from $MLFLOW_TRACKING_TOKEN");
    const stageMeta = await meta(byStage.out);
    expect(stageMeta.resolved.version).toBe("2");
    expect(stageMeta.source).toEqual({
      type: "mlflow",
      modelName: "churn",
      modelVersion: null,
      modelStage: "Production",
      modelAlias: null,
    });

    const latest = await fetchWithCli({ ...at(), modelVersion: "latest" });
    expect(latest.code, latest.stderr).toBe(0);
    expect((await meta(latest.out)).resolved.version).toBe("3");
  });

  it("follows a runs:/ source through runs/get when the version has no storage location", async () => {
    const before = server.requests.length;
    const result = await fetchWithCli({ ...at(), modelVersion: "1" });
    expect(result.code, result.stderr).toBe(0);
    expect(
      server.requests.slice(before).some((request) => request.url.startsWith("/api/2.0/mlflow/runs/get?run_id=run1")),
    ).toBe(true);
    await assertEveryFileFoundOffline(
      await hubCacheWith(result.out, "mlflow/churn"),
      "mlflow/churn",
      asBuffers(fixture.versions[1]!),
    );
  });

  it("explains missing credentials, refused credentials, and a missing version, never printing a secret", async () => {
    const anonymous = await fetchWithCli({ ...at(), modelVersion: "3" }, cleanEnv);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain("The MLflow server needs credentials");
    expect(anonymous.stderr).toContain("none (anonymous)");

    const wrong = `wrong-${randomBytes(8).toString("hex")}`;
    const refused = await fetchWithCli(
      { ...at(), modelVersion: "3" },
      { ...cleanEnv, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: wrong },
    );
    expect(refused.stderr).toContain("The MLflow server refused the credentials");
    expect(refused.stderr).not.toContain(wrong);

    const missing = await fetchWithCli({ ...at(), modelVersion: "9" });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("The MLflow server does not have churn version 9");
    expect(missing.stderr).toContain("Model Version (name=churn, version=9) not found");

    const noAlias = await fetchWithCli({ ...at(), modelAlias: "nope" });
    expect(noAlias.stderr).toContain("Registered model alias nope not found.");

    const noStage = await fetchWithCli({ ...at(), modelStage: "Staging" });
    expect(noStage.stderr).toContain("No version of the registered model churn is in stage Staging");
  });

  it("reads a bearer token from auth.tokenFile before the environment", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nmr-mlflow-token-"));
    await writeFile(join(dir, "token"), `${TOKEN}\n`);
    const result = await fetchWithCli(
      { ...at(), modelVersion: "3" },
      { ...cleanEnv, MLFLOW_TRACKING_USERNAME: USER, MLFLOW_TRACKING_PASSWORD: "wrong-password" },
      {
        auth: { tokenFile: join(dir, "token"), tokenEnvVar: null },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`MLflow: using credentials from auth.tokenFile ${join(dir, "token")}`);
  });

  it("refuses a version that is not READY", async () => {
    await server.addVersion({
      name: "pending",
      version: 1,
      source: "mlflow-artifacts:/p",
      status: "PENDING_REGISTRATION",
    });
    const result = await fetchWithCli({ trackingUri: server.url, modelName: "pending", modelVersion: "1" });
    expect(result.stderr).toContain("Version 1 of pending is PENDING_REGISTRATION, not READY");
  });

  it("refuses a listing entry that is not a plain file name, and writes nothing outside the output", async () => {
    const outside = `nmr-mlflow-escape-${randomBytes(4).toString("hex")}`;
    server.faults.rewriteListing = (_path, files) => [
      ...files,
      { path: `../../../../../tmp/${outside}`, is_dir: false, file_size: 3 },
    ];
    try {
      const result = await fetchWithCli({ ...at(), modelVersion: "3" });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("Refusing the artifact listing of mlflow-artifacts");
      expect(result.stderr).toContain("which is not a plain file name");
      expect(existsSync(`/tmp/${outside}`)).toBe(false);
      expect(existsSync(result.out)).toBe(false);
    } finally {
      server.faults.rewriteListing = undefined;
    }
  });

  it("fails a download whose size differs from the listing, naming the file", async () => {
    server.faults.alterDownload = (path, bytes) =>
      path.endsWith("data/nested/weights.bin") ? bytes.subarray(1) : bytes;
    try {
      const result = await fetchWithCli({ ...at(), modelVersion: "3" });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("Downloaded data/nested/weights.bin does not match what the source lists for it");
    } finally {
      server.faults.alterDownload = undefined;
    }
  });

  it("sends no credentials to an artifact proxy on another host than the tracking server", async () => {
    const otherHost = await startMlflowServer({ artifactsRoot: fixture.root });
    try {
      const port = new URL(otherHost.url).port;
      await server.addVersion({ name: "elsewhere", version: 1, source: `mlflow-artifacts://127.0.0.1:${port}/1` });
      const result = await fetchWithCli({ trackingUri: server.url, modelName: "elsewhere", modelVersion: "1" });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(
        `the artifacts are served by 127.0.0.1:${port}, not the tracking server: the credentials are not sent there`,
      );
      expect(otherHost.requests.length).toBeGreaterThan(0);
      expect(otherHost.requests.every((request) => request.authorization === undefined)).toBe(true);
    } finally {
      await otherHost.close();
    }
  });
});

describe.skipIf(!s3rverAvailable)(
  "source.mlflow with artifacts in S3 (s3rver behind the tracking server; needs the s3rver devDependency)",
  () => {
    let root: string;
    let server: MlflowTestServer;
    let s3: S3TestServer;
    const artifacts = modelArtifacts("s3");

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "nmr-mlflow-s3-"));
      server = await startMlflowServer({ artifactsRoot: root });
      s3 = await startS3Server();
      await s3.createBucket("mlflow-store");
      for (const [path, content] of Object.entries(artifacts))
        await s3.put("mlflow-store", `0/abc/artifacts/model/${path}`, content);
      await server.addVersion({ name: "s3model", version: 1, source: "s3://mlflow-store/0/abc/artifacts/model" });
    });

    afterAll(async () => {
      await server?.close();
      await s3?.close();
      await rm(root, { recursive: true, force: true });
    });

    it("reads s3:// artifacts with the S3 adapter, the endpoint from MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL_S3", async () => {
      for (const variable of ["MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]) {
        const result = await fetchWithCli(
          { trackingUri: server.url, modelName: "s3model", modelVersion: "1" },
          { ...cleanEnv, [variable]: s3.url },
        );
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).toContain("MLflow: artifacts at s3://mlflow-store/0/abc/artifacts/model");
        await assertEveryFileFoundOffline(
          await hubCacheWith(result.out, "mlflow/s3model"),
          "mlflow/s3model",
          asBuffers(artifacts),
        );
      }
    });

    it("catches a corrupted byte in S3 (the ETag's MD5), naming the file", async () => {
      await s3.put("mlflow-store", "0/bad/artifacts/model/MLmodel", "flavors: {}\n");
      await s3.put("mlflow-store", "0/bad/artifacts/model/model.pkl", randomBytes(20_000));
      await s3.corruptStoredObject("mlflow-store", "0/bad/artifacts/model/model.pkl", 100);
      await server.addVersion({ name: "s3bad", version: 1, source: "s3://mlflow-store/0/bad/artifacts/model" });
      const result = await fetchWithCli(
        { trackingUri: server.url, modelName: "s3bad", modelVersion: "1" },
        { ...cleanEnv, AWS_ENDPOINT_URL_S3: s3.url },
      );
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("Downloaded model.pkl does not match what the source lists for it");
    });
  },
);

describe.skipIf(!nixAvailable)("fetchModel with source.mlflow, built by Nix (needs nix-build)", () => {
  let fixture: Fixture;
  let server: MlflowTestServer;
  let hash: string | undefined;

  const expression = (fields: string) => `${libPrelude} (nmr.fetchModel { ${fields} }).raw`;
  const source = (selector: string) =>
    `source.mlflow = { trackingUri = "${server.url}"; modelName = "churn"; ${selector} };`;

  beforeAll(async () => {
    fixture = await churnFixture();
    server = fixture.server;
  });

  afterAll(async () => {
    await server?.close();
    await rm(fixture.root, { recursive: true, force: true });
  });

  it("fails a wrong hash, builds with the right one, rebuilds the same (--check); the password appears nowhere", async () => {
    const first = await nixBuild(
      expression(`name = "churn"; ${source(`modelAlias = "champion";`)} hash = "${FAKE_HASH}";`),
      { env: basicEnv },
    );
    expect(first.stderr, first.stderr).toContain("hash mismatch in fixed-output derivation");
    hash = reportedHash(first);
    expect(hash).toMatch(/^sha256-/);

    const build = await nixBuild(
      expression(`name = "churn"; ${source(`modelAlias = "champion";`)} hash = "${hash}";`),
      { env: basicEnv },
    );
    expect(build.stderr).not.toContain("error:");
    expect(build.ok).toBe(true);
    await assertEveryFileFoundOffline(
      await hubCacheWith(build.outPath!, "mlflow/churn"),
      "mlflow/churn",
      asBuffers(fixture.versions[2]!),
    );
    expect((await meta(build.outPath!)).resolved.version).toBe("2");

    expect(await readFile(build.drvPath!, "utf8")).not.toContain(PASSWORD);
    expect(first.stderr + first.stdout + build.stderr + build.stdout).not.toContain(PASSWORD);
    for (const file of await regularFilesUnder(build.outPath!))
      expect((await readFile(file)).includes(PASSWORD)).toBe(false);

    const again = await nixBuild(
      expression(`name = "churn"; ${source(`modelAlias = "champion";`)} hash = "${hash}"; network.concurrency = 1;`),
      {
        env: { ...cleanEnv, MLFLOW_TRACKING_TOKEN: TOKEN },
        check: true,
      },
    );
    expect(again.stderr).not.toContain("error:");
    expect(again.ok).toBe(true);
  });

  it("changes the hash when the alias moves: the resolved version is part of the output", async () => {
    server.setAlias("churn", "champion", 3);
    try {
      const moved = await nixBuild(
        expression(`name = "churn-moved"; ${source(`modelAlias = "champion";`)} hash = "${hash}";`),
        { env: basicEnv },
      );
      expect(moved.ok).toBe(false);
      expect(moved.stderr).toContain("hash mismatch in fixed-output derivation");
      expect(moved.stderr).toContain("MLflow: churn alias @champion is version 3");
    } finally {
      server.setAlias("churn", "champion", 2);
    }
  });

  it("fails the build when a served byte changes: MLflow lists no digest, the fixed-output hash catches it", async () => {
    server.faults.alterDownload = (path, bytes) => {
      if (!path.endsWith("model.pkl")) return bytes;
      const copy = Buffer.from(bytes);
      copy[10] = copy[10]! ^ 0xff;
      return copy;
    };
    try {
      const result = await nixBuild(
        expression(`name = "churn-flipped"; ${source(`modelAlias = "champion";`)} hash = "${hash}";`),
        { env: basicEnv },
      );
      expect(result.ok).toBe(false);
      expect(result.stderr).toContain("hash mismatch in fixed-output derivation");
    } finally {
      server.faults.alterDownload = undefined;
    }
  });

  it("prefetches mlflow:NAME@ALIAS, and the build is a store hit", async () => {
    const result = await runCli(["prefetch", "mlflow:churn@champion", "--endpoint", server.url, "--json"], {
      env: basicEnv,
    });
    expect(result.code, result.stderr).toBe(0);
    const prefetched = JSON.parse(result.stdout) as {
      hash: string;
      storePath: string;
      expression: string;
      resolved: Record<string, string>;
    };
    expect(prefetched.resolved.version).toBe("2");
    expect(prefetched.expression).toContain(`modelAlias = "champion";`);
    expect(prefetched.hash).toBe(hash);
    const build = await nixBuild(
      expression(`name = "churn"; ${source(`modelAlias = "champion";`)} hash = "${prefetched.hash}";`),
      { env: cleanEnv },
    );
    expect(build.outPath).toBe(prefetched.storePath);
  });
});
