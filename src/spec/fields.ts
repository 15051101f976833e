import { SpecFailure } from "../errors/failures.js";
import { UserError } from "../errors/user-error.js";

/**
 * Reads a JSON object field by field and fails with a message that names the exact
 * field ("spec.network.timeout.connect") and what it should be. Unknown fields are
 * refused too: a field this fetcher does not know means the Nix library and the
 * fetcher package disagree, and silently ignoring it could change the output.
 */
export class FieldReader {
  private readonly seen = new Set<string>();

  constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    /** Dotted path of this object, for messages: "spec.source". */
    readonly where: string,
  ) {}

  static root(value: unknown, where: string): FieldReader {
    if (!isPlainObject(value)) throw invalid(where, "must be a JSON object", value);
    return new FieldReader(value, where);
  }

  private take(key: string): unknown {
    this.seen.add(key);
    return this.value[key];
  }

  private path(key: string): string {
    return `${this.where}.${key}`;
  }

  string(key: string): string {
    const value = this.take(key);
    if (typeof value !== "string" || value === "") throw invalid(this.path(key), "must be a non-empty string", value);
    return value;
  }

  optionalString(key: string): string | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (typeof value !== "string" || value === "")
      throw invalid(this.path(key), "must be a non-empty string or null", value);
    return value;
  }

  /** One of a fixed set of strings; `fallback` when absent (required when no fallback is given). */
  choice<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const value = this.take(key);
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
      throw invalid(this.path(key), `must be one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
    }
    return value as T;
  }

  number(
    key: string,
    { min, integer = false, fallback }: { min: number; integer?: boolean; fallback: number },
  ): number {
    const value = this.take(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw invalid(this.path(key), `must be ${integer ? "an integer" : "a number"} >= ${min}`, value);
    }
    return value;
  }

  optionalStringList(key: string): string[] | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || item === "")) {
      throw invalid(this.path(key), "must be a list of non-empty strings or null", value);
    }
    return [...(value as string[])];
  }

  object(key: string): FieldReader {
    const value = this.take(key);
    if (!isPlainObject(value)) throw invalid(this.path(key), "must be an object", value);
    return new FieldReader(value, this.path(key));
  }

  /** An object that may be absent or null: reads as an empty object then. */
  optionalObject(key: string): FieldReader {
    const value = this.take(key);
    if (value === undefined || value === null) return new FieldReader({}, this.path(key));
    if (!isPlainObject(value)) throw invalid(this.path(key), "must be an object or null", value);
    return new FieldReader(value, this.path(key));
  }

  /** An object, or null when absent or null (for options where null means "off"). */
  nullableObject(key: string): FieldReader | null {
    const value = this.take(key);
    if (value === undefined || value === null) return null;
    if (!isPlainObject(value)) throw invalid(this.path(key), "must be an object or null", value);
    return new FieldReader(value, this.path(key));
  }

  /** A list of objects, each read by `read`. */
  objectList<T>(key: string, read: (item: FieldReader) => T): T[] {
    const value = this.take(key);
    if (!Array.isArray(value)) throw invalid(this.path(key), "must be a list of objects", value);
    return value.map((item, index) => {
      const where = `${this.path(key)}[${index}]`;
      if (!isPlainObject(item)) throw invalid(where, "must be an object", item);
      const reader = new FieldReader(item, where);
      const result = read(reader);
      reader.done();
      return result;
    });
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.take(key);
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") throw invalid(this.path(key), "must be true or false", value);
    return value;
  }

  /** Refuses keys that no accessor asked for. Call after reading every field. */
  done(): void {
    const unknown = Object.keys(this.value).filter((key) => !this.seen.has(key));
    if (unknown.length > 0) {
      throw new UserError(
        {
          what: `Invalid fetch spec: unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `${this.where}.${k}`).join(", ")}`,
          fix: [
            "The spec is written by the Nix library; an unknown field means the library and the fetcher package are from different versions.",
            "Use the fetcher that comes with the library (the default `fetcher` argument), or update both together.",
          ],
        },
        { code: "NMR_BAD_SPEC" },
      );
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function invalid(where: string, requirement: string, value: unknown): SpecFailure {
  const shown = value === undefined ? "nothing" : truncate(JSON.stringify(value) ?? String(value));
  return new SpecFailure(where, requirement, shown);
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
