/**
 * Reading what nix-store prints (src/nix/store-query.ts): GC roots as Nix 2.8 prints them
 * and as newer Nix does (the link quoted), and --dump-db registrations. The commands
 * themselves run against a real store in test/e2e/lifecycle-store.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  isStorePath,
  parseRegistrations,
  parseRootLine,
  storePathName,
  storePathOf,
} from "../../src/nix/store-query.js";

const store = "/nix/store";
const path = `${store}/qiwmmmgnk4xmy6mma2man57iwykzv7rg-tiny`;

describe("parseRootLine", () => {
  it("reads Nix 2.8's `link -> path` and newer Nix's quoted link", () => {
    expect(parseRootLine(`/home/me/result -> ${path}`, store)).toEqual({ link: "/home/me/result", path });
    expect(parseRootLine(`"/home/me/my \\"odd\\" -> dir/result" -> ${path}`, store)).toEqual({
      link: '/home/me/my "odd" -> dir/result',
      path,
    });
    expect(parseRootLine(`{censored} -> ${path}`, store)).toEqual({ link: "{censored}", path });
  });

  it("ignores lines that do not end in a store path", () => {
    expect(parseRootLine("", store)).toBeUndefined();
    expect(parseRootLine("removing stale link from '/a' to '/b'", store)).toBeUndefined();
    expect(parseRootLine(`/x -> /elsewhere/qiwmmmgnk4xmy6mma2man57iwykzv7rg-tiny`, store)).toBeUndefined();
    expect(parseRootLine(`/x -> ${path}/bin/sh`, store)).toBeUndefined();
  });
});

describe("parseRegistrations", () => {
  it("reads --dump-db: path, hex NAR hash, NAR size, deriver, references", () => {
    const hex = "10551daed7fa467d0b58826e7eb9a0f2af7d693de319f2ef775fffcda244b9f6";
    const sri = `sha256-${Buffer.from(hex, "hex").toString("base64")}`;
    const other = `${store}/0123456789abcdfghijklmnpqrsvwxyz-raw`;
    const text = [
      path,
      "10551daed7fa467d0b58826e7eb9a0f2af7d693de319f2ef775fffcda244b9f6",
      "120",
      "",
      "2",
      path,
      other,
      other,
      "sha256:10551daed7fa467d0b58826e7eb9a0f2af7d693de319f2ef775fffcda244b9f6",
      "7",
      `${store}/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x.drv`,
      "0",
      "",
    ].join("\n");
    expect(parseRegistrations(text)).toEqual([
      { path, narHash: sri, narSize: 120, references: [path, other] },
      { path: other, narHash: sri, narSize: 7, references: [] },
    ]);
  });

  it("refuses output it does not understand instead of guessing", () => {
    expect(() => parseRegistrations(`${path}\nnot-a-hash\n1\n\n0\n`)).toThrow(/not sha256 in hex/);
    expect(() => parseRegistrations(`${path}\n${"0".repeat(64)}\n1\n\n3\n${path}\n`)).toThrow(/ends inside/);
  });
});

describe("store paths", () => {
  it("knows a store path, the store path a path is in, and its name", () => {
    expect(isStorePath(path, store)).toBe(true);
    expect(isStorePath(`${store}/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x`, store)).toBe(false);
    expect(isStorePath(`${store}/qiwmmmgnk4xmy6mma2man57iwykzv7rg-`, store)).toBe(false);
    expect(storePathOf(`${path}/snapshots/abc/config.json`, store)).toBe(path);
    expect(storePathOf("/tmp/x", store)).toBeUndefined();
    expect(storePathName(path)).toBe("tiny");
  });
});
