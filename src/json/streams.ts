import { type JsonBuildOptions, ValueBuilder } from "./builder.js";
import { JsonError } from "./errors.js";
import { type JsonEvents, JsonTokenizer, type JsonTokenizerOptions } from "./tokenizer.js";

/**
 * Documents read in pieces, building only parts of them at a time: the elements of a listing
 * one by one (memory independent of how many there are), or the few members of a large object
 * that matter (memory independent of the rest). Chunks are pushed with write(); callbacks run
 * synchronously inside it.
 */

export type JsonStreamOptions = JsonTokenizerOptions & JsonBuildOptions;

/**
 * Without a byte cap on the whole stream, one element or member must still not cost unbounded
 * memory: these apply to each built part unless the caller sets its own.
 */
export const STREAM_PART_DEFAULTS = { maxTextBytes: 16 * 1024 * 1024, maxValues: 1_000_000 } as const;

export interface JsonArrayStreamOptions extends JsonStreamOptions {
  /**
   * Stream the array held by this member of a top-level object (`{"files": [...], "next": …}`)
   * instead of a top-level array; the other members are built and returned by end().
   */
  readonly at?: string;
  onElement(value: unknown, index: number): void;
}

export interface JsonArrayStreamResult {
  readonly elements: number;
  /** The top-level members other than `at` (empty without `at`). */
  readonly rest: Record<string, unknown>;
}

export class JsonArrayStream {
  private readonly tokenizer: JsonTokenizer;
  private readonly router: ArrayRouter;

  constructor(options: JsonArrayStreamOptions) {
    const withDefaults = { ...STREAM_PART_DEFAULTS, ...options };
    this.router = new ArrayRouter(withDefaults, () => this.tokenizer.tokenPosition);
    this.tokenizer = new JsonTokenizer(this.router, withDefaults);
  }

  write(chunk: Uint8Array): void {
    this.tokenizer.write(chunk);
  }

  end(): JsonArrayStreamResult {
    this.tokenizer.end();
    return { elements: this.router.index, rest: this.router.rest };
  }
}

export interface JsonEntryStreamOptions extends JsonStreamOptions {
  /** Called with every key of the top-level object, in order: true builds its value. */
  select(key: string, position: number): boolean;
  onEntry(key: string, value: unknown, position: number): void;
  /**
   * Every other key, decoded: inside members not selected, or anywhere in a document whose top
   * is not an object. Lets a caller notice a key without building what holds it.
   */
  onOtherKey?(key: string, position: number): void;
}

export class JsonEntryStream {
  private readonly tokenizer: JsonTokenizer;

  constructor(options: JsonEntryStreamOptions) {
    const withDefaults = { ...STREAM_PART_DEFAULTS, ...options };
    this.tokenizer = new JsonTokenizer(new EntryRouter(withDefaults, () => this.tokenizer.tokenPosition), withDefaults);
  }

  write(chunk: Uint8Array): void {
    this.tokenizer.write(chunk);
  }

  end(): void {
    this.tokenizer.end();
  }
}

/** Sends the events of selected members to a builder; counts depth through the rest. */
class EntryRouter implements JsonEvents {
  private depth = 0;
  private rootIsObject = false;
  /** The events belong to a selected member's value. */
  private building = false;
  private entryKey = "";
  private entryPosition = 0;
  private readonly builder: ValueBuilder;

  constructor(
    private readonly options: JsonEntryStreamOptions,
    position: () => number,
  ) {
    this.builder = new ValueBuilder(
      options,
      (value) => {
        this.building = false;
        options.onEntry(this.entryKey, value, this.entryPosition);
      },
      position,
    );
  }

  beginObject(): void {
    if (this.building) this.builder.beginObject();
    else if (this.depth++ === 0) this.rootIsObject = true;
  }

  endObject(): void {
    if (this.building) this.builder.endObject();
    else this.depth--;
  }

  beginArray(): void {
    if (this.building) this.builder.beginArray();
    else this.depth++;
  }

