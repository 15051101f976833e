import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromNix32, NIX32_ALPHABET, toNix32 } from "../../src/nar/nix32.js";
import { parseSriSha256, toSri } from "../../src/nar/sri.js";
import { narLength, narPadding, narString } from "../../src/nar/format.js";
import { UserError } from "../../src/errors/user-error.js";

const nix = (...args: string[]) =>
  execFileSync("nix", ["--extra-experimental-features", "nix-command", ...args], { encoding: "utf8" })
    .trim()
    .split("\n");

// Hashes chosen to exercise every bit position: all zeros, all ones, one bit each end, random.
const samples: Buffer[] = [
  Buffer.alloc(32),
  Buffer.alloc(32, 0xff),
  Buffer.from([1, ...Array<number>(31).fill(0)]),
  Buffer.from([...Array<number>(31).fill(0), 0x80]),
  createHash("sha256").update("hello\n").digest(),
  ...Array.from({ length: 8 }, () => randomBytes(32)),
];

describe("nix32", () => {
  it("encodes sha256 digests exactly as nix-hash --to-base32 does", () => {
    const hex = samples.map((sample) => sample.toString("hex"));
    const fromNix = execFileSync("nix-hash", ["--type", "sha256", "--to-base32", ...hex], { encoding: "utf8" })
      .trim()
      .split("\n");
    expect(samples.map(toNix32)).toEqual(fromNix);
  });

  it("decodes what it encodes, and what Nix prints", () => {
    for (const sample of samples) expect(fromNix32(toNix32(sample))).toEqual(sample);
    expect(fromNix32("1jpg5v8rcf4d08rlpq51vnd1w800l64h34r0bw4vkb6z3qlk089k").toString("hex")).toBe(
      "332130291edfacb9095f20930189a100201e9adda1e04b33028d3896d12eefca",
    );
  });

  it("uses Nix's alphabet, which has no e, o, u or t", () => {
    expect(NIX32_ALPHABET).toHaveLength(32);
    expect(NIX32_ALPHABET).not.toMatch(/[eout]/);
    expect(toNix32(Buffer.alloc(32, 0xff))).toMatch(/^1z{51}$/);
  });

  it("rejects bad characters, bad lengths and bits beyond 256", () => {
    expect(() => fromNix32("e".repeat(52))).toThrow(/invalid nix32 character 'e'/);
    expect(() => fromNix32("0".repeat(51))).toThrow(/52 characters, got 51/);
    // The leading digit carries only the top bit of the last byte.
    expect(() => fromNix32(`2${"0".repeat(51)}`)).toThrow(/bits set beyond/);
  });
});

describe("SRI", () => {
  it("matches nix hash to-sri", () => {
    const hex = samples.map((sample) => sample.toString("hex"));
    expect(samples.map(toSri)).toEqual(nix("hash", "to-sri", "--type", "sha256", ...hex));
  });

  it("parses what it prints", () => {
    for (const sample of samples) expect(parseSriSha256(toSri(sample))).toEqual(sample);
  });

  it.each([
    ["empty", ""],
    ["another algorithm", `sha512-${randomBytes(64).toString("base64")}`],
    ["missing padding", toSri(samples[4] as Buffer).slice(0, -1)],
    ["nix32", `sha256:${toNix32(samples[4] as Buffer)}`],
    ["hex", (samples[4] as Buffer).toString("hex")],
    ["too short", `sha256-${randomBytes(31).toString("base64")}`],
    ["trailing newline", `${toSri(samples[4] as Buffer)}\n`],
    ["non-canonical last digit", "sha256-MyEwKR7frLkJXyCTAYmhACAemt2h4EszAo04ltEu78p="],
    ["url-safe base64", "sha256-_yEwKR7frLkJXyCTAYmhACAemt2h4EszAo04ltEu78o="],
  ])("rejects %s with a UserError naming the field", (_label, text) => {
    let thrown: unknown;
    try {
      parseSriSha256(text, "hash of acme/tiny");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UserError);
    expect((thrown as UserError).message).toContain("hash of acme/tiny is not an SRI sha256 hash");
  });
});

describe("NAR framing", () => {
  it("prefixes 64-bit little-endian lengths and pads to 8 bytes", () => {
    expect(narLength(0x0102030405).toString("hex")).toBe("0504030201000000");
    expect([0, 1, 7, 8, 9].map((n) => narPadding(n).length)).toEqual([0, 7, 1, 0, 7]);
    expect(narString("type").toString("hex")).toBe("0400000000000000" + "74797065" + "00000000");
    expect(narString("").length).toBe(8);
  });
});
