/**
 * One fetch, start to finish (src/fetch): resolve, transfer, layout; on failure no output
 * is left and the error is explained once, with what was being fetched in front.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors/user-error.js";
import { fetchModelInto } from "../../src/fetch/fetch-model.js";
import { parseSpec, SPEC_VERSION } from "../../src/fetch/spec.js";
import { silentProgress } from "../../src/progress/silent.js";
import { useFaultBed } from "../helpers/transfer-fixtures.js";

const bed = useFaultBed({ freshDir: true });
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function spec(path: string, content: Buffer, timeout: Record<string, unknown> = {}) {
  return parseSpec({
    specVersion: SPEC_VERSION,
    name: "fetch-test",
    source: { type: "url", urls: [{ url: bed.server.url(path), sha256: sha256(content), filename: "model.bin" }] },
    network: { retry: { maxAttempts: 2, baseDelay: 0 }, timeout },
  });
}

const options = { env: {}, progress: silentProgress };

describe("fetchModelInto", () => {
  it("writes the layout and returns the meta it wrote", async () => {
    const content = Buffer.from("weights");
    bed.server.serveBytes("/ok/model.bin", content);
    const out = join(bed.dir.path, "out");
    const meta = await fetchModelInto(spec("/ok/model.bin", content), out, options);
    expect(meta.files).toEqual([{ path: "model.bin", size: content.length, sha256: sha256(content) }]);
    expect(existsSync(join(out, ".nix-model-repo-meta.json"))).toBe(true);
  });

  it("leaves no output when the fetch fails, and explains the failure once, in the source's context", async () => {
    const content = Buffer.from("weights");
    bed.server.serveBytes("/gone/model.bin", content, { statuses: [{ status: 404 }] });
    const out = join(bed.dir.path, "out");
    const error = await fetchModelInto(spec("/gone/model.bin", content), out, options).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe("NMR_NOT_FOUND");
    expect((error as UserError).details.context).toMatchObject({ source: "url", file: "model.bin" });
    expect(existsSync(out)).toBe(false);
  });

  it("stops at network.timeout.total, a server that is slow but never slow enough to be cut", async () => {
    const content = Buffer.alloc(100_000, 7);
    // 600 bytes/s: over the low-speed limit set here, far from done in 1 s.
    bed.server.serveBytes("/slow/model.bin", content, { trickleBytesPer100Ms: 60 });
    const out = join(bed.dir.path, "out");
    const error = await fetchModelInto(
      spec("/slow/model.bin", content, { total: 1, lowSpeedLimit: 10, lowSpeedTime: 1 }),
      out,
      options,
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).details.what).toBe("The fetch did not finish within network.timeout.total (1 s)");
    expect((error as UserError).details.fix?.[0]).toContain("raise network.timeout.total");
    expect(existsSync(out)).toBe(false);
  });

  it("stops a git source at network.timeout.total: git and its HTTP helper end, and the deadline is what it says", async () => {
    // A git host that accepts connections and never answers: git's own low-speed limit
    // (1 byte/s over timeout.read, 300 s here) would keep git-remote-http waiting.
    const held: Socket[] = [];
    const host = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(host.address() as AddressInfo).port}/org/model.git`;
    try {
      const out = join(bed.dir.path, "out");
      const error = await fetchModelInto(
        parseSpec({
          specVersion: SPEC_VERSION,
          name: "git-deadline",
          source: { type: "git-lfs", url, rev: "a".repeat(40) },
          network: { timeout: { total: 2 } },
        }),
        out,
        { ...options, env: { PATH: process.env["PATH"] } },
      ).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).details.what).toBe("The fetch did not finish within network.timeout.total (2 s)");
      expect(existsSync(out)).toBe(false);
      const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .filter((line) => line.includes(url));
      expect(left).toEqual([]);
    } finally {
      for (const socket of held) socket.destroy();
      host.close();
    }
  }, 20_000);

  it("refuses an output directory that is not empty, and leaves it alone", async () => {
    const out = join(bed.dir.path, "out");
    await mkdir(out);
    await writeFile(join(out, "keep"), "mine");
    await expect(fetchModelInto(spec("/any", Buffer.from("x")), out, options)).rejects.toThrow("is not empty");
    expect(existsSync(join(out, "keep"))).toBe(true);
  });

  // src/fetch/notify.ts loads node:child_process only when it runs a hook.
  it("runs onFailure.notify after the fetch failed for good, with the model's name and the error", async () => {
    const content = Buffer.from("weights");
    bed.server.serveBytes("/notify/model.bin", content, { statuses: [{ status: 404 }] });
    const hook = join(bed.dir.path, "notify.sh");
    const seen = join(bed.dir.path, "seen");
    await writeFile(hook, `#!/bin/sh\nprintf '%s\\n%s\\n' "$NIX_MODEL_REPO_NAME" "$NIX_MODEL_REPO_ERROR" >> ${seen}\n`);
    await chmod(hook, 0o755);
    const failing = parseSpec({
      specVersion: SPEC_VERSION,
      name: "fetch-test",
      source: {
        type: "url",
        urls: [{ url: bed.server.url("/notify/model.bin"), sha256: sha256(content), filename: "model.bin" }],
      },
      network: { retry: { maxAttempts: 1 } },
      onFailure: { notify: hook },
    });
    const out = join(bed.dir.path, "out");
    await expect(fetchModelInto(failing, out, options)).rejects.toBeInstanceOf(UserError);
    const [name, ...error] = (await readFile(seen, "utf8")).trimEnd().split("\n");
    expect(name).toBe("fetch-test");
    expect(error.join("\n")).toContain("404");
    expect(existsSync(out)).toBe(false);
  });
});
