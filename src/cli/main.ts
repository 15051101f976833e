import { setFlagsFromString } from "node:v8";
import { commands } from "./commands/index.js";
import { UserError } from "../errors/user-error.js";
import { describeError, explainFailure } from "../errors/explain.js";
import { version } from "../util/version.js";

const topUsage = () => {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const list = [...commands].map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`).join("\n");
  return `nix-model-repo ${version}: machine-learning models in the Nix store

usage: nix-model-repo <command> [options]

commands:
${list}

Run \`nix-model-repo <command> --help\` for a command's options.`;
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
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
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

// undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 recompiles hot wasm with
// TurboFan on a background thread, and node waits for that job before it exits: ~0.13 s
// of CPU and of wall time at the end of every fetch, for a parser that spends O(1) per
// body chunk. Baseline (Liftoff) code is plenty. Set before the first connection, when
// undici compiles the module; it changes nothing else.
setFlagsFromString("--liftoff-only");

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    const explained = explainFailure(error);
    process.stderr.write(`${describeError(explained)}\n`);
    process.exitCode = explained instanceof UserError ? explained.exitCode : 1;
  },
);
