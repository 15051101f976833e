/**
 * Ollama's name rules (types/model/name.go at ollama@fb30760: ParseName = ParseNameBare
 * merged with the defaults, valid = IsFullyQualified), with the cases of its own
 * name_test.go plus the defaults users rely on.
 */
import { describe, expect, it } from "vitest";
import {
  fullOllamaName,
  InvalidOllamaName,
  manifestPathSegments,
  parseOllamaName,
  registryBaseUrl,
  shortOllamaName,
  type OllamaName,
} from "../../src/sources/ollama/name.js";

const part80 = "8".repeat(80);
const part350 = "3".repeat(350);

const name = (
  host: string,
  namespace: string,
  model: string,
  tag: string,
  scheme: "http" | "https" = "https",
): OllamaName => ({ scheme, host, namespace, model, tag });

describe("Ollama model names", () => {
  it.each<[string, OllamaName]>([
    // Defaults: registry.ollama.ai, library, latest, https.
    ["llama3.2:1b", name("registry.ollama.ai", "library", "llama3.2", "1b")],
    ["llama3.2", name("registry.ollama.ai", "library", "llama3.2", "latest")],
    ["model", name("registry.ollama.ai", "library", "model", "latest")],
    ["user/m", name("registry.ollama.ai", "user", "m", "latest")],
    ["namespace/model", name("registry.ollama.ai", "namespace", "model", "latest")],
    // name_test.go TestParseNameParts.
    [
      "registry.ollama.ai/library/dolphin-mistral:7b-v2.6-dpo-laser-q6_K",
      name("registry.ollama.ai", "library", "dolphin-mistral", "7b-v2.6-dpo-laser-q6_K"),
    ],
    ["host/namespace/model:tag", name("host", "namespace", "model", "tag")],
    ["host:port/namespace/model:tag", name("host:port", "namespace", "model", "tag")],
    ["host/namespace/model", name("host", "namespace", "model", "latest")],
    ["host:port/namespace/model", name("host:port", "namespace", "model", "latest")],
    ["h/nn/mm:t", name("h", "nn", "mm", "t")],
    ["_why/_the/_lucky:_stiff", name("_why", "_the", "_lucky", "_stiff")],
    [`${part80}/${part80}/${part80}:${part80}`, name(part80, part80, part80, part80)],
    [`${part350}/${part80}/${part80}:${part80}`, name(part350, part80, part80, part80)],
    // The last ":" is a tag separator only after the last "/": a port is not a tag.
    ["localhost:5000/ns/m", name("localhost:5000", "ns", "m", "latest")],
    ["localhost:5000/ns/m:q4", name("localhost:5000", "ns", "m", "q4")],
    // A scheme: plain HTTP only when written (what ollama pull --insecure accepts).
    ["http://localhost:5000/library/tiny:1", name("localhost:5000", "library", "tiny", "1", "http")],
    ["https://registry.example/ns/m:t", name("registry.example", "ns", "m", "t")],
    // Case is kept: Ollama uses the parts verbatim as directory names.
    ["HOST/NAMESPACE/MODEL:TAG", name("HOST", "NAMESPACE", "MODEL", "TAG")],
  ])("parses %s", (text, expected) => {
    expect(parseOllamaName(text)).toEqual(expected);
  });

  it.each<[string, RegExp]>([
    // name_test.go: invalid and unqualified names.
    ["", /the model is empty/],
    ["mm:", /the tag is empty/],
    ["n/m:", /the tag is empty/],
    ["/nn/mm", /the host is empty/],
    ["//", /the host is empty/],
    ["//mm", /the host is empty/],
    ["hh//", /the namespace is empty/],
    ["//mm:@", /the host is empty|the tag "@"/],
    ["^", /the model "\^"/],
    ["@", /the model "@"/],
    ["00@", /the model "00@"/],
    ["m@d", /the model "m@d"/],
    ["-hh/nn/mm:tt", /the host "-hh" must start with a letter, digit or _/],
    ["hh/-nn/mm:tt", /the namespace "-nn"/],
    ["hh/nn/-mm:tt", /the model "-mm"/],
    ["hh/nn/mm:-tt", /the tag "-tt"/],
    ["host/name:space/model:tag", /the namespace "name:space"/],
    ["x/y/z/z:8n", /the host "x\/y"/],
    // Namespaces have no dots; lengths are bounded.
    ["a.b/m", /the namespace "a.b"/],
    [`${part80}8/m`, /the namespace is longer than 80 characters/],
    [`m:${part80}8`, /the tag is longer than 80 characters/],
    [`${part350}3/n/m:t`, /the host is longer than 350 characters/],
    // Without namespace, a "host:port/model" reads the host as the namespace.
    ["localhost:5000/tiny", /the namespace "localhost:5000"/],
    ["http://localhost:5000/tiny", /the host "http:\/"/],
    // Only http and https.
    ["ftp://host/ns/m:t", /the scheme "ftp:\/\/" is not supported/],
    ["scheme://host:port/namespace/model:tag", /the scheme "scheme:\/\/"/],
    ["http:///ns/m:t", /the host is empty/],
    // Path tricks cannot pass the alphabet.
    ["../../etc/passwd", /the host "\.\.\/\.\."|the namespace "\.\."/],
    ["ns/..:x", /the model "\.\."/],
    ["ns/m:..", /the tag "\.\."/],
  ])("refuses %j", (text, reason) => {
    let error: unknown;
    try {
      parseOllamaName(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOllamaName);
    expect((error as Error).message).toMatch(reason);
  });

  it("gives the full name, Ollama's short display name, the manifest path and the registry URL", () => {
    const library = parseOllamaName("llama3.2:1b");
    expect(fullOllamaName(library)).toBe("registry.ollama.ai/library/llama3.2:1b");
    expect(shortOllamaName(library)).toBe("llama3.2:1b");
    expect(manifestPathSegments(library)).toEqual(["registry.ollama.ai", "library", "llama3.2", "1b"]);
    expect(registryBaseUrl(library).href).toBe("https://registry.ollama.ai/");

    expect(shortOllamaName(parseOllamaName("user/m"))).toBe("user/m:latest");
    expect(shortOllamaName(parseOllamaName("Registry.Ollama.AI/Library/m:t"))).toBe("m:t");
    const local = parseOllamaName("http://localhost:5000/library/tiny:1");
    expect(shortOllamaName(local)).toBe("localhost:5000/library/tiny:1");
    expect(fullOllamaName(local)).toBe("localhost:5000/library/tiny:1");
    expect(manifestPathSegments(local)).toEqual(["localhost:5000", "library", "tiny", "1"]);
    expect(registryBaseUrl(local).origin).toBe("http://localhost:5000");
  });

  it("accepts hosts by Ollama's alphabet, and checks them as URL hosts only when contacting them", () => {
    // Valid names (name_test.go), usable with an endpoint, but no registry could be reached at them.
    for (const text of ["host:https/namespace/model:tag", "host:port/namespace/model:tag"]) {
      const parsed = parseOllamaName(text);
      expect(() => registryBaseUrl(parsed)).toThrow(/is not a valid registry host/);
    }
  });
});
