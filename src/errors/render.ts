import { printable } from "../util/printable.js";

/**
 * The one format every error a user reads is printed in (docs/architecture.md, "Errors"):
 * what failed; the fields that identify it (source, repo, revision, file); the error or
 * HTTP status; numbered steps to fix it; where to read more.
 *
 *   error: Failed to download model.safetensors
 *
 *     ┌─ Source:   huggingface
 *     │  Repo:     acme/tiny
 *     │  Revision: main
 *     │  File:     model.safetensors
 *     │
 *     ✗ Error: HTTP 503 Service Unavailable from https://… (gave up after 5 attempts)
 *     │
 *     │ To fix this:
 *     │   1. The server is having trouble: try again later.
 *     │
 *     └─ For more help: docs/authentication.md
 *
 * An error with nothing but its first line is printed as that line alone. Every part goes
 * through printable() (src/util/printable.ts): secrets are redacted, and a remote string's
 * control characters are shown as escapes; a value cannot span lines, so it cannot draw
 * lines of its own into the box. Only the error and the steps to fix may span lines.
 */
export interface FailureContext {
  readonly [field: string]: string | number | undefined;
}

export interface UserErrorDetails {
  /** One line: what failed. "Failed to download model.safetensors". */
  readonly what: string;
  /** Identifying fields, printed in this order: source, repo, revision, file, url... */
  readonly context?: FailureContext;
  /** The error: "HTTP 404 Not Found (EntryNotFound)", "ECONNREFUSED". */
  readonly cause?: string;
  /** What the user can do, one step per entry (a step may span lines). */
  readonly fix?: readonly string[];
  /** Where to read more: a page of the docs ("docs/authentication.md") or a URL. */
  readonly help?: string;
}

export function renderUserError(details: UserErrorDetails): string {
  const blocks: string[][] = [];
  const context = Object.entries(details.context ?? {}).filter(([, value]) => value !== undefined && value !== "");
  if (context.length > 0) {
    const labels = context.map(([key]) => `${label(key)}:`);
    const width = Math.max(...labels.map((text) => text.length));
    blocks.push(
      context.map(
        ([, value], index) =>
          `${index === 0 ? "┌─ " : "│  "}${labels[index]!.padEnd(width)} ${printable(String(value))}`,
      ),
    );
  }
  if (details.cause) {
    const [first, ...rest] = printable(details.cause, { multiline: true }).split("\n");
    blocks.push([`✗ Error: ${first}`, ...rest.map((line) => `│   ${line}`)]);
  }
  if (details.fix && details.fix.length > 0) {
    blocks.push([
      "│ To fix this:",
      ...details.fix.flatMap((step, index) => {
        const [first, ...rest] = printable(step, { multiline: true }).split("\n");
        const number = `${index + 1}. `;
        return [`│   ${number}${first}`, ...rest.map((line) => `│   ${" ".repeat(number.length)}${line}`)];
      }),
    ]);
  }
  if (details.help) blocks.push([`└─ For more help: ${printable(details.help)}`]);

  const body = blocks.flatMap((block, index) => (index === 0 ? block : ["│", ...block]));
  const lines = [
    `error: ${printable(details.what)}`,
    ...(body.length > 0 ? ["", ...body.map((line) => `  ${line}`.trimEnd())] : []),
  ];
  return lines.join("\n");
}

const ACRONYMS: Readonly<Record<string, string>> = { url: "URL", uri: "URI", lfs: "LFS", id: "ID", oid: "OID" };

/** "trackingUri" → "Tracking URI", "repo" → "Repo". */
function label(key: string): string {
  const words = key.split(/(?=[A-Z])/).map((word) => ACRONYMS[word.toLowerCase()] ?? word.toLowerCase());
  const [first = "", ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(" ");
}
