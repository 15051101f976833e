import { describe, expect, it } from "vitest";
import { checkHttpUrl } from "../../src/spec/url.js";

const rules = { example: "https://hub.example", credentialsFrom: "auth.tokenFile" };

describe("checkHttpUrl", () => {
  it("accepts http and https URLs", () => {
    expect(checkHttpUrl("https://hub.example/x", "spec.source.endpoint", rules).host).toBe("hub.example");
    expect(checkHttpUrl("http://127.0.0.1:8080", "spec.source.endpoint", rules).port).toBe("8080");
  });

  it("refuses credentials without echoing them", () => {
    const attempt = () => checkHttpUrl("https://user:hunter2@hub.example", "spec.source.endpoint", rules);
    expect(attempt).toThrow("spec.source.endpoint must not contain credentials");
    expect(attempt).toThrow("use auth.tokenFile");
    expect(attempt).not.toThrow(/hunter2/);
  });

  it("refuses other schemes, relative URLs and (unless allowed) queries", () => {
    expect(() => checkHttpUrl("ftp://hub.example", "f", rules)).toThrow("f must be an http(s) URL");
    expect(() => checkHttpUrl("ssh://h.example/x", "f", { ...rules, schemeNote: "no ssh in builds" })).toThrow(
      "(no ssh in builds)",
    );
    expect(() => checkHttpUrl("hub.example/x", "f", rules)).toThrow(
      "f must be an absolute URL like https://hub.example",
    );
    expect(() => checkHttpUrl("https://hub.example/?a=1", "f", rules)).toThrow("must not have a query or fragment");
    expect(checkHttpUrl("https://cdn.example/f?X-Sig=1", "f", { ...rules, allowQuery: true }).search).toBe("?X-Sig=1");
  });
});
