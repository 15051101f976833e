/**
 * The bundled example repo `acme/tiny` (examples/hub/models--acme--tiny): a few small files
 * shaped like a real sentence-transformers/transformers repo, including a valid safetensors
 * file (LFS) and a nested file, so the demo, README and tests exercise every part of the
 * layout. Everything is computed, nothing random: regenerating gives identical bytes
 * (test/serve/example-hub.test.ts checks the committed copy).
 *
 * No .gitattributes, although Hub repos have one: committed inside this project as a symlink,
 * it makes git warn ("Too many levels of symbolic links") on every command touching it.
 *
 * Run `node scripts/make-example-hub.mjs [OUT_DIR]` to regenerate.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { writeHubRepo, type WrittenHubRepo } from "../test/helpers/hub-fixture.js";

export const EXAMPLE_REPO_ID = "acme/tiny";

interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Value of element i; float32 arithmetic only, so every machine gets the same bits. */
  readonly value: (index: number) => number;
}

const HIDDEN = 16;
const VOCAB = [
  "[PAD]",
  "[UNK]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "the",
  "a",
  "model",
  "store",
  "nix",
  "hub",
  "tiny",
  "hello",
  "world",
  "fetch",
  "serve",
  "cache",
  "hash",
  "file",
  "repo",
  "token",
  "offline",
  "mirror",
  "weights",
  "safe",
  "tensor",
  "layer",
  "dense",
  "embed",
  "vector",
  "sentence",
  "end",
];

const TENSORS: readonly TensorSpec[] = [
  {
    name: "embeddings.word_embeddings.weight",
    shape: [VOCAB.length, HIDDEN],
    value: (i) => (((i * 37) % 101) - 50) / 500,
  },
  {
    name: "encoder.dense.weight",
    shape: [HIDDEN, HIDDEN],
    value: (i) => (i % (HIDDEN + 1) === 0 ? 1 : (((i * 13) % 17) - 8) / 256),
  },
  { name: "encoder.dense.bias", shape: [HIDDEN], value: (i) => (i - HIDDEN / 2) / 64 },
];

/**
 * A safetensors file (github.com/huggingface/safetensors, "Format"): u64 little-endian
 * header length, the JSON header (dtype, shape, data_offsets per tensor, plus
 * __metadata__), padded with spaces to 8 bytes, then the little-endian tensor data.
 */
export function safetensorsFile(tensors: readonly TensorSpec[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const buffers: Buffer[] = [];
  let offset = 0;
  for (const tensor of [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const count = tensor.shape.reduce((product, dim) => product * dim, 1);
    const data = Buffer.alloc(count * 4);
    for (let index = 0; index < count; index++) data.writeFloatLE(tensor.value(index), index * 4);
    header[tensor.name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + data.length] };
    buffers.push(data);
    offset += data.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), ...buffers]);
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function exampleRepoFiles(): Record<string, Buffer | string> {
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    "README.md": [
      "---",
      "license: mit",
      "library_name: sentence-transformers",
      "pipeline_tag: sentence-similarity",
      "---",
      "",
      "# acme/tiny",
      "",
      "A deliberately tiny model used by nix-model-repo's demo and tests: a 32-word vocabulary,",
      "16-dimensional embeddings and one dense layer. Its weights are not trained; they only have",
      "to be valid safetensors.",
      "",
    ].join("\n"),
    "config.json": json({
      architectures: ["TinyEncoder"],
      hidden_size: HIDDEN,
      model_type: "tiny",
      num_hidden_layers: 1,
      torch_dtype: "float32",
      vocab_size: VOCAB.length,
    }),
    "tokenizer.json": json({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: VOCAB.slice(0, 5).map((token, id) => special(id, token)),
      normalizer: { type: "Lowercase" },
      pre_tokenizer: { type: "Whitespace" },
      post_processor: null,
      decoder: null,
      model: {
        type: "WordLevel",
        vocab: Object.fromEntries(VOCAB.map((token, id) => [token, id])),
        unk_token: "[UNK]",
      },
    }),
    "tokenizer_config.json": json({
      cls_token: "[CLS]",
      do_lower_case: true,
      mask_token: "[MASK]",
      model_max_length: 128,
      pad_token: "[PAD]",
      sep_token: "[SEP]",
      tokenizer_class: "PreTrainedTokenizerFast",
      unk_token: "[UNK]",
    }),
    "model.safetensors": safetensorsFile(TENSORS, { format: "pt" }),
    "2_Dense/config.json": json({
      activation_function: "torch.nn.modules.activation.Tanh",
      bias: true,
      in_features: HIDDEN,
      out_features: HIDDEN,
    }),
  };
}

/** Writes (replacing) models--acme--tiny under `hubRoot`. */
export async function writeExampleHub(hubRoot: string): Promise<WrittenHubRepo> {
  await rm(join(hubRoot, "models--acme--tiny"), { recursive: true, force: true });
  return writeHubRepo(hubRoot, { repoId: EXAMPLE_REPO_ID, files: exampleRepoFiles() });
}
