/**
 * The command that runs a checkout's CLI as its Nix package runs it: node with the options
 * package.nix's wrapper gives it (package.json's config.nodeOptions), so that the bench times
 * what a fixed-output derivation runs. A checkout from before those options runs without.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const optionsByCli = new Map();

/** The node options of the checkout whose bundle `cli` (<checkout>/dist/nix-model-repo.mjs) is. */
function nodeOptionsOf(cli) {
  let options = optionsByCli.get(cli);
  if (options === undefined) {
    const packageJson = JSON.parse(readFileSync(join(dirname(cli), "..", "package.json"), "utf8"));
    options = (packageJson.config?.nodeOptions ?? "").split(/\s+/).filter(Boolean);
    optionsByCli.set(cli, options);
  }
  return options;
}

/** { command, args } for measure() and the tools' prepare(). */
export function oursCommand(cli, args) {
  return { command: process.execPath, args: [...nodeOptionsOf(cli), cli, ...args] };
}
