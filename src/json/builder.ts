import { JsonError } from "./errors.js";
import type { JsonEvents } from "./tokenizer.js";

/**
 * Turns tokenizer events into values. Objects get `__proto__` as an ordinary own key (as
 * JSON.parse does), never as a prototype; numbers become whatever `number` makes of their source
 * text; and the values built are counted, so a document of a million empty arrays is refused
 * instead of costing a hundred times its size in heap.
 */

export interface JsonBuildOptions {
  /** Makes a number from its source text (default: Number, as JSON.parse). */
  readonly number?: (raw: string) => unknown;
  /** Objects without a prototype, so `"toString" in value` is false (default false). */
  readonly nullPrototype?: boolean;
  /**
   * Which of a repeated key's values an object keeps: the last, as Python's json and JSON.parse
   * do (default), or the first, as some other parsers do.
   */
  readonly duplicateKeys?: "last" | "first";
  /** Told about every key repeated within one object (at its position). */
  readonly onDuplicateKey?: (key: string, position: number) => void;
  /** Values (containers and scalars) one build may create (default: unbounded). */
  readonly maxValues?: number;
}

interface Frame {
  readonly container: Record<string, unknown> | unknown[];
  readonly isArray: boolean;
  key: string | undefined;
  /** The value being read belongs to a repeated key whose first value is kept. */
  dropNext: boolean;
}

export class ValueBuilder implements JsonEvents {
  private readonly frames: Frame[] = [];
  private valuesLeft: number;
  private readonly makeNumber: (raw: string) => unknown;
  private readonly watchRepeats: boolean;

  /**
   * @param deliver receives each complete value built at the top (one per document, or one
   *   per element when a stream hands the builder one element at a time)
   * @param position where the input is, for the error a value budget raises
   */
  constructor(
    private readonly options: JsonBuildOptions,
    private readonly deliver: (value: unknown) => void,
    private readonly position: () => number,
  ) {
    this.valuesLeft = options.maxValues ?? Number.POSITIVE_INFINITY;
    this.makeNumber = options.number ?? Number;
    this.watchRepeats = options.onDuplicateKey !== undefined || options.duplicateKeys === "first";
  }

  /** Starts a new value with a fresh budget (a stream builds one element after another). */
  restart(): void {
    this.frames.length = 0;
    this.valuesLeft = this.options.maxValues ?? Number.POSITIVE_INFINITY;
  }

  beginObject(): void {
    this.count();
    const container = this.options.nullPrototype ? (Object.create(null) as Record<string, unknown>) : {};
    this.frames.push({ container, isArray: false, key: undefined, dropNext: false });
  }

  beginArray(): void {
    this.count();
    this.frames.push({ container: [], isArray: true, key: undefined, dropNext: false });
  }

  endObject(): void {
    this.put(this.frames.pop()!.container);
  }

  endArray(): void {
    this.put(this.frames.pop()!.container);
  }

  key(key: string, position: number): void {
    const frame = this.frames[this.frames.length - 1]!;
    const object = frame.container as Record<string, unknown>;
    // Assignment alone keeps the last value; look for repeats only when someone asks.
    if (this.watchRepeats && Object.hasOwn(object, key)) {
      this.options.onDuplicateKey?.(key, position);
      frame.dropNext = this.options.duplicateKeys === "first";
    }
    frame.key = key;
  }

  string(value: string | undefined): void {
    this.count();
    this.put(value);
  }

  number(raw: string | undefined): void {
    this.count();
    this.put(this.makeNumber(raw!));
  }

  literal(value: boolean | null): void {
    this.count();
    this.put(value);
  }

  wantsText(): boolean {
    return true;
  }

  private count(): void {
    if (--this.valuesLeft < 0) {
      throw new JsonError("JSON_TOO_LARGE", `more than ${this.options.maxValues} values`, this.position());
    }
  }

  private put(value: unknown): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame === undefined) {
      this.deliver(value);
    } else if (frame.isArray) {
      (frame.container as unknown[]).push(value);
    } else if (frame.dropNext) {
      frame.dropNext = false;
    } else if (frame.key === "__proto__") {
      Object.defineProperty(frame.container, "__proto__", {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else {
      (frame.container as Record<string, unknown>)[frame.key!] = value;
    }
  }
}
