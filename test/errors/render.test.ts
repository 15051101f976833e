import { afterEach, describe, expect, it } from "vitest";
import { renderUserError } from "../../src/errors/render.js";
import { clearSecretsForTesting, registerSecret } from "../../src/util/secrets.js";

afterEach(() => clearSecretsForTesting());

describe("the one error format", () => {
  it("draws what failed, the identifying fields, the error, numbered fixes and where to read more", () => {
    expect(
      renderUserError({
        what: "acme/gated is a gated repository",
        context: { source: "huggingface", repo: "acme/gated", revision: "main", trackingUri: "x", empty: "" },
        cause: "HTTP 403 (GatedRepo)",
        fix: ["Accept the licence.", "Give the token:\nexport HF_TOKEN=hf_..."],
        help: "docs/authentication.md",
      }),
    ).toBe(
      [
        "error: acme/gated is a gated repository",
        "",
        "  ┌─ Source:       huggingface",
        "  │  Repo:         acme/gated",
        "  │  Revision:     main",
        "  │  Tracking URI: x",
        "  │",
        "  ✗ Error: HTTP 403 (GatedRepo)",
        "  │",
        "  │ To fix this:",
        "  │   1. Accept the licence.",
        "  │   2. Give the token:",
        "  │      export HF_TOKEN=hf_...",
        "  │",
        "  └─ For more help: docs/authentication.md",
      ].join("\n"),
    );
  });

  it("is one line when there is nothing but what failed", () => {
    expect(renderUserError({ what: "--port must be a number" })).toBe("error: --port must be a number");
  });

  it("starts the box with the error when there are no fields", () => {
    expect(renderUserError({ what: "w", cause: "c", fix: ["f"] })).toBe(
      ["error: w", "", "  ✗ Error: c", "  │", "  │ To fix this:", "  │   1. f"].join("\n"),
    );
  });

  it("redacts registered secrets wherever they are", () => {
    registerSecret("hf_secret_value");
    const text = renderUserError({
      what: "refused hf_secret_value",
      context: { token: "hf_secret_value" },
      cause: "hf_secret_value",
      fix: ["hf_secret_value"],
    });
    expect(text).not.toContain("hf_secret_value");
    expect(text).toContain("***");
  });
});
