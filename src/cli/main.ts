import { setFlagsFromString } from "node:v8";
import { commands } from "./commands/index.js";
import { explainForUser } from "../errors/explain.js";
import { interruption } from "./interrupt.js";
import { applyVerbosity, VERBOSITY_HELP } from "./verbosity.js";
import { version } from "../util/version.js";

const topUsage = () => {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const list = [...commands].map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`).join("\n");
  return `nix-model-repo ${version}: machine-learning models in the Nix store

usage: nix-model-repo <command> [options]

commands:
${list}

${VERBOSITY_HELP}

Run \`nix-model-repo <command> --help\` for a command's options.`;
};

async function main(argv: readonly string[]): Promise<number> {
  // -v and -q go anywhere: before the command's name or among its options.
  const [name, ...rest] = applyVerbosity(argv, topUsage());
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(`${topUsage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const entry = commands.get(name);
  if (!entry) {
    process.stderr.write(`error: unknown command '${name}'\n\n${topUsage()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${command.usage}\n\n${VERBOSITY_HELP}\n`);
    return 0;
  }
  return command.run(rest);
}

// V8 settings for a batch program with a small heap, set before any work starts
// (docs/bench.md, "Where the time went"):
// - undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 recompiles hot wasm with
//   TurboFan on a background thread, and node waits for that job before it exits: ~0.13 s
//   of CPU and of wall time at the end of every fetch, for a parser that spends O(1) per
//   body chunk. Baseline (Liftoff) code is plenty; undici compiles it at the first connection.
//   V8 derives the tiering flags from --liftoff-only only when it starts (flag-definitions.h:
//   NEG_IMPLICATION to wasm_tier_up and wasm_dynamic_tiering), and since Node 22 not when it
//   is set here: on Node 24, nixpkgs' nodejs-slim, every fetch still waited ~0.05 s for
//   TurboFan at its exit (docs/bench.md, "Seventh round"). So they are set too.
// - Incremental marking starts a full collection whenever the old generation's headroom
//   is below the young generation's size. With a heap of ~10 MB that is always: a 1 GiB
//   download ran ~50 back-to-back full collections (~1 s of CPU on other cores) to free
//   ~2 MB each. Without it, V8 collects the old generation when it is full: 0-1 times per
//   GiB, each a pause of a few milliseconds on a heap this small.
setFlagsFromString("--liftoff-only");
setFlagsFromString("--no-wasm-tier-up");
setFlagsFromString("--no-wasm-dynamic-tiering");
setFlagsFromString("--no-incremental-marking");

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    const interrupted = interruption(error);
    if (interrupted) {
      process.stderr.write(`${interrupted.message}: stopped, and removed what it had written\n`);
      process.exitCode = interrupted.exitCode;
      return;
    }
    const explained = explainForUser(error);
    process.stderr.write(`${explained.message}\n`);
    process.exitCode = explained.exitCode;
  },
);
