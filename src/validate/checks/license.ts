import { readFile } from "node:fs/promises";
import type { ValidatorFinding } from "../types.js";
import type { ModelView, ViewFile } from "../view.js";
import type { Check } from "./check.js";
import { readCardLicense } from "./front-matter.js";
import { recogniseLicenseText } from "./license-texts.js";
import { readHead } from "./read.js";

/**
 * What licence the model declares, and whether it is one the user accepts.
 *
 * Where the licence comes from, first found wins:
 * 1. the model card's front matter (README.md `license:`, `license_name:` for "other"),
 *    the Hub's own metadata;
 * 2. licence files at the top of the model (LICENSE, LICENSE.md, COPYING, LICENSE-MIT…)
 *    and, for Ollama models, the manifest's licence layers, recognised by their text.
 *
 * With `allow = null` the check requires that a licence is declared at all. With an
 * allow list (Hub identifiers, case-insensitive), every declared licence must be in it;
 * a licence text that is not recognised cannot be checked and fails.
 */
export interface LicenseParams {
  readonly allow: readonly string[] | null;
}

interface Declared {
  readonly source: string;
  /** Lowercased identifier, or null for a licence text not recognised. */
  readonly id: string | null;
}

const LICENSE_FILE = /^(licen[cs]e|copying)([-._][^/]*)?$/i;
const OLLAMA_LICENSE_LAYER = "application/vnd.ollama.image.license";
const MAX_TEXT = 1 << 20;

export const licenseCheck: Check<LicenseParams> = {
  parse(params) {
    const allow = params.optionalStringList("allow");
    if (allow === null) return { allow: null };
    if (allow.length === 0)
      throw params.refuse(
        "allow",
        "is empty: it would refuse every model (use null to only require a declared licence)",
        allow,
      );
    return { allow: allow.map((id) => id.toLowerCase()) };
  },

  async run(view, params) {
    const declared = await declaredLicenses(view);
    const details = {
      declared: declared.map((d) => ({ source: d.source, license: d.id ?? "unrecognised" })),
      allow: params.allow,
    };
    if (declared.length === 0) {
      const where =
        view.layout === "ollama"
          ? "no licence layer in the manifest"
          : "no `license:` in the model card (README.md) front matter and no LICENSE file";
      return { outcome: "fail", findings: [{ file: null, reason: `no licence declared: ${where}` }], details };
    }
    const findings: ValidatorFinding[] = [];
    if (params.allow !== null) {
      for (const d of declared) {
        if (d.id === null)
          findings.push({
            file: d.source,
            reason: `licence text not recognised, so it cannot be checked against allow = [ ${params.allow.join(" ")} ]`,
          });
        else if (!params.allow.includes(d.id))
          findings.push({ file: d.source, reason: `licence ${d.id} is not in allow = [ ${params.allow.join(" ")} ]` });
      }
    }
    return { outcome: findings.length > 0 ? "fail" : "pass", findings, details };
  },
};

async function declaredLicenses(view: ModelView): Promise<Declared[]> {
  const card = view.files.find((file) => file.path.toLowerCase() === "readme.md");
  if (card !== undefined) {
    const license = readCardLicense((await readHead(card.realPath, MAX_TEXT)).toString("utf8"));
    if (license !== null) {
      return license.licenses.map((id) => ({
        source: card.path,
        id: id === "other" && license.licenseName !== null ? license.licenseName.toLowerCase() : id,
      }));
    }
  }
  const texts =
    view.layout === "ollama"
      ? await ollamaLicenseLayers(view)
      : view.files.filter((file) => !file.path.includes("/") && LICENSE_FILE.test(file.path));
  const declared: Declared[] = [];
  for (const file of texts) {
    declared.push({
      source: file.path,
      id: recogniseLicenseText((await readHead(file.realPath, MAX_TEXT)).toString("utf8")),
    });
  }
  return declared;
}

/** The blobs the manifests list as licence layers. */
async function ollamaLicenseLayers(view: ModelView): Promise<ViewFile[]> {
  const byPath = new Map(view.files.map((file) => [file.path, file]));
  const found = new Map<string, ViewFile>();
  for (const manifest of view.files.filter((file) => file.path.startsWith("manifests/"))) {
    let layers: unknown;
    try {
      layers = (JSON.parse(await readFile(manifest.realPath, "utf8")) as { layers?: unknown }).layers;
    } catch {
      continue;
    }
    if (!Array.isArray(layers)) continue;
    for (const layer of layers as Array<{ mediaType?: unknown; digest?: unknown }>) {
      if (layer.mediaType !== OLLAMA_LICENSE_LAYER || typeof layer.digest !== "string") continue;
      const blob = byPath.get(`blobs/${layer.digest.replace(":", "-")}`);
      if (blob !== undefined) found.set(blob.path, blob);
    }
  }
  return [...found.values()];
}
