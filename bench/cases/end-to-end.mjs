/**
 * Case "e2e": what a user waits for, from `nix-build` starting to the path being in the
 * store, against the fetcher Nix ships: one `<nix/fetchurl.nix>` fixed-output derivation
 * per file (builtin:fetchurl, libcurl inside Nix; no nixpkgs needed), built with
 * --max-jobs 8. Ours is `fetchModel`'s fixed-output derivation (`.raw`: the fetch phase;
 * the validation phase has no counterpart in fetchurl), built with the stand-in pkgs of
 * test/nix/pkgs.nix and the bundle of this checkout. Both hashes are known; every output
 * is deleted from the store before each run. Nix hashes (and scans) every output after
 * the build in both cases: that is part of the time.
 *
 * huggingface_hub's snapshot_download(max_workers=8) runs beside them when it can be
 * imported: what most users run, though it writes a Hub cache, not a store path.
 *
 * Two shapes: one large file (BENCH_E2E_LARGE_MIB, default BENCH_LARGE_MIB) and case 3's
 * many small files.
 */
import { spawnSync } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { writeHubRepo } from "../lib/fixture.mjs";
import { startHubServer } from "../lib/servers.mjs";
import { fixed, MiB } from "../lib/table.mjs";
import { cleanEnv, deleteStorePaths, huggingFaceHubPython, nixBuild, resolveUrl } from "../lib/tools.mjs";
import { smallRepoFiles } from "./small-files.mjs";

export const title = "end to end: nix-build until the path is in the store";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

function nix(command, args) {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stderr.trim()}`);
  return result.stdout;
}

const nixString = (text) => JSON.stringify(text).replace(/\$\{/g, "\\${");

/** The outPath of every derivation the expression file evaluates to (one or a list). */
function outPathsOf(expressionFile) {
  const text = nix("nix-instantiate", [
    "--eval",
    "--strict",
    "--json",
    "--expr",
    `let value = import ${expressionFile}; in map (d: d.outPath) (if builtins.isList value then value else [ value ])`,
  ]);
  return JSON.parse(text);
}

/**
 * The stand-in pkgs of the checkout at `root`, its fetcher run by the node this bench runs
 * under (BENCH_NODE's: nixpkgs' is 24) where that checkout's pkgs.nix takes `fetcherNode`;
 * an older one runs it on its own choice, /usr/bin/node.
 */
function standInPkgs(root) {
  return `let standIn = import ${root}/test/nix/pkgs.nix; in standIn (builtins.intersectAttrs (builtins.functionArgs standIn) { fetcherNode = ${nixString(process.execPath)}; })`;
}

/**
 * `nix-build` of fetchModel's fixed-output derivation (`.raw`) with the bundle and stand-in
 * pkgs of the checkout at `root`; the hash it declares comes from that checkout's own
 * prefetch (which also proves it: the build fails on any other). The fetcher package is
 * built here, once: it is not part of what a fetch costs.
 */
async function fetchModelBuild({ root, cli, dir, name, repoId, hub, env, progress, label, toolName, ours = false }) {
  progress(`${label}: prefetching ${name} for the hash`);
  const prefetched = JSON.parse(
    nix(process.execPath, [cli, "prefetch", `hf:${repoId}`, "--endpoint", hub.url, "--name", name, "--json"]),
  );
  const expressionFile = join(dir, `${name}.nix`);
  await writeFile(
    expressionFile,
    `let
  pkgs = ${standInPkgs(root)};
  nmr = import ${root}/lib { inherit pkgs; fetcher = pkgs.nix-model-repo-dev; };
