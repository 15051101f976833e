/**
 * Ollama model names, parsed as Ollama parses them (types/model/name.go, ParseName:
 * ParseNameBare merged with the defaults, then IsFullyQualified), so that a name means
 * here exactly what it means to `ollama pull` and the manifest lands where `ollama run`
 * looks for it.
 *
 *   [scheme://][host/][namespace/]model[:tag]
 *   llama3.2:1b                         → https://registry.ollama.ai, library/llama3.2, tag 1b
 *   user/m                              → namespace user, tag latest
 *   http://localhost:5000/library/m:1   → plain HTTP (Ollama wants --insecure for that)
 *
 * Case is kept as written: Ollama uses the name's parts verbatim as directory names.
 */
export interface OllamaName {
  /** How the registry is reached; "http" only when the name says so explicitly. */
  readonly scheme: "http" | "https";
  /** Registry host, with a port when given ("localhost:5000"). */
  readonly host: string;
  readonly namespace: string;
  readonly model: string;
  readonly tag: string;
}

const OLLAMA_DEFAULT_HOST = "registry.ollama.ai";
const OLLAMA_DEFAULT_NAMESPACE = "library";
const OLLAMA_DEFAULT_TAG = "latest";

/** Why a name is not a valid Ollama model name; the message is a sentence fragment. */
export class InvalidOllamaName extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InvalidOllamaName";
  }
}

type PartKind = "host" | "namespace" | "model" | "tag";

// name.go isValidPart/isValidLen: the first character alphanumeric or "_", then the part's alphabet.
const PART_RULES: Record<
  PartKind,
  { readonly pattern: RegExp; readonly maxLength: number; readonly alphabet: string }
> = {
  host: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/, maxLength: 350, alphabet: "letters, digits, _ - . :" },
  namespace: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_-]*$/, maxLength: 80, alphabet: "letters, digits, _ -" },
  model: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, maxLength: 80, alphabet: "letters, digits, _ - ." },
  tag: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, maxLength: 80, alphabet: "letters, digits, _ - ." },
};

/** A part promised by its separator but empty ("m:", "/m"): Ollama's MissingPart sentinel. */
const MISSING = Symbol("missing");
type Present = string | typeof MISSING;
type Part = Present | undefined;

export function parseOllamaName(text: string): OllamaName {
  let rest: Present = text;
  let tag: Part;
  let namespace: Part;
  let host: Part;
  let scheme: string | undefined;

  // A tag is whatever follows the last ":" when no "/" comes after it ("/" is not a tag character).
  if (text.lastIndexOf(":") > text.lastIndexOf("/")) [rest, tag] = cutLast(text, ":");
  const [beforeModel, model]: [Part, Present] =
    rest !== MISSING && rest.includes("/") ? cutLast(rest, "/") : [undefined, rest];
  if (beforeModel !== undefined) {
    if (beforeModel === MISSING) {
      namespace = MISSING;
    } else if (beforeModel.includes("/")) {
      [host, namespace] = cutLast(beforeModel, "/");
      if (host !== MISSING) {
        // strings.Cut: the first "://" separates the scheme; a host can then contain no "/".
        const separator = host.indexOf("://");
        if (separator !== -1) {
          scheme = host.slice(0, separator);
          host = host.slice(separator + 3) || MISSING;
        }
      }
    } else {
      namespace = beforeModel;
    }
  }

  const check = (kind: PartKind, part: Part, fallback?: string): string => {
    if (part === MISSING || (part === undefined && fallback === undefined))
      throw new InvalidOllamaName(`the ${kind} is empty`);
    const value = part ?? fallback!;
    const rule = PART_RULES[kind];
    if (value.length > rule.maxLength)
      throw new InvalidOllamaName(`the ${kind} is longer than ${rule.maxLength} characters`);
    if (!rule.pattern.test(value)) {
      throw new InvalidOllamaName(
        `the ${kind} ${JSON.stringify(value)} must start with a letter, digit or _ and contain only ${rule.alphabet}`,
      );
    }
    return value;
  };

  const name: OllamaName = {
    scheme: checkScheme(scheme),
    host: check("host", host, OLLAMA_DEFAULT_HOST),
    namespace: check("namespace", namespace, OLLAMA_DEFAULT_NAMESPACE),
    model: check("model", model === "" ? MISSING : model),
    tag: check("tag", tag, OLLAMA_DEFAULT_TAG),
  };
  // Whether the host is also a URL host ("a:b" is not) matters only when it is contacted:
  // with an endpoint (a mirror) it is just a directory name. registryBaseUrl checks it then.
  return name;
}

function cutLast(text: string, separator: string): [Present, Present] {
  const index = text.lastIndexOf(separator);
  const before = text.slice(0, index);
  const after = text.slice(index + separator.length);
  return [before === "" ? MISSING : before, after === "" ? MISSING : after];
}

function checkScheme(scheme: string | undefined): "http" | "https" {
  // name.go Merge: an empty scheme takes the default, as a missing one does.
  if (scheme === undefined || scheme === "" || scheme === "https") return "https";
  if (scheme === "http") return "http";
  throw new InvalidOllamaName(
    `the scheme ${JSON.stringify(`${scheme}://`)} is not supported (only http:// and https://)`,
  );
}

/** `registry.ollama.ai/library/llama3.2:1b`: the full name, without the scheme. */
export function fullOllamaName(name: OllamaName): string {
  return `${name.host}/${name.namespace}/${name.model}:${name.tag}`;
}

/** `llama3.2:1b`, `user/m:latest`, `host/ns/m:t`: how `ollama list` shows it (name.go DisplayShortest). */
export function shortOllamaName(name: OllamaName): string {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const prefix = !same(name.host, OLLAMA_DEFAULT_HOST)
    ? `${name.host}/${name.namespace}/`
    : !same(name.namespace, OLLAMA_DEFAULT_NAMESPACE)
      ? `${name.namespace}/`
      : "";
  return `${prefix}${name.model}:${name.tag}`;
}

/** The manifest's place in an Ollama models directory: manifests/<host>/<namespace>/<model>/<tag>. */
export function manifestPathSegments(name: OllamaName): [string, string, string, string] {
  return [name.host, name.namespace, name.model, name.tag];
}

/** `{scheme}://{host}` (name.go BaseURL). */
export function registryBaseUrl(name: OllamaName): URL {
  try {
    return new URL(`${name.scheme}://${name.host}`);
  } catch {
    throw new InvalidOllamaName(`the host ${JSON.stringify(name.host)} is not a valid registry host`);
  }
}
