/** The committed examples/hub is exactly what scripts/make-example-hub.mjs generates, and valid. */
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLE_REPO_ID, writeExampleHub } from "../../scripts/example-hub.js";
import { startHubServer } from "../../src/serve/index.js";
import { makeTempDir, removeDir } from "./harness.js";

const committed = fileURLToPath(new URL("../../examples/hub", import.meta.url));
let fresh: string;

beforeAll(async () => {
  fresh = await makeTempDir("serve-example-");
  await writeExampleHub(fresh);
});
afterAll(async () => removeDir(fresh));

/** Every entry under dir: "l path -> target" for links, "f path sha" for files, "d path" for dirs. */
async function describeTree(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const full = join(dir, entry);
    const info = await lstat(full);
    const path = relative(dir, full);
    if (info.isSymbolicLink()) lines.push(`l ${path} -> ${await readlink(full)}`);
    else if (info.isDirectory()) lines.push(`d ${path}`);
    else lines.push(`f ${path} ${(await readFile(full)).toString("base64")}`);
  }
  return lines.sort();
}

describe("examples/hub", () => {
  it("matches a fresh generation byte for byte (run `node scripts/make-example-hub.mjs` after changing it)", async () => {
    expect(await describeTree(committed)).toEqual(await describeTree(fresh));
  });

  it("holds a valid safetensors file", async () => {
    const snapshots = join(committed, "models--acme--tiny", "snapshots");
    const [commit] = await readdir(snapshots);
    const bytes = await readFile(join(snapshots, commit!, "model.safetensors"));
    const headerLength = Number(bytes.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: [number, number] }
    >;
    const { __metadata__: metadata, ...tensors } = header;
    expect(metadata).toEqual({ format: "pt" });
    let expectedStart = 0;
    for (const tensor of Object.values(tensors).sort((a, b) => a.data_offsets[0] - b.data_offsets[0])) {
      expect(tensor.dtype).toBe("F32");
      expect(tensor.data_offsets[0]).toBe(expectedStart);
      expect(tensor.data_offsets[1] - tensor.data_offsets[0]).toBe(4 * tensor.shape.reduce((a, b) => a * b, 1));
      expectedStart = tensor.data_offsets[1];
    }
    expect(bytes.length).toBe(8 + headerLength + expectedStart);
  });

  it("is served as acme/tiny straight from the repository checkout", async () => {
    const hub = await startHubServer({ root: committed });
    try {
      const info = (await (await fetch(`${hub.url}/api/models/${EXAMPLE_REPO_ID}`)).json()) as {
        siblings: Array<{ rfilename: string }>;
      };
      expect(info.siblings.map((sibling) => sibling.rfilename)).toEqual([
        "2_Dense/config.json",
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
      ]);
    } finally {
      await hub.close();
    }
  });
});
