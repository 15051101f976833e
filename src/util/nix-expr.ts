/**
 * Renders JSON-like values as Nix expressions for the paste-ready snippets `prefetch`
 * prints. Strings are escaped so nothing in a repo name or pattern can end the string
 * or start an interpolation.
 */
export type NixValue =
  | string
  | number
  | boolean
  | null
  | readonly NixValue[]
  | { readonly [key: string]: NixValue | undefined };

export function nixString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$\{/g, "\\${").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;

function nixAttrName(name: string): string {
  return IDENTIFIER.test(name) ? name : nixString(name);
}

export function toNix(value: NixValue, indent = ""): string {
  if (value === null) return "null";
  if (typeof value === "string") return nixString(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const items = value as readonly NixValue[];
    return items.length === 0 ? "[ ]" : `[ ${items.map((item) => toNix(item, indent)).join(" ")} ]`;
  }
  const entries = Object.entries(value as Record<string, NixValue | undefined>).filter(([, v]) => v !== undefined) as [
    string,
    NixValue,
  ][];
  if (entries.length === 0) return "{ }";
  const inner = `${indent}  `;
  return `{\n${entries.map(([key, v]) => `${inner}${nixAttrName(key)} = ${toNix(v, inner)};`).join("\n")}\n${indent}}`;
}
