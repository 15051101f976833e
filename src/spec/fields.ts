import type { SpecDocument } from "../errors/failures.js";
import { SpecFailure } from "../errors/failures.js";

/**
 * The one reader of the JSON the Nix library hands the fetcher: the fetch spec, the
 * validation config and the checks' parameters. It reads an object field by field and
 * fails with a message that names the exact field ("spec.network.timeout.connect") and
 * what it must be. Unknown fields are refused too: a field the fetcher does not know
 * means the Nix library and the fetcher package disagree, and silently ignoring it could
 * change the output. JSON null reads as absent: that is how Nix writes an unset option.
 */
const FETCH_SPEC: SpecDocument = {
  title: "fetch spec",
  fix: [
    "Correct the fetchModel option the field is written from. The Nix library checks it too: if the library wrote a spec this fetcher refuses, the two are from different versions (use the fetcher that comes with the library, the default `fetcher` argument, or update both together).",
  ],
  help: "docs/spec.md",
  exitCode: 1,
};

export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    /** Dotted path of this object, for messages: "spec.source" ("" for a document's root, named by its title). */
    readonly where: string,
    readonly document: SpecDocument = FETCH_SPEC,
  ) {}

  static root(value: unknown, where: string, document: SpecDocument = FETCH_SPEC): FieldReader {
    if (!isPlainObject(value)) throw invalid(where || "the document", "must be a JSON object", value, document);
    return new FieldReader(value, where, document);
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.value[key];
  }

  /** The dotted path of a field of this object, for messages. */
  path(key: string): string {
    return this.where === "" ? key : `${this.where}.${key}`;
  }

  /** The error for a field whose value breaks a rule the caller checks itself. */
  refuse(key: string, requirement: string, value: unknown): SpecFailure {
    return invalid(this.path(key), requirement, value, this.document);
  }

  private child(key: string, value: Readonly<Record<string, unknown>>): FieldReader {
    return new FieldReader(value, this.path(key), this.document);
  }

  string(key: string): string {
    const value = this.take(key);
    if (typeof value !== "string" || value === "") throw this.refuse(key, "must be a non-empty string", value);
    return value;
  }

  optionalString(key: string): string | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (typeof value !== "string" || value === "") throw this.refuse(key, "must be a non-empty string or null", value);
    return value;
  }

  /** Any string, empty included (a description); `fallback` when absent. */
  text(key: string, fallback: string): string {
    const value = this.take(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string") throw this.refuse(key, "must be a string", value);
    return value;
  }

  /** One of a fixed set of strings; `fallback` when absent (required when no fallback is given). */
  choice<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const value = this.take(key);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
      throw this.refuse(key, `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
    }
    return value as T;
  }

  /** One of a fixed set of strings, or null when the JSON says null ("off"); `fallback` when absent. */
  nullableChoice<T extends string>(key: string, choices: readonly T[], fallback: T): T | null {
    if (this.value[key] === null) {
      this.seen.add(key);
      return null;
    }
    return this.choice(key, choices, fallback);
  }

  /** A number >= `min`; `fallback` when absent (required when no fallback is given). */
  number(
    key: string,
    { min, integer = false, fallback }: { min: number; integer?: boolean; fallback?: number },
  ): number {
    const value = this.take(key);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw this.refuse(key, `must be ${integer ? "an integer" : "a number"} >= ${min}`, value);
    }
    return value;
  }

  /** A list of non-empty strings. */
  stringList(key: string): string[] {
    const list = this.optionalStringList(key);
    if (list === null) throw this.refuse(key, "must be a list of non-empty strings", this.value[key]);
    return list;
  }

  optionalStringList(key: string): string[] | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) {
      throw this.refuse(key, "must be a list of non-empty strings or null", value);
    }
    return [...(value as string[])];
  }

  object(key: string): FieldReader {
    const value = this.take(key);
    if (!isPlainObject(value)) throw this.refuse(key, "must be an object", value);
    return this.child(key, value);
  }

  /** An object that may be absent or null: reads as an empty object then. */
  optionalObject(key: string): FieldReader {
    const value = this.take(key);
    if (value === undefined || value === null) return this.child(key, {});
    if (!isPlainObject(value)) throw this.refuse(key, "must be an object or null", value);
    return this.child(key, value);
  }

  /** An object, or null when absent or null (for options where null means "off"). */
  nullableObject(key: string): FieldReader | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (!isPlainObject(value)) throw this.refuse(key, "must be an object or null", value);
    return this.child(key, value);
  }

  /**
   * An object kept as it is, for a reader of its own later (a check's parameters, a map
   * whose keys are data); `{}` when absent or null.
   */
  record(key: string): Readonly<Record<string, unknown>> {
    const value = this.take(key);
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) throw this.refuse(key, "must be an object", value);
    return value;
  }

  /** A list of objects, each read by `read`. */
  objectList<T>(key: string, read: (item: FieldReader) => T): T[] {
    const value = this.take(key);
    if (!Array.isArray(value)) throw this.refuse(key, "must be a list of objects", value);
    return value.map((item, index) => {
      const where = `${this.path(key)}[${index}]`;
      if (!isPlainObject(item)) throw invalid(where, "must be an object", item, this.document);
      const reader = new FieldReader(item, where, this.document);
      const result = read(reader);
      reader.done();
      return result;
    });
  }

  /** true or false; `fallback` when absent (required when no fallback is given). */
  boolean(key: string, fallback?: boolean): boolean {
    const value = this.take(key);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== "boolean") throw this.refuse(key, "must be true or false", value);
    return value;
  }

  /** Refuses keys that no accessor asked for. Call after reading every field. */
  done(): void {
    const unknown = Object.keys(this.value).filter((key) => !this.seen.has(key));
    if (unknown.length === 0) return;
    const name = this.where === "" ? "the document" : this.where;
    if (this.seen.size === 0) throw invalid(name, "takes no parameters", this.value, this.document);
    throw new SpecFailure(
      this.document,
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((key) => this.path(key)).join(", ")} (known: ${[...this.seen].join(", ")})`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "<where> <requirement>, got <value>", in the document's error. */
export function invalid(
  where: string,
  requirement: string,
  value: unknown,
  document: SpecDocument = FETCH_SPEC,
): SpecFailure {
  const shown = value === undefined ? "nothing" : truncate(JSON.stringify(value) ?? String(value));
  return new SpecFailure(document, `${where} ${requirement}, got ${shown}`);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