in
(nmr.fetchModel {
  name = ${nixString(name)};
  source.huggingface = { repo = ${nixString(repoId)}; endpoint = ${nixString(hub.url)}; };
  hash = ${nixString(prefetched.hash)};
}).raw
`,
  );
  nix("nix-build", [
    "--no-out-link",
    "--option",
    "substituters",
    "",
    "--expr",
    `(${standInPkgs(root)}).nix-model-repo-dev`,
  ]);
  const outPaths = outPathsOf(expressionFile);
  await deleteStorePaths(outPaths);
  return nixBuild({ name: toolName, expressionFile, outPaths, env, ours });
}

async function sideBySide(context, { label, repoId, files }) {
  const { config, peers, cli, scratch, progress } = context;
  const dir = join(scratch, repoId.replace("/", "-"));
  progress(`${label}: writing ${files.length} file(s)`);
  const repo = await writeHubRepo(join(dir, "hub"), repoId, files);
  const totalBytes = repo.files.reduce((sum, file) => sum + file.size, 0);
  const hub = await startHubServer(cli, join(dir, "hub"));
  try {
    const env = cleanEnv(dir);
    const name = `bench-e2e-${repoId.split("/")[1]}`;
    const ours = await fetchModelBuild({
      root: REPO_ROOT,
      cli,
      dir,
      name,
      repoId,
      hub,
      env,
      progress,
      label,
      toolName: "nix-build fetchModel",
      ours: true,
    });
    const fetchurlFile = join(dir, "fetchurl.nix");
    await writeFile(
      fetchurlFile,
      `map (file: import <nix/fetchurl.nix> file) [
${repo.files
  .map(
    (file) =>
      `  { url = ${nixString(resolveUrl(hub.url, repoId, file.path))}; sha256 = "${file.sha256}"; name = ${nixString(basename(file.path))}; }`,
  )
  .join("\n")}
]
`,
    );
    const fetchurlPaths = outPathsOf(fetchurlFile);
    const baselines = [];
    for (const baseline of config.baselines) {
      baselines.push(
        await fetchModelBuild({
          root: baseline.root,
          cli: baseline.cli,
          dir,
          name: `${name}-${baseline.id}`,
          repoId,
          hub,
          env,
          progress,
          label,
          toolName: `nix-build fetchModel at ${baseline.label}`,
        }),
      );
    }
    const tools = [
      ours,
      ...baselines,
      {
        ...nixBuild({
          name: `nix-build <nix/fetchurl.nix> × ${repo.files.length}, --max-jobs 8`,
          expressionFile: fetchurlFile,
          outPaths: fetchurlPaths,
          env,
          note: "Nix's builtin fetcher: one derivation per file, Nix checks the sha256 of each",
        }),
      },
      huggingFaceHubPython({
        peer: peers.huggingFaceHubPython,
        hubUrl: hub.url,
        repoId,
        scratch: dir,
        env,
        expectedFiles: repo.files,
      }),
    ];
    progress(`${label}: building`);
    const summaries = await compareTools({
      tools,
      runs: config.runs,
      scratch: dir,
      counters: [{ count: () => hub.requests.length }],
    });
    return [
      `${label}: ${repo.files.length} file(s), ${fixed(totalBytes / MiB, 1)} MiB.`,
      comparisonTable(summaries, { bytes: totalBytes, files: repo.files.length }, [
        { header: "requests", value: (summary) => summary.requests },
      ]),
    ].join("\n");
  } finally {
    await hub.close();
  }
}

/**
 * Why Nix's build users (nixbld*, not this user) cannot run `node`, or undefined when they
 * can: every folder on its way must be open to others. .ci/run keeps Node 24 under
 * ~/.cache, which under /root is not, and every build of ours then failed with "Permission
 * denied" from the fetcher's wrapper.
 */
function closedToBuildUsers(node) {
  const real = realpathSync(node);
  if ((statSync(real).mode & 0o005) !== 0o005) return `${real} is not readable and executable by others`;
  for (let folder = dirname(real); ; folder = dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return `${folder} is not open to others (o+x)`;
    if (folder === dirname(folder)) return undefined;
  }
}

export async function run(context) {
  const { config, peers } = context;
  if (peers.nixBuild.skip) return `skipped: nix-build ${peers.nixBuild.skip}`;
  const closed = closedToBuildUsers(process.execPath);
  if (closed !== undefined) {
    return `skipped: Nix's build users cannot run this node (${process.execPath}): ${closed}; copy its folder where they can, e.g. cp -r "${dirname(dirname(process.execPath))}" /tmp/node && chmod -R a+rX /tmp/node, and set BENCH_NODE=/tmp/node/bin/node`;
  }
  const bytes = Math.round(config.e2eLargeMiB * MiB);
  const large = await sideBySide(context, {
    label: `one ${config.e2eLargeMiB} MiB file`,
    repoId: "bench/e2e-large",
    files: [{ path: "model.safetensors", size: bytes, seed: "e2e-large" }],
  });
  const small = await sideBySide(context, {
    label: "many small files",
    repoId: "bench/e2e-small",
    files: smallRepoFiles(config),
  });
  return [large, "", small].join("\n");
}
