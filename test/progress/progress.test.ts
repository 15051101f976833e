import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProgressReporter, selectProgressMode, type ProgressMode } from "../../src/progress/reporter.js";
import type { ProgressReporter } from "../../src/progress/types.js";
import { transferAll } from "../../src/transfer/engine.js";
import { explainFailure } from "../../src/errors/explain.js";
import { DownloadFailure } from "../../src/errors/failures.js";
import { UserError } from "../../src/errors/user-error.js";
import { registerSecret } from "../../src/util/secrets.js";
import { MiB, filesUnder, item, quickSettings, useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed();

/** A reporter of the given mode whose output is captured, with a clock the test moves. */
function captured(mode: ProgressMode): {
  reporter: ProgressReporter;
  output: () => string;
  tick: (ms: number) => void;
} {
  let text = "";
  let clock = 0;
  const reporter = createProgressReporter(mode, {
    write: (chunk) => (text += chunk),
    now: () => clock,
    columns: () => 100,
  });
  return { reporter, output: () => text, tick: (ms) => (clock += ms) };
}

function tee(reporters: readonly ProgressReporter[]): ProgressReporter {
  const each = (tell: (reporter: ProgressReporter) => void): void => {
    for (const reporter of reporters) tell(reporter);
  };
  return {
    begin: (summary) => each((reporter) => reporter.begin(summary)),
    fileStarted: (path, size) => each((reporter) => reporter.fileStarted(path, size)),
    fileProgress: (path, received) => each((reporter) => reporter.fileProgress(path, received)),
    fileRetrying: (path, reason) => each((reporter) => reporter.fileRetrying(path, reason)),
    fileFinished: (path, size) => each((reporter) => reporter.fileFinished(path, size)),
    end: (outcome) => each((reporter) => reporter.end(outcome)),
  };
}

describe("progress mode selection", () => {
  it("follows NIX_MODEL_REPO_PROGRESS, then the Nix build, then the terminal", () => {
    expect(
      selectProgressMode({ NIX_MODEL_REPO_PROGRESS: "none", NIX_BUILD_TOP: "/build", out: "/nix/store/x" }, true),
    ).toBe("none");
    expect(selectProgressMode({ NIX_BUILD_TOP: "/build", out: "/nix/store/x" }, true)).toBe("nix");
    expect(selectProgressMode({ NIX_BUILD_TOP: "/build" }, true)).toBe("tty");
    expect(selectProgressMode({}, true)).toBe("tty");
    expect(selectProgressMode({}, false)).toBe("plain");
    expect(selectProgressMode({ NIX_MODEL_REPO_PROGRESS: "bogus" }, false)).toBe("plain");
  });
});

describe("nix mode", () => {
  it("writes only parseable @nix lines Nix accepts from a builder, throttled", () => {
    const { reporter, output, tick } = captured("nix");
    reporter.begin({ label: "acme/tiny", files: 2, bytes: 3 * MiB });
    reporter.fileStarted("a.bin", MiB);
    for (let received = 0; received <= MiB; received += 16 * 1024) {
      reporter.fileProgress("a.bin", received);
      tick(5);
    }
    reporter.fileFinished("a.bin", MiB);
    reporter.fileStarted("b.bin", 2 * MiB);
    reporter.fileRetrying("b.bin", "ECONNRESET; retrying in 1.0 s");
    reporter.fileProgress("b.bin", 2 * MiB);
    reporter.fileFinished("b.bin", 2 * MiB);
    reporter.end({ ok: true });

    const lines = output().split("\n").filter(Boolean);
    expect(lines.every((line) => line.startsWith("@nix {"))).toBe(true);
    const messages = lines.map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>);
    const starts = messages.filter((message) => message["action"] === "start");
    // An untrusted builder may only start actFileTransfer (101) activities.
    expect(
      starts.every(
        (message) =>
          message["type"] === 101 && typeof message["id"] === "number" && typeof message["text"] === "string",
      ),
    ).toBe(true);
    const stops = messages.filter((message) => message["action"] === "stop").map((message) => message["id"]);
    expect(new Set(stops)).toEqual(new Set(starts.map((message) => message["id"])));
    const progress = messages.filter((message) => message["action"] === "result");
    for (const message of progress) {
      expect(message["type"]).toBe(105);
      const fields = message["fields"] as unknown[];
      // Nix 2.8 asserts four unsigned integers.
      expect(fields).toHaveLength(4);
      expect(fields.every((field) => Number.isInteger(field) && (field as number) >= 0)).toBe(true);
    }
    expect(progress.at(-1)?.["fields"]).toEqual([3 * MiB, 3 * MiB, 0, 0]);
    // 65 updates over 325 ms of fake time: at most one line per 100 ms, plus the forced ones.
    expect(progress.length).toBeLessThanOrEqual(10);
  });
});

