// `npm run demo`: the main job on the bundled example, on a fresh machine with no
// credentials and no internet. It serves examples/hub (a Hub cache holding acme/tiny)
// with `nix-model-repo serve`, prefetches the model, builds it with nix-build through
// fetchModel, and prints the store path and the environment that loads it offline.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const cli = join(root, "dist", "nix-model-repo.mjs");
const workdir = join(root, ".demo");
const say = (text) => process.stdout.write(`${text}\n`);
const step = (text) => say(`\n==> ${text}`);

function run(command, args, options = {}) {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], ...options });
}

function has(command) {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function startServer() {
  return new Promise((resolve, reject) => {
    const server = spawn(process.execPath, [cli, "serve", join(root, "examples", "hub"), "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) resolve({ url, stop: () => server.kill("SIGTERM") });
    });
    server.on("exit", (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
}

rmSync(workdir, { recursive: true, force: true });
mkdirSync(workdir, { recursive: true });

step("Serving the bundled example repo acme/tiny (examples/hub) as a local Hugging Face Hub");
const server = await startServer();
say(`    ${server.url}  (an air-gapped mirror: HF_ENDPOINT=${server.url})`);

try {
  step(`nix-model-repo prefetch hf:acme/tiny --endpoint ${server.url}`);
  const prefetched = JSON.parse(
    run(process.execPath, [cli, "prefetch", "hf:acme/tiny", "--endpoint", server.url, "--json"]),
  );
  say(`    hash:       ${prefetched.hash}`);
  say(`    commit:     ${prefetched.resolved.commit}`);
  say(`    files:      ${prefetched.files} (${prefetched.bytes} bytes)`);
  say(`    store path: ${prefetched.storePath ?? "(Nix is not installed: not added)"}`);

  if (!has("nix-build")) {
    step("Nix is not installed, so the build step is skipped");
    say("    Install it, then run `npm run demo` again:");
    say("      Debian/Ubuntu:  sudo apt-get install -y nix-bin");
    say("      elsewhere:      https://nixos.org/download (or the Determinate/Lix installers)");
    process.exitCode = 0;
  } else {
    // No nixpkgs here: build with the stand-in pkgs the tests use and the fetcher bundled
    // from this checkout. In a real project: `fetchModel = nix-model-repo.lib.fetchModel pkgs;`.
    const expression = `let
  pkgs = import ${root}/test/nix/pkgs.nix { };
  nmr = import ${root}/lib { inherit pkgs; fetcher = pkgs.nix-model-repo-dev; };
in
nmr.fetchModel {
  name = "tiny";
  source.huggingface = { repo = "acme/tiny"; revision = "main"; endpoint = "${server.url}"; };
  hash = "${prefetched.hash}";
}
`;
    const file = join(workdir, "tiny.nix");
    writeFileSync(file, expression);
    step("nix-build .demo/tiny.nix   (fetchModel with the prefetched hash, validated by the standard preset)");
    say(expression.replace(/^/gm, "    "));
    const nixArgs = ["--option", "substituters", ""];
    const storePath = run("nix-build", [...nixArgs, file, "-o", join(workdir, "result")]).trim();
    // The result is the validation phase's output: links into the download, plus the report.
    const rawPath = readlinkSync(join(storePath, "blobs")).replace(/\/blobs$/, "");
    const validation = JSON.parse(readFileSync(join(storePath, ".nix-model-repo-meta.json"), "utf8")).validation;
    say(`    built:     ${storePath}`);
    say(`    download:  ${rawPath} (passthru.raw; the validated output links into it)`);
    say(
      `    validated: ${validation.result} (${validation.validators.map((v) => `${v.name}: ${v.status}`).join(", ")})`,
    );
    if (prefetched.storePath && prefetched.storePath !== rawPath)
      throw new Error(`prefetch added ${prefetched.storePath}, the build used ${rawPath}`);

    step("Fetching it again from the mirror (nix-build -A raw --check): the same hash again");
    run("nix-build", [...nixArgs, file, "-A", "raw", "--check", "--no-out-link"]);
    say("    same hash: the download is a pure function of the remote content");

    const hub = join(workdir, "hub");
    mkdirSync(hub);
    symlinkSync(storePath, join(hub, "models--acme--tiny"));
    step("Use it offline (any huggingface_hub / transformers program):");
    say(`    export HF_HUB_CACHE=${hub}`);
    say("    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1");
    say(`    python3 -c "from huggingface_hub import snapshot_download; print(snapshot_download('acme/tiny'))"`);
    say(`\n    ${join(hub, "models--acme--tiny")} ->`);
    say(
      run("find", ["-L", `${storePath}/`, "-maxdepth", "4"])
        .split("\n")
        .filter(Boolean)
        .map((line) => `      ${line.slice(storePath.length)}`)
        .join("\n"),
    );
  }
} finally {
  server.stop();
}
