import { execFile, execFileSync } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/transfer-fixtures.js";

/**
 * The real Nix (Debian's nix-bin 2.8) runs a builder that reports progress through the
 * auto-selected reporter. With --log-format internal-json, Nix shows what it made of the
 * builder's `@nix` lines: it must re-emit our file-transfer activities (type 101) and
 * their progress (type 105), and must not have logged any of them as plain build output.
 */
const nixBuild = (() => {
  try {
    execFileSync("nix-build", ["--version"], { stdio: "ignore" });
    return "nix-build";
  } catch {
    return undefined;
  }
})();

let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  dir = await tempDir();
  // The builder runs as a nixbld user: it must be able to read the script.
  await chmod(dir.path, 0o755);
});
afterAll(async () => {
  await dir.remove();
});

interface NixLogEntry {
  readonly action: string;
  readonly type?: number;
  readonly text?: string;
  readonly fields?: unknown[];
  readonly id?: number;
  readonly msg?: string;
}

describe.skipIf(nixBuild === undefined)("progress inside a real Nix build", () => {
  it("Nix accepts our @nix lines as a file-transfer activity with byte progress", async () => {
    const script = join(dir.path, "report-progress.mjs");
    await build({
      entryPoints: [join(import.meta.dirname, "fixtures/report-progress.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: script,
      logLevel: "silent",
    });
    const expression = join(dir.path, "progress.nix");
    await writeFile(
      expression,
      `derivation {
        name = "nmr-progress-${process.pid}-${Date.now()}";
        system = builtins.currentSystem;
        builder = ${JSON.stringify(process.execPath)};
        args = [ ${JSON.stringify(script)} ];
      }`,
    );

    const { stderr } = await promisify(execFile)(
      "nix-build",
      [expression, "--no-out-link", "--option", "substituters", "", "--log-format", "internal-json"],
      { maxBuffer: 8 << 20 },
    );
    const entries = stderr
      .split("\n")
      .filter((line) => line.startsWith("@nix "))
      .map((line) => JSON.parse(line.slice(5)) as NixLogEntry);

    const transfers = entries.filter((entry) => entry.action === "start" && entry.type === 101);
    expect(transfers.map((entry) => entry.text)).toEqual([
      "downloading acme/tiny (2 files, 2.9 KiB)",
      "downloading 'config.json'",
      "downloading 'model.safetensors'",
    ]);
    const overallId = transfers[0]?.id;
    const progress = entries.filter(
      (entry) => entry.action === "result" && entry.type === 105 && entry.id === overallId,
    );
    expect(progress.at(-1)?.fields).toEqual([3000, 3000, 0, 0]);
    expect(entries.some((entry) => entry.action === "msg" && entry.msg?.includes("config.json: ECONNRESET"))).toBe(
      true,
    );
    // Build log lines (result type 101) carry what Nix did not understand: none of ours.
    const logLines = entries
      .filter((entry) => entry.action === "result" && entry.type === 101)
      .map((entry) => String(entry.fields?.[0]));
    expect(logLines).toContain("mode=nix");
    expect(logLines.filter((line) => line.includes("@nix"))).toEqual([]);
    expect(stderr).not.toContain("bad JSON log message");
    expect(stderr).not.toContain("unable to handle a JSON message");
  });
});
