import { describe, expect, it } from "vitest";
import { explainFailure, explainForUser, describeError, type ExplainHook } from "../../src/errors/explain.js";
import { DiskFailure, DownloadFailure, IntegrityFailure, TransferFailure } from "../../src/errors/failures.js";
import { UserError } from "../../src/errors/user-error.js";
import { invalid } from "../../src/spec/fields.js";

const context = { source: "huggingface", repo: "acme/tiny", revision: "main" };
const refused = () =>
  new TransferFailure("HTTP 403 Forbidden from https://hub.example/x", { retryable: false, status: 403, url: "u" });

describe("explainFailure: the one place failures become messages", () => {
  it("asks the source's hook first, and puts the fetch's fields in front of the hook's", () => {
    const hook: ExplainHook = (failure) =>
      failure.code === "NMR_AUTH" ? { what: "gated", context: { token: "none" }, cause: "403" } : undefined;
    const explained = explainFailure(refused(), { context, hook }) as UserError;
    expect(explained).toBeInstanceOf(UserError);
    expect(explained.code).toBe("NMR_AUTH");
    expect(explained.details.what).toBe("gated");
    expect(Object.keys(explained.details.context!)).toEqual(["source", "repo", "revision", "token"]);
  });

  it("falls back to the explanation of the code, and hands the hook the file of a download", () => {
    const scopes: unknown[] = [];
    const hook: ExplainHook = (_failure, scope) => {
      scopes.push(scope);
      return undefined;
    };
    const download = new DownloadFailure("model.bin", "https://cdn/model.bin", 1, refused());
    const explained = explainFailure(download, { context, subject: "acme/tiny @ main", hook }) as UserError;
    expect(scopes).toEqual([{ file: "model.bin", downloads: 1 }]);
    expect(explained.details.what).toBe("Failed to download model.bin");
    expect(explained.details.context).toMatchObject({ ...context, file: "model.bin", from: "https://cdn/model.bin" });
    expect(explained.details.fix?.[0]).toContain("token");
    expect(explained.details.help).toBe("docs/authentication.md");
    expect(explained.cause).toBe(download);
  });

  it("words each code: integrity with the download count, disk by its errno, a bad spec by its field", () => {
    const integrity = explainFailure(
      new DownloadFailure("w.bin", "src", 2, new IntegrityFailure("sha256: expected a, got b")),
    ) as UserError;
    expect(integrity.details.what).toBe("Downloaded w.bin does not match what the source lists for it");
    expect(integrity.details.cause).toBe("sha256: expected a, got b (downloaded 2 times)");

    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const disk = explainFailure(
      new DownloadFailure("w.bin", "src", 1, new DiskFailure("/out/blobs/x.incomplete", full)),
    );
    expect((disk as UserError).details).toMatchObject({
      what: "Failed to write w.bin",
      context: { to: "/out/blobs/x.incomplete" },
      fix: ["Free space where the output is written (the Nix store, or --out)."],
    });

    const spec = explainFailure(invalid("spec.name", "must be a store name", "a b")) as UserError;
    expect(spec.code).toBe("NMR_BAD_SPEC");
    expect(spec.message.split("\n")[0]).toBe('error: Invalid fetch spec: spec.name must be a store name, got "a b"');
    expect(spec.details.help).toBe("docs/spec.md");
    expect(spec.exitCode).toBe(1);
  });

  it("takes a raw file system error (the layout's) for a disk failure", () => {
    const raw = Object.assign(new Error("EACCES: permission denied, open '/out/x'"), {
      code: "EACCES",
      path: "/out/x",
    });
    expect((explainFailure(raw) as UserError).details.what).toBe("Failed to write /out/x");
  });

  it("gives a UserError the fetch's fields it lacks, and leaves anything else alone", () => {
    const own = new UserError({ what: "nothing matches", context: { files: '["*.x"]' } });
    const withFields = explainFailure(own, { context }) as UserError;
    expect(Object.keys(withFields.details.context!)).toEqual(["source", "repo", "revision", "files"]);
    const bug = new TypeError("undefined is not a function");
    expect(explainFailure(bug, { context })).toBe(bug);
    expect(describeError(bug)).toBe("undefined is not a function");
  });

  it("gives the CLI an error nothing classified in the one format too, with what to do", () => {
    const explained = explainForUser(new TypeError("undefined is not a function"));
    expect(explained).toBeInstanceOf(UserError);
    expect(explained.details.what).toBe("Unexpected error");
    expect(explained.details.cause).toBe("TypeError: undefined is not a function");
    expect(explained.details.fix?.[0]).toContain("--verbose");
    expect(explained.message).toMatch(
      /^error: Unexpected error\n\n {2}✗ Error: TypeError: undefined is not a function\n/,
    );
  });
});
