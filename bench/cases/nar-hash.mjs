/**
 * Case 4: the NAR hash of a fetched output (what `prefetch` prints and the FOD declares):
 * `nix-model-repo hash` against Nix's own `nix-hash`, and `openssl dgst -sha256` of the one big
 * file as the floor: the same bytes, no NAR framing, OpenSSL's SHA-NI/AVX2 code — node's
 * crypto is the same OpenSSL, so this is what reading and hashing cost at best. (coreutils'
 * sha256sum is no floor: Debian's has no SHA extensions and is 3–4× slower.) Also checks
 * that both NAR hashes agree.
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { compareTools, comparisonTable } from "../lib/compare.mjs";
import { deterministicChunks } from "../lib/fixture.mjs";
import { MiB } from "../lib/table.mjs";
import { baselineRows } from "../lib/tools.mjs";
import { oursCommand } from "../lib/ours-command.mjs";

export const title = "NAR hash of the case-1 output";

/** Without case 1's output, a directory of the same shape: one blob and a snapshot link. */
async function standInOutput(scratch, bytes) {
  const dir = join(scratch, "nar-input");
  await mkdir(join(dir, "blobs"), { recursive: true });
  await mkdir(join(dir, "snapshots", "0".repeat(40)), { recursive: true });
  const blob = join(dir, "blobs", "model");
  const out = createWriteStream(blob);
  for (const chunk of deterministicChunks(bytes, "large")) if (!out.write(chunk)) await once(out, "drain");
  out.end();
  await once(out, "finish");
  await symlink("../../blobs/model", join(dir, "snapshots", "0".repeat(40), "model.safetensors"));
  await writeFile(join(dir, ".nix-model-repo-meta.json"), "{}\n");
  return { dir, bytes, blob };
}

export async function run(context) {
  const { config, peers, cli, scratch, progress, state } = context;
  let input = state.largeOutput;
  if (!input) {
    progress(`writing a ${config.largeMiB} MiB stand-in output (case 1 did not run)`);
    input = await standInOutput(scratch, Math.round(config.largeMiB * MiB));
  }
  const tools = [
    {
      name: "nix-model-repo hash --base32",
      ours: true,
      prepare: () => oursCommand(cli, ["hash", "--base32", input.dir]),
    },
    ...baselineRows(config, (baseline) => ({
      name: `nix-model-repo hash --base32 at ${baseline.label}`,
      prepare: () => oursCommand(baseline.cli, ["hash", "--base32", input.dir]),
    })),
    {
      name: "nix-hash --type sha256 --base32",
      skip: peers.nixHash.skip,
      prepare: () => ({ command: "nix-hash", args: ["--type", "sha256", "--base32", input.dir] }),
    },
    {
      name: "floor: openssl dgst -sha256 (the blob)",
      floor: true,
      skip: peers.openssl.skip,
      prepare: () => ({ command: "openssl", args: ["dgst", "-sha256", input.blob] }),
    },
  ];
  progress("hashing");
  const summaries = await compareTools({ tools, runs: config.runs, scratch });
  const ours = summaries.find((summary) => summary.tool.ours);
  const nix = summaries.find((summary) => summary.tool.name.startsWith("nix-hash"));
  const lines = [
    `${(input.bytes / MiB).toFixed(0)} MiB in ${input.dir.replace(scratch, "<tmp>")}; the file is in the page cache.`,
    comparisonTable(summaries, { bytes: input.bytes }),
  ];
  if (!ours.failure && !nix.failure) {
    const agree = ours.stdout.trim() === nix.stdout.trim();
    lines.push(
      `  check: nix-model-repo ${ours.stdout.trim()} ${agree ? "==" : "!="} nix-hash ${nix.stdout.trim()}${agree ? "" : "   <-- MISMATCH"}`,
    );
    if (!agree) context.fail("NAR hash mismatch with nix-hash");
  }
  return lines.join("\n");
}
