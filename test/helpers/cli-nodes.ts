import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";

/**
 * The Node that runs every fixed-output derivation's fetcher: nixpkgs' nodejs-slim, Node 24
 * (test/nix/README.md), when NIX_MODEL_REPO_TEST_NODE names one; `.ci/run` fetches it from the
 * npm registry. Node 22 and later differ from this machine's Node 20 where a fetch's fixed
 * cost is made (docs/bench.md, "Seventh round"), so tests of it run the CLI on both.
 */
const nixpkgsNodeSetting = process.env["NIX_MODEL_REPO_TEST_NODE"] || undefined;
/** Unset when it is this process's node (the whole suite run on nixpkgs' Node): one run of each test is enough. */
const nixpkgsNodePath =
  nixpkgsNodeSetting && realpathSync(nixpkgsNodeSetting) !== realpathSync(process.execPath)
    ? nixpkgsNodeSetting
    : undefined;

/** The Node binaries the CLI is run on by tests of its start-up (runCli's `node`): this process's, and nixpkgs' when there. */
export const cliNodes: readonly { readonly label: string; readonly path: string | undefined }[] = [
  { label: `this process's node (${process.version})`, path: process.execPath },
  {
    label: `nixpkgs' node (${
      nixpkgsNodePath
        ? execFileSync(nixpkgsNodePath, ["--version"]).toString().trim()
        : nixpkgsNodeSetting
          ? "NIX_MODEL_REPO_TEST_NODE is this process's node, tested above"
          : "set NIX_MODEL_REPO_TEST_NODE to run"
    })`,
    path: nixpkgsNodePath,
  },
];
