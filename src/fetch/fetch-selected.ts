import { writeFile } from "node:fs/promises";
import { UserError } from "../errors/user-error.js";
import { outputPath } from "../layout/output-path.js";
import type { PlannedFile } from "../model/resolved-model.js";
import type { TransferItem } from "../transfer/types.js";
import type { ResolvedFetch } from "./fetch-model.js";
import { ollamaManifest } from "./ollama-manifest.js";
import type { FetchSelection, SelectedFile } from "./selection.js";

/**
 * A per-file fetch of a locked model (docs/lockfile.md): the files the spec's `select`
 * names, out of the source resolved to what the lock pinned, through the same engine as
 * every fetch (auth, retries, ranged parts, progress), each checked against the lock's
 * size and sha256 on top of whatever the source vouches for.
 *
 *   output "file":       $out is the one file (a flat fixed-output path)
 *   output "directory":  $out/<sha256> per file, each content once (a recursive one)
 *
 * Nothing else is written: the layout is assembled later from these paths.
 */
export async function fetchSelected(select: FetchSelection, out: string, fetch: ResolvedFetch): Promise<void> {
  const { model, subject } = fetch;
  if (model.unpack !== undefined) {
    throw new UserError({
      what: "Files unpacked from archives cannot be fetched one by one",
      fix: ["Lock the archive's source with fetchModel { hash = ...; } instead of a lockfile entry."],
    });
  }
  const listed = new Map(model.files.map((file) => [file.path, file]));
  const manifest = ollamaManifest(model);
  const items: TransferItem[] = [];
  const planned = new Set<string>();
  for (const wanted of select.files) {
    const destination = select.output === "file" ? out : outputPath(out, wanted.sha256);
    if (manifest !== undefined && wanted.path === manifest.path) {
      await writeManifest(manifest, wanted, destination, subject);
      continue;
    }
    const file = listed.get(wanted.path);
    if (file === undefined) throw notListed(wanted, subject);
    checkAgainstListing(file, wanted, subject);
    // One file per content in a folder named by content.
    if (planned.has(destination)) continue;
    planned.add(destination);
    items.push({
      path: wanted.path,
      source: file.source,
      size: wanted.size,
      expected: { ...file.expected, sha256: wanted.sha256 },
      destination,
    });
  }
  if (items.length > 0) await fetch.transfer(items);
}

/** The manifest came with the resolution (fetched by the pinned digest): its bytes are the file. */
async function writeManifest(
  { bytes, sha256 }: { readonly bytes: Uint8Array; readonly sha256: string },
  wanted: SelectedFile,
  destination: string,
  subject: string,
) {
  if (sha256 !== wanted.sha256 || bytes.byteLength !== wanted.size) {
    throw new UserError({
      what: `The manifest of ${subject} is not the one the lock pins`,
      context: {
        expected: `sha256 ${wanted.sha256}, ${wanted.size} bytes`,
        got: `sha256 ${sha256}, ${bytes.byteLength} bytes`,
      },
    });
  }
  await writeFile(destination, bytes, { flag: "wx", mode: 0o644 });
}

function notListed(wanted: SelectedFile, subject: string): UserError {
  return new UserError({
    what: `${wanted.path} is locked, but ${subject} does not list it at the locked revision`,
    fix: [
      "The source changed in place since the lock was written (a file deleted or renamed under the same revision).",
      "`nix-model-repo verify` tells what changed; `nix-model-repo update NAME` locks what the source has now.",
    ],
  });
}

/** The listing may vouch for less than the lock, never for something else. */
function checkAgainstListing(file: PlannedFile, wanted: SelectedFile, subject: string): void {
  const vouched = file.expected.sha256;
  const sizeDiffers = file.size !== undefined && file.size !== wanted.size;
  if (!sizeDiffers && (vouched === undefined || vouched === wanted.sha256)) return;
  throw new UserError({
    what: `${wanted.path} of ${subject} is not the file the lock pins: it changed in place upstream`,
    context: {
      locked: `${wanted.size} bytes, sha256 ${wanted.sha256}`,
      listed: `${file.size ?? "unknown"} bytes${vouched === undefined ? "" : `, sha256 ${vouched}`}`,
    },
    fix: [
      "The same revision now serves other bytes: check why before trusting either.",
      "`nix-model-repo update NAME` locks what the source has now.",
    ],
  });
}