describe("tty and plain modes", () => {
  it("tty redraws one line with files, bytes, rate and ETA, and ends with a summary", () => {
    const { reporter, output, tick } = captured("tty");
    reporter.begin({ label: "acme/tiny", files: 2, bytes: 2 * MiB });
    reporter.fileStarted("a.bin", MiB);
    tick(1000);
    reporter.fileProgress("a.bin", MiB / 2);
    tick(1000);
    reporter.fileProgress("a.bin", MiB);
    reporter.fileFinished("a.bin", MiB);
    tick(200);
    reporter.fileStarted("b.bin", MiB);
    reporter.end({ ok: true });
    const text = output();
    expect(text).toContain("\r");
    expect(text).toContain("1/2 files  1.0 MiB/2.0 MiB 50%");
    expect(text).toMatch(/KiB\/s/);
    expect(text).toMatch(/ETA \d/);
    expect(text.trimEnd().split("\n").at(-1)).toMatch(/downloaded acme\/tiny: 1 files, 1\.0 MiB in 2s/);
  });

  it("plain prints a line per file and a total every 10 s, no control characters", () => {
    const { reporter, output, tick } = captured("plain");
    reporter.begin({ label: "acme/tiny", files: 1, bytes: MiB });
    reporter.fileStarted("a.bin", MiB);
    reporter.fileProgress("a.bin", 1000);
    tick(10_001);
    reporter.fileProgress("a.bin", MiB / 2);
    reporter.fileFinished("a.bin", MiB);
    reporter.end({ ok: true });
    const lines = output().trimEnd().split("\n");
    expect(lines[0]).toBe("downloading acme/tiny: 1 file, 1.0 MiB");
    expect(lines).toContain("started a.bin (1.0 MiB)");
    expect(lines.some((line) => line.startsWith("progress: 0/1 files, 512.0 KiB of 1.0 MiB (50%)"))).toBe(true);
    expect(lines).toContain("finished a.bin (1.0 MiB; 1/1 files)");
    expect(output()).not.toMatch(/[\r\x1b]/);
  });
});

describe("line output", () => {
  it("joins the lines of many files into few writes, loses none, and writes what is held at the end", () => {
    const writes: string[] = [];
    const reporter = createProgressReporter("plain", { write: (text) => writes.push(text), now: () => 0 });
    reporter.begin({ label: "acme/many", files: 300, bytes: 300 * 1024 });
    for (let index = 0; index < 300; index++) {
      reporter.fileStarted(`f${index}.json`, 1024);
      reporter.fileFinished(`f${index}.json`, 1024);
    }
    reporter.end({ ok: true });
    const lines = writes.join("").trimEnd().split("\n");
    expect(lines).toHaveLength(602);
    expect(lines[1]).toBe("started f0.json (1.0 KiB)");
    expect(lines.at(-2)).toBe("finished f299.json (1.0 KiB; 300/300 files)");
    // ~24 KiB of lines: flushed every 16 KiB, then at the end.
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(writes.every((text) => text.endsWith("\n"))).toBe(true);
  });

  it("writes held lines within 100 ms without waiting for the end", async () => {
    let text = "";
    const reporter = createProgressReporter("nix", { write: (chunk) => (text += chunk), now: () => 0 });
    reporter.begin({ label: "acme/slow", files: 1, bytes: 10 });
    reporter.fileStarted("slow.bin", 10);
    expect(text).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(
      text
        .split("\n")
        .filter(Boolean)
        .every((line) => line.startsWith("@nix {")),
    ).toBe(true);
    expect(text).toContain("slow.bin");
    reporter.end({ ok: false });
  });
});

describe("secrets in progress and errors", () => {
  it("no token or signed query reaches any progress output or the error", async () => {
    const token = "hf_progress_token_0123456789";
    registerSecret(token);
    const credential = { authorization: `Bearer ${token}`, hosts: [new URL(bed.server.origin()).host] };
    bed.server.serveGenerated("/ok.bin", 2 * MiB, 21, { redirectToOtherHost: true, statuses: [{ status: 503 }] });
    bed.server.serveGenerated("/denied.bin", 1000, 22, {
      redirectToOtherHost: true,
      statuses: [{ status: 403, body: `{"error":"token ${token} is not allowed"}` }],
    });
    const modes = (["nix", "tty", "plain"] as const).map(captured);
    const reporter = tee(modes.map((mode) => mode.reporter));
    reporter.begin({ label: "acme/tiny", files: 2, bytes: 2 * MiB + 1000 });

    const error = await transferAll(
      [
        item(bed.http, `${bed.server.url("/ok.bin")}?download=true&token=query-secret`, join(bed.dir.path, "ok.bin"), {
          path: "ok.bin",
          size: 2 * MiB,
          credential,
        }),
        item(bed.http, bed.server.url("/denied.bin"), join(bed.dir.path, "denied.bin"), {
          path: "denied.bin",
          size: 1000,
          credential,
        }),
      ],
      { settings: quickSettings({ concurrency: 1 }), progress: reporter },
    ).catch((caught: unknown) => caught);
    reporter.end({ ok: false });

    expect(error).toBeInstanceOf(DownloadFailure);
    expect((error as DownloadFailure).code).toBe("NMR_AUTH");
    const message = (error as DownloadFailure).message;
    expect(message).toContain("denied.bin");
    expect(message).toContain("HTTP 403");
    // And as the user reads it.
    const explained = explainFailure(error);
    expect(explained).toBeInstanceOf(UserError);
    const everything = [message, (explained as UserError).message, ...modes.map((mode) => mode.output())].join("\n");
    expect(modes[0]?.output()).toContain("HTTP 503");
    for (const secret of [token, "very-secret-signature", "X-Signature", "query-secret"]) {
      expect(everything).not.toContain(secret);
    }
    // ok.bin finished before denied.bin failed; removing the output is the caller's job.
    expect((await filesUnder(bed.dir.path)).filter((file) => file.endsWith(".incomplete"))).toEqual([]);
  });
});
