// Benchmark of `nix-model-repo list` on a Nix store of 2,000 paths (and of 200, for how it
// grows), every path kept by a GC root, against what else a user could run in the same
// run: the design's first sketch (find the meta files by walking the store: fast, but it
// knows no roots and no sizes), the same walk made to answer what `list` answers (per
// model `nix-store -q --roots` and `--size`), and the floors — asking Nix for its roots at
// all, and loading our CLI. The stores are private (NIX_STORE_DIR) and made cheaply:
// tiny files added with `nix-store --add`, plus model outputs (a Hub layout with a meta
// file) added the same way. Ratios are peer / ours: > 1 means `list` is faster.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { measure, median } from "./lib/measure.mjs";
import { oursCommand } from "./lib/ours-command.mjs";

export const title = "`list` on a store of 2,000 paths, every one kept by a GC root";

const MODELS = 20;

/** A private store holding `paths` paths: MODELS model outputs and tiny files, each rooted. */
function makeStore(scratch, name, paths) {
  const root = join(scratch, name);
  mkdirSync(join(root, "files"), { recursive: true });
  chmodSync(root, 0o755);
  const env = {
    ...process.env,
    NIX_STORE_DIR: join(root, "store"),
    NIX_STATE_DIR: join(root, "var"),
    NIX_LOG_DIR: join(root, "log"),
    XDG_DATA_HOME: join(root, "data"),
    NIX_MODEL_REPO_LOG: "warn",
  };
  const sources = [];
  for (let i = 0; i < MODELS; i++) sources.push(modelFolder(join(root, "files"), i));
  for (let i = sources.length; i < paths; i++) {
    const file = join(root, "files", `tiny-${i}`);
    writeFileSync(file, `tiny ${i}\n`);
    sources.push(file);
  }
  const added = [];
  const roots = join(root, "roots");
  mkdirSync(roots);
  // A few hundred paths per call: each nix-store --add-root numbers its links from 1.
  for (let start = 0, batch = 0; start < sources.length; start += 400, batch++) {
    const chunk = sources.slice(start, start + 400);
    const stored = nixStore(env, ["--add", ...chunk])
      .trim()
      .split("\n");
    nixStore(env, ["--add-root", join(roots, `r${batch}`), "--indirect", "--realise", ...stored]);
    added.push(...stored);
  }
  return { env, storeDir: env.NIX_STORE_DIR, paths: added, modelPaths: added.slice(0, MODELS) };
}

/** A model output as fetchModel lays it out: blobs, a snapshot, refs/main, the meta file. */
function modelFolder(parent, index) {
  const folder = join(parent, `model-${index}-raw`);
  const commit = createHash("sha1").update(`commit ${index}`).digest("hex");
  const files = [
    ["config.json", Buffer.from(JSON.stringify({ model_type: "bench", index }))],
    ["model.safetensors", Buffer.alloc(4096 + index, index)],
  ].map(([path, content]) => ({ path, content, sha256: createHash("sha256").update(content).digest("hex") }));
  mkdirSync(join(folder, "blobs"), { recursive: true });
  mkdirSync(join(folder, "snapshots", commit), { recursive: true });
  mkdirSync(join(folder, "refs"));
  for (const file of files) {
    writeFileSync(join(folder, "blobs", file.sha256), file.content);
    symlinkSync(`../../blobs/${file.sha256}`, join(folder, "snapshots", commit, file.path));
  }
  writeFileSync(join(folder, "refs", "main"), commit);
  const meta = {
    files: files.map(({ path, content, sha256 }) => ({ path, sha256, size: content.length })),
    formatVersion: 1,
    layout: "huggingface",
    resolved: { commit },
    source: { files: null, repo: `bench/model-${index}`, repoType: "model", revision: "main", type: "huggingface" },
  };
  writeFileSync(join(folder, ".nix-model-repo-meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
  return folder;
}

function nixStore(env, args) {
  return execFileSync("nix-store", args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
}

/** The design's sketch, made to answer what `list` answers: walk, then ask Nix per model. */
const WALK_AND_ASK = `find "$NIX_STORE_DIR" -mindepth 2 -maxdepth 2 -name .nix-model-repo-meta.json | while read -r meta; do
  path=$(dirname "$meta"); roots=$(nix-store -q --roots "$path" | wc -l); size=$(nix-store -q --size "$path")
  echo "$path $roots $size"
done`;

export async function bench({ cli, scratch, runs, progress }) {
  progress("lifecycle: making a store of 2,000 paths");
  const big = makeStore(scratch, "store-2000", 2000);
  progress("lifecycle: making a store of 200 paths");
  const small = makeStore(scratch, "store-200", 200);

  const tools = [
    { name: "nix-model-repo list --json", store: big, ...oursCommand(cli, ["list", "--json"]) },
    {
      name: "nix-model-repo list --json, 200 paths",
      store: small,
      ...oursCommand(cli, ["list", "--json"]),
    },
    { name: "find + nix-store -q --roots/--size per model", store: big, command: "bash", args: ["-c", WALK_AND_ASK] },
    {
      name: "find the meta files (no roots, no sizes)",
      store: big,
      command: "find",
      args: [big.storeDir, "-mindepth", "2", "-maxdepth", "2", "-name", ".nix-model-repo-meta.json"],
    },
    { name: "floor: nix-store --gc --print-roots", store: big, command: "nix-store", args: ["--gc", "--print-roots"] },
    { name: "floor: nix-model-repo --help", store: big, ...oursCommand(cli, ["--help"]) },
  ];
  const times = new Map(tools.map((tool) => [tool.name, []]));
  for (let run = 0; run < runs; run++) {
    for (const tool of tools) {
      progress(`lifecycle: ${tool.name} (${run + 1}/${runs})`);
      const result = await measure({ command: tool.command, args: tool.args, env: tool.store.env }, scratch);
      if (result.code !== 0) throw new Error(`${tool.name} exited ${result.code}: ${result.stderrTail}`);
      if (tool.args.includes("list")) checkList(result.stdout, tool.store);
      times.get(tool.name).push(result.ms / 1000);
    }
  }
  const ours = median(times.get(tools[0].name));
  const rows = tools.map((tool, index) => {
    const values = times.get(tool.name);
    const middle = median(values);
    return [
      tool.name,
      middle.toFixed(3),
      `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`,
      index === 0 ? "(ours)" : `${(middle / ours).toFixed(2)}×`,
    ];
  });
  return {
    header: ["measure", "median s", "min–max s", "ratio"],
    rows,
    notes: [
      `${big.paths.length} paths, ${MODELS} of them model outputs, ${Math.ceil(big.paths.length / 400)} nix-store --add-root calls' worth of roots (one link per path); medians of ${runs}.`,
      "`list` asks Nix three questions (roots, their closure, its registrations) and lstats each kept path; the per-model peer pays two Nix processes per model, and `--roots` scans every root each time.",
    ],
  };
}

/** The listing must be right for the figure to count: every model, each with its size and root. */
function checkList(stdout, store) {
  const list = JSON.parse(stdout);
  const listed = list.models.map((model) => model.storePath).sort();
  const expected = [...store.modelPaths].sort();
  if (JSON.stringify(listed) !== JSON.stringify(expected))
    throw new Error(`list found ${listed.length} models, expected ${expected.length}`);
  for (const model of list.models) {
    if (!(model.bytes > 4096) || model.roots.length !== 1) throw new Error(`list got ${model.storePath} wrong`);
  }
}