  endArray(): void {
    if (this.building) this.builder.endArray();
    else this.depth--;
  }

  key(key: string, position: number): void {
    if (this.building) {
      this.builder.key(key, position);
    } else if (this.depth !== 1 || !this.rootIsObject) {
      this.options.onOtherKey?.(key, position);
    } else if (this.options.select(key, position)) {
      this.building = true;
      this.entryKey = key;
      this.entryPosition = position;
      this.builder.restart();
    }
  }

  string(value: string | undefined): void {
    if (this.building) this.builder.string(value);
  }

  number(raw: string | undefined): void {
    if (this.building) this.builder.number(raw);
  }

  literal(value: boolean | null): void {
    if (this.building) this.builder.literal(value);
  }

  wantsText(): boolean {
    return this.building;
  }
}

/** Builds each element of the streamed array on its own, and (with `at`) the other members. */
class ArrayRouter implements JsonEvents {
  index = 0;
  readonly rest: Record<string, unknown> = {};
  private depth = 0;
  /** Elements of the streamed array are at this depth; 0 while outside it. */
  private elementDepth = 0;
  private expectArray = false;
  private sawArrayKey = false;
  /** The events belong to an element (or, with `at`, another member) being built. */
  private building = false;
  /** The member being built, or undefined for an element. */
  private memberKey: string | undefined;
  private readonly builder: ValueBuilder;

  constructor(
    private readonly options: JsonArrayStreamOptions,
    private readonly position: () => number,
  ) {
    this.builder = new ValueBuilder(options, (value) => this.deliver(value), position);
  }

  beginObject(): void {
    if (this.building) this.builder.beginObject();
    else if (this.depth === 0 && this.options.at !== undefined) this.depth = 1;
    else this.startElement("an object").beginObject();
  }

  beginArray(): void {
    if (this.building) {
      this.builder.beginArray();
    } else if (this.depth === 0 && this.options.at === undefined) {
      this.depth = this.elementDepth = 1;
    } else if (this.expectArray) {
      this.expectArray = false;
      this.depth = this.elementDepth = 2;
    } else {
      this.startElement("an array").beginArray();
    }
  }

  endObject(): void {
    if (this.building) this.builder.endObject();
    else this.depth--;
  }

  endArray(): void {
    if (this.building) {
      this.builder.endArray();
    } else {
      this.depth--;
      this.elementDepth = 0;
    }
  }

  key(key: string, position: number): void {
    if (this.building) {
      this.builder.key(key, position);
    } else if (key === this.options.at) {
      if (this.sawArrayKey) throw new JsonError("JSON_INVALID", `key "${key}" appears twice`, position);
      this.sawArrayKey = this.expectArray = true;
    } else {
      this.memberKey = key;
      this.building = true;
      this.builder.restart();
    }
  }

  string(value: string | undefined): void {
    (this.building ? this.builder : this.startElement("a string")).string(value);
  }

  number(raw: string | undefined): void {
    (this.building ? this.builder : this.startElement("a number")).number(raw);
  }

  literal(value: boolean | null): void {
    (this.building ? this.builder : this.startElement(String(value))).literal(value);
  }

  wantsText(): boolean {
    return true;
  }

  /** A value outside any member being built: an element, or a document of the wrong shape. */
  private startElement(found: string): ValueBuilder {
    if (this.elementDepth === 0 || this.depth !== this.elementDepth) {
      const expected = this.options.at === undefined ? "an array" : `an object whose "${this.options.at}" is an array`;
      throw new JsonError("JSON_INVALID", `expected ${expected}, found ${found}`, this.position());
    }
    this.memberKey = undefined;
    this.building = true;
    this.builder.restart();
    return this.builder;
  }

  private deliver(value: unknown): void {
    this.building = false;
    if (this.memberKey === undefined) {
      this.options.onElement(value, this.index++);
    } else {
      Object.defineProperty(this.rest, this.memberKey, { value, writable: true, enumerable: true, configurable: true });
    }
  }
}
