import type { Cursor } from "../io/cursor.js";
import { LimitError, MalformedError, ScanError } from "../io/errors.js";
import { IMPORT_MAPPING, NAME_MAPPING } from "./compat-names.js";
import { HIGHEST_PROTOCOL, Op, opName } from "./opcodes.js";
import {
  decodeAsciiString,
  decodeName,
  decodeQuotedString,
  decodeRawUnicodeEscape,
  decodeUnicode,
  checkTextFloat,
  parseTextInt,
} from "./strings.js";
import {
  BUFFER,
  FALSE,
  FLOAT,
  KEPT_ITEMS,
  NONE,
  TRUE,
  depthOf,
  expandedOf,
  isContainer,
  type CallKind,
  type CallValue,
  type ContainerKind,
  type ContainerValue,
  type GlobalValue,
  type PickleValue,
  type StrValue,
} from "./values.js";

/**
 * A symbolic pickle machine: it runs every opcode of protocols 0–5 the way CPython's
 * unpickler does (stack, mark stack, memo, frames), but imports and calls only produce
 * symbolic values. Each import, call, BUILD, persistent id and extension code is reported to
 * the observer at the moment the real unpickler would perform it, so nothing that happens
 * before a later error, or that is popped and never used, goes unseen.
 */

export type PickleEvent =
  | {
      readonly type: "import";
      readonly offset: number;
      readonly opcode: "GLOBAL" | "INST" | "STACK_GLOBAL";
      readonly global: GlobalValue;
      /** Names as written, before the protocol < 3 renaming. */
      readonly rawModule: string;
      readonly rawName: string;
      readonly protocol: number;
    }
  | { readonly type: "call"; readonly offset: number; readonly call: CallValue }
  | { readonly type: "build"; readonly offset: number; readonly target: PickleValue; readonly state: PickleValue }
  | {
      /** APPEND/SETITEM/... on something that is not a plain container: a method call on it. */
      readonly type: "mutate";
      readonly offset: number;
      readonly opcode: string;
      readonly target: PickleValue;
    }
  | { readonly type: "persistent"; readonly offset: number; readonly pid: PickleValue }
  | { readonly type: "ext"; readonly offset: number; readonly code: number }
  | {
      readonly type: "anomaly";
      readonly offset: number;
      readonly severity: "INFO" | "WARN" | "MALICIOUS";
      readonly code: string;
      readonly message: string;
    };

export type PickleObserver = (event: PickleEvent) => void;

export interface MachineLimits {
  readonly maxPickleStack: number;
  readonly maxPickleMemo: number;
  readonly maxNestingDepth: number;
  readonly maxExpandedSize: number;
}

/** Opcodes left for the whole file: stacked pickles and archive members draw on one budget. */
export class OpcodeBudget {
  constructor(public remaining: number) {}
}

export interface PickleRunResult {
  readonly start: number;
  /** Just after STOP, or where the error was raised. */
  readonly end: number;
  readonly completed: boolean;
  readonly value: PickleValue | undefined;
  readonly error: ScanError | undefined;
  readonly opcodes: number;
  /** The protocol in force at the end (0 when no PROTO was seen). */
  readonly protocol: number;
  readonly sawProto: boolean;
  /** The first opcode was a valid PROTO: the strongest sign that bytes are meant as a pickle. */
  readonly startsWithProto: boolean;
}

/** CPython's pickler never emits DUP; a pile of them is the expansion attack. */
const DUP_ALARM = 1000;
const MAX_LINE = 64 * 1024;
const MAX_KEPT_STRING = 4096;
const KEPT_STRING_PREFIX = 256;
const MAX_KEPT_BYTES = 1024 * 1024;
const MAX_KEPT_BYTES_TOTAL = 32 * 1024 * 1024;
/** BININT1 values, shared: pickles are full of small ints and each BigInt is an allocation. */
const SMALL_INTS: readonly PickleValue[] = Array.from({ length: 256 }, (_, i) => ({ kind: "int", value: BigInt(i) }));

export function runPickle(
  cursor: Cursor,
  observer: PickleObserver,
  limits: MachineLimits,
  budget: OpcodeBudget,
): PickleRunResult {
  const machine = new Machine(cursor, observer, limits, budget);
  return machine.run();
}

class Machine {
  private stack: PickleValue[] = [];
  private readonly marks: PickleValue[][] = [];
  private stackTotal = 0;
  /** Memo indices are usually small and dense: an array costs 8 bytes an entry, a Map ~40. */
  private readonly memoDense: (PickleValue | undefined)[] = [];
  private readonly memoSparse = new Map<number | string, PickleValue>();
  private memoCount = 0;
  private protocol = 0;
  private sawProto = false;
  private startsWithProto = false;
  private opcodes = 0;
  private dups = 0;
  private keptBytes = 0;
  /** End offset of the current frame, or -1 outside frames. */
  private frameEnd = -1;
  private readonly start: number;

  constructor(
    private readonly cursor: Cursor,
    private readonly emit: PickleObserver,
    private readonly limits: MachineLimits,
    private readonly budget: OpcodeBudget,
  ) {
    this.start = cursor.pos;
  }

  run(): PickleRunResult {
    let value: PickleValue | undefined;
    let error: ScanError | undefined;
    let completed = false;
    try {
      value = this.loop();
      completed = true;
    } catch (caught) {
      if (caught instanceof ScanError) error = caught;
      else if (caught instanceof RangeError) {
        // An engine limit (string or array length) reached before one of ours: treat it as one.
        error = new LimitError("engine", `pickle exhausted an engine limit: ${caught.message}`, this.cursor.pos);
      } else throw caught;
    }
    return {
      start: this.start,
      end: this.cursor.pos,
      completed,
      value,
      error,
      opcodes: this.opcodes,
      protocol: this.protocol,
      sawProto: this.sawProto,
      startsWithProto: this.startsWithProto,
    };
  }

  private loop(): PickleValue {
    const c = this.cursor;
    for (;;) {
      if (this.frameEnd >= 0 && c.pos >= this.frameEnd) this.frameEnd = -1;
      const at = c.pos;
      if (c.atEnd()) throw new MalformedError("pickle data was truncated (no STOP opcode)", at);
      if (--this.budget.remaining < 0) {
        throw new LimitError("maxPickleOpcodes", "more pickle opcodes than maxPickleOpcodes", at);
      }
      this.opcodes++;
      const code = c.u8();
      if (code === Op.STOP) {
        if (this.frameEnd >= 0) this.checkFrame(at, code);
        return this.pop(at);
      }
      this.step(code, at);
      if (this.frameEnd >= 0) this.checkFrame(at, code);
    }
  }

  /**
   * An opcode whose bytes run past the end of its frame reads differently in CPython's C and
   * Python unpicklers (and hides bytes from frame-aware scanners): never produced by the
   * pickler, so it is treated as an attack.
   */
  private checkFrame(at: number, code: number): void {
    if (this.frameEnd >= 0 && at < this.frameEnd && this.cursor.pos > this.frameEnd) {
      this.emit({
        type: "anomaly",
        offset: at,
        severity: "MALICIOUS",
        code: "FRAME_VIOLATION",
        message: `${opName(code)} at ${at} runs past the end of its frame (${this.frameEnd})`,
      });
    }
  }

  private step(code: number, at: number): void {
    const c = this.cursor;
    switch (code) {
      case Op.MARK:
        if (this.marks.length >= this.limits.maxNestingDepth) {
          throw new LimitError("maxNestingDepth", `MARK nesting deeper than ${this.limits.maxNestingDepth}`, at);
        }
        this.marks.push(this.stack);
        this.stack = [];
        return;
      case Op.POP:
        if (this.stack.length > 0) this.pop(at);
        else this.popMark(at); // CPython: POP on an empty frame discards the mark
        return;
      case Op.POP_MARK:
        this.popMark(at);
        return;
      case Op.DUP: {
        const top = this.top(at);
        if (++this.dups === DUP_ALARM) {
          this.emit({
            type: "anomaly",
            offset: at,
            severity: "MALICIOUS",
            code: "PICKLE_EXPANSION",
            message: `${DUP_ALARM} DUP opcodes: CPython's pickler never writes DUP; this is an expansion attack`,
          });
        }
        this.push(top, at);
        return;
      }
      case Op.FLOAT:
        checkTextFloat(c.line(MAX_LINE, "FLOAT"), at);
        this.push(FLOAT, at);
        return;
      case Op.INT: {
        const line = c.line(MAX_LINE, "INT");
        if (line.length === 2 && line[0] === 0x30 && (line[1] === 0x30 || line[1] === 0x31)) {
          this.push(line[1] === 0x31 ? TRUE : FALSE, at);
        } else {
          this.push({ kind: "int", value: parseTextInt(line, at, { base0: true }) }, at);
        }
        return;
      }
      case Op.BININT:
        this.push({ kind: "int", value: BigInt(c.i32("BININT")) }, at);
        return;
      case Op.BININT1:
        this.push(SMALL_INTS[c.u8("BININT1")]!, at);
        return;
      case Op.BININT2:
        this.push({ kind: "int", value: BigInt(c.u16("BININT2")) }, at);
        return;
      case Op.LONG: {
        const line = c.line(MAX_LINE, "LONG");
        this.push({ kind: "int", value: parseTextInt(line, at, { base0: true, long: true }) }, at);
        return;
      }
      case Op.LONG1:
        this.pushLong(c.u8("LONG1"), at);
        return;
      case Op.LONG4: {
        const n = c.i32("LONG4");
        if (n < 0) throw new MalformedError("LONG4 byte count < 0", at);
        this.pushLong(n, at);
        return;
      }
      case Op.BINFLOAT:
        c.skip(8, "BINFLOAT");
        this.push(FLOAT, at);
        return;
      case Op.NONE:
        this.push(NONE, at);
        return;
      case Op.NEWTRUE:
        this.push(TRUE, at);
        return;
      case Op.NEWFALSE:
        this.push(FALSE, at);
        return;
      case Op.STRING:
        this.push(this.str(decodeQuotedString(c.line(MAX_LINE, "STRING"), at)), at);
        return;
      case Op.BINSTRING: {
        const n = c.i32("BINSTRING");
        if (n < 0) throw new MalformedError("BINSTRING pickle has negative byte count", at);
        this.push(
          this.readString(n, (b) => decodeAsciiString(b, at)),
          at,
        );
        return;
      }
      case Op.SHORT_BINSTRING:
        this.push(
          this.readString(c.u8(), (b) => decodeAsciiString(b, at)),
          at,
        );
        return;
      case Op.UNICODE:
        this.push(this.str(decodeRawUnicodeEscape(c.line(MAX_LINE, "UNICODE"), at)), at);
        return;
      case Op.SHORT_BINUNICODE:
        this.push(this.readString(c.u8(), decodeUnicode), at);
        return;
      case Op.BINUNICODE:
        this.push(this.readString(c.u32("BINUNICODE"), decodeUnicode), at);
        return;
      case Op.BINUNICODE8:
        this.push(this.readString(c.u64n("BINUNICODE8"), decodeUnicode), at);
        return;
      case Op.SHORT_BINBYTES:
        this.push(this.readBytes(c.u8()), at);
        return;
      case Op.BINBYTES:
        this.push(this.readBytes(c.u32("BINBYTES")), at);
        return;
      case Op.BINBYTES8:
      case Op.BYTEARRAY8:
        this.push(this.readBytes(c.u64n(opName(code))), at);
        return;
      case Op.NEXT_BUFFER:
        this.emit({
          type: "anomaly",
          offset: at,
          severity: "WARN",
          code: "OUT_OF_BAND_BUFFER",
          message: "NEXT_BUFFER: the pickle refers to out-of-band data supplied by the loader",
        });
        this.push(BUFFER, at);
        return;
      case Op.READONLY_BUFFER:
        this.top(at);
        return;
      case Op.EMPTY_TUPLE:
        this.push(this.container("tuple", []), at);
        return;
      case Op.TUPLE1:
      case Op.TUPLE2:
      case Op.TUPLE3: {
        const n = code - Op.TUPLE1 + 1;
        const items: PickleValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(this.pop(at));
        this.push(this.container("tuple", items), at);
        return;
      }
      case Op.TUPLE:
        this.push(this.container("tuple", this.popMark(at)), at);
        return;
      case Op.EMPTY_LIST:
        this.push(this.container("list", []), at);
        return;
      case Op.LIST:
        this.push(this.container("list", this.popMark(at)), at);
        return;
      case Op.EMPTY_DICT:
        this.push(this.container("dict", []), at);
        return;
      case Op.DICT: {
        const items = this.popMark(at);
        if (items.length % 2 !== 0) throw new MalformedError("odd number of items for DICT", at);
        this.push(this.container("dict", items), at);
        return;
      }
      case Op.EMPTY_SET:
        this.push(this.container("set", []), at);
        return;
      case Op.FROZENSET:
        this.push(this.container("frozenset", this.popMark(at)), at);
        return;
      case Op.APPEND: {
        const value = this.pop(at);
        this.addTo(this.top(at), [value], "APPEND", at);
        return;
      }
      case Op.APPENDS: {
        const items = this.popMark(at);
        this.addTo(this.top(at), items, "APPENDS", at);
        return;
      }
      case Op.SETITEM: {
        const value = this.pop(at);
        const key = this.pop(at);
        this.addTo(this.top(at), [key, value], "SETITEM", at);
        return;
      }
      case Op.SETITEMS: {
        const items = this.popMark(at);
        if (items.length % 2 !== 0) throw new MalformedError("odd number of items for SETITEMS", at);
        this.addTo(this.top(at), items, "SETITEMS", at);
        return;
      }
      case Op.ADDITEMS: {
        const items = this.popMark(at);
        this.addTo(this.top(at), items, "ADDITEMS", at);
        return;
      }
      case Op.GLOBAL: {
        const rawModule = decodeName(c.line(MAX_LINE, "GLOBAL module"), at);
        const rawName = decodeName(c.line(MAX_LINE, "GLOBAL name"), at);
        this.push(this.importGlobal("GLOBAL", rawModule, rawName, false, at), at);
        return;
      }
      case Op.STACK_GLOBAL: {
        const name = this.pop(at);
        const module = this.pop(at);
        const literal = (v: PickleValue): v is StrValue => v.kind === "str" && !v.truncated;
        if (literal(module) && literal(name)) {
          this.push(this.importGlobal("STACK_GLOBAL", module.value, name.value, false, at), at);
          return;
        }
        if (!isComputed(module) && !isComputed(name)) {
          throw new MalformedError("STACK_GLOBAL requires str operands", at);
        }
        // Operands that are the results of imports or calls may be strings at run time:
        // the laundering trick (modelscan#85). Their value is unknowable statically.
        this.push(this.importGlobal("STACK_GLOBAL", "?", "?", true, at), at);
        return;
      }
      case Op.INST: {
        const rawModule = decodeName(c.line(MAX_LINE, "INST module"), at);
        const rawName = decodeName(c.line(MAX_LINE, "INST name"), at);
        const args = this.popMark(at);
        const klass = this.importGlobal("INST", rawModule, rawName, false, at);
        this.push(this.call(klass, args, "INST", at), at);
        return;
      }
      case Op.OBJ: {
        const args = this.popMark(at);
        const klass = args.shift();
        if (klass === undefined) throw new MalformedError("OBJ without a class", at);
        this.push(this.call(klass, args, "OBJ", at), at);
        return;
      }
      case Op.NEWOBJ: {
        const args = this.pop(at);
        const klass = this.pop(at);
        this.push(this.call(klass, [args], "NEWOBJ", at), at);
        return;
      }
      case Op.NEWOBJ_EX: {
        const kwargs = this.pop(at);
        const args = this.pop(at);
        const klass = this.pop(at);
        this.push(this.call(klass, [args, kwargs], "NEWOBJ_EX", at), at);
        return;
      }
      case Op.REDUCE: {
        const args = this.pop(at);
        const callee = this.pop(at);
        const items = isContainer(args) && args.kind === "tuple" ? args.items : [args];
        this.push(this.call(callee, items, "REDUCE", at), at);
        return;
      }
      case Op.BUILD: {
        const state = this.pop(at);
        const target = this.top(at);
        this.emit({ type: "build", offset: at, target, state });
        if (
          target.kind !== "call" &&
          target.kind !== "global" &&
          target.kind !== "persistent" &&
          target.kind !== "ext"
        ) {
          throw new MalformedError(`BUILD on a ${target.kind}, which has no state to set`, at);
        }
        return;
      }
      case Op.PERSID: {
        const line = c.line(MAX_LINE, "PERSID");
        const pid = this.str(decodeAsciiString(line, at));
        this.emit({ type: "persistent", offset: at, pid });
        this.push({ kind: "persistent", pid, offset: at }, at);
        return;
      }
      case Op.BINPERSID: {
        const pid = this.pop(at);
        this.emit({ type: "persistent", offset: at, pid });
        this.push({ kind: "persistent", pid, offset: at }, at);
        return;
      }
      case Op.EXT1:
      case Op.EXT2:
      case Op.EXT4: {
        const ext = code === Op.EXT1 ? c.u8() : code === Op.EXT2 ? c.u16() : c.i32();
        this.emit({ type: "ext", offset: at, code: ext });
        this.push({ kind: "ext", code: ext }, at);
        return;
      }
      case Op.GET:
        this.push(this.memoGet(this.textIndex(c.line(MAX_LINE, "GET"), at), at), at);
        return;
      case Op.BINGET:
        this.push(this.memoGet(c.u8(), at), at);
        return;
      case Op.LONG_BINGET:
        this.push(this.memoGet(c.u32("LONG_BINGET"), at), at);
        return;
      case Op.PUT: {
        const index = this.textIndex(c.line(MAX_LINE, "PUT"), at);
        if (typeof index === "number" && index < 0) throw new MalformedError("negative PUT argument", at);
        this.memoPut(index, at);
        return;
      }
      case Op.BINPUT:
        this.memoPut(c.u8(), at);
        return;
      case Op.LONG_BINPUT:
        this.memoPut(c.u32("LONG_BINPUT"), at);
        return;
      case Op.MEMOIZE:
        // CPython: memo[len(memo)] — which may overwrite an entry a PUT wrote out of order.
        this.memoPut(this.memoCount, at);
        return;
      case Op.PROTO: {
        const proto = c.u8("PROTO");
        if (proto > HIGHEST_PROTOCOL) throw new MalformedError(`unsupported pickle protocol: ${proto}`, at);
        if (at !== this.start || this.sawProto) {
          this.emit({
            type: "anomaly",
            offset: at,
            severity: "WARN",
            code: "PROTO_MISPLACED",
            message: `PROTO ${proto} at ${at} is not the first opcode of its pickle; the pickler never writes that`,
          });
        }
        if (at === this.start) this.startsWithProto = true;
        this.sawProto = true;
        this.protocol = proto;
        return;
      }
      case Op.FRAME: {
        const length = c.u64n("FRAME");
        if (this.frameEnd >= 0 && c.pos < this.frameEnd) {
          this.emit({
            type: "anomaly",
            offset: at,
            severity: "MALICIOUS",
            code: "FRAME_VIOLATION",
            message: `FRAME at ${at} opens a new frame before the current one ends at ${this.frameEnd}`,
          });
        }
        c.need(length, "FRAME contents");
        this.frameEnd = c.pos + length;
        return;
      }
      default:
        throw new MalformedError(`invalid pickle opcode ${opName(code)}`, at);
    }
  }

  // --- stack -------------------------------------------------------------------------------

  private push(value: PickleValue, at: number): void {
    if (++this.stackTotal > this.limits.maxPickleStack) {
      throw new LimitError("maxPickleStack", `pickle stack deeper than ${this.limits.maxPickleStack}`, at);
    }
    this.stack.push(value);
  }

  private pop(at: number): PickleValue {
    const value = this.stack.pop();
    if (value === undefined) throw new MalformedError("unpickling stack underflow", at);
    this.stackTotal--;
    return value;
  }

  private top(at: number): PickleValue {
    const value = this.stack[this.stack.length - 1];
    if (value === undefined) throw new MalformedError("unpickling stack underflow", at);
    return value;
  }

  private popMark(at: number): PickleValue[] {
    const items = this.stack;
    const previous = this.marks.pop();
    if (previous === undefined) throw new MalformedError("could not find MARK", at);
    this.stack = previous;
    this.stackTotal -= items.length;
    return items;
  }

  // --- memo --------------------------------------------------------------------------------

  private textIndex(line: Uint8Array, at: number): number | string {
    const value = parseTextInt(line, at);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : `n${value}`;
  }

  private memoGet(index: number | string, at: number): PickleValue {
    const value = isArrayIndex(index) ? this.memoDense[index] : this.memoSparse.get(index);
    if (value === undefined) throw new MalformedError(`memo value not found at index ${String(index)}`, at);
    return value;
  }

  private memoPut(index: number | string, at: number): void {
    const value = this.top(at);
    const dense = isArrayIndex(index);
    const exists = dense ? this.memoDense[index] !== undefined : this.memoSparse.has(index);
    if (!exists) {
      if (this.memoCount >= this.limits.maxPickleMemo) {
        throw new LimitError("maxPickleMemo", `more than ${this.limits.maxPickleMemo} memo entries`, at);
      }
      this.memoCount++;
    }
    if (dense) this.memoDense[index] = value;
    else this.memoSparse.set(index, value);
  }

  // --- values ------------------------------------------------------------------------------

  private str(value: string): StrValue {
    return value.length > MAX_KEPT_STRING
      ? { kind: "str", value: value.slice(0, KEPT_STRING_PREFIX), truncated: true }
      : { kind: "str", value, truncated: false };
  }

  /** Long strings are skipped, not decoded: only a prefix is kept for messages. */
  private readString(length: number, decode: (bytes: Uint8Array) => string): StrValue {
    const c = this.cursor;
    if (length <= MAX_KEPT_STRING) return { kind: "str", value: decode(c.bytes(length, "string")), truncated: false };
    c.need(length, "string");
    const prefix = decode(c.peek(KEPT_STRING_PREFIX));
    c.skip(length);
    return { kind: "str", value: prefix, truncated: true };
  }

  private readBytes(length: number): PickleValue {
    const c = this.cursor;
    c.need(length, "bytes");
    if (length <= MAX_KEPT_BYTES && this.keptBytes + length <= MAX_KEPT_BYTES_TOTAL) {
      this.keptBytes += length;
      return { kind: "bytes", length, data: c.bytes(length).slice() };
    }
    c.skip(length);
    return { kind: "bytes", length, data: undefined };
  }

  private pushLong(length: number, at: number): void {
    const bytes = this.cursor.bytes(length, "LONG");
    if (length > 64) {
      this.push({ kind: "int", value: undefined }, at);
      return;
    }
    let value = 0n;
    for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
    if (length > 0 && bytes[length - 1]! >= 0x80) value -= 1n << BigInt(8 * length);
    this.push({ kind: "int", value }, at);
  }

  private container(kind: ContainerKind, items: PickleValue[]): ContainerValue {
    const value: ContainerValue = { kind, items: [], count: 0, depth: 1, expanded: 1 };
    this.fill(value, items, -1);
    return value;
  }

  private fill(target: ContainerValue, items: readonly PickleValue[], at: number): void {
    for (const item of items) {
      if (target.items.length < KEPT_ITEMS) target.items.push(item);
      target.count++;
      const depth = depthOf(item) + 1;
      if (depth > target.depth) target.depth = depth;
      target.expanded = Math.min(Number.MAX_SAFE_INTEGER, target.expanded + expandedOf(item));
    }
    this.checkShape(target.depth, target.expanded, at);
  }

  private checkShape(depth: number, expanded: number, at: number): void {
    if (depth > this.limits.maxNestingDepth) {
      throw new LimitError("maxNestingDepth", `containers nested deeper than ${this.limits.maxNestingDepth}`, at);
    }
    if (expanded > this.limits.maxExpandedSize) {
      this.emit({
        type: "anomaly",
        offset: at,
        severity: "MALICIOUS",
        code: "PICKLE_EXPANSION",
        message: `shared references expand to more than ${this.limits.maxExpandedSize} objects (billion-laughs shape)`,
      });
      throw new LimitError("maxExpandedSize", "expansion limit reached", at);
    }
  }

  private addTo(target: PickleValue, items: readonly PickleValue[], opcode: string, at: number): void {
    if (isContainer(target)) {
      const fits =
        (target.kind === "list" && (opcode === "APPEND" || opcode === "APPENDS")) ||
        (target.kind === "dict" && (opcode === "SETITEM" || opcode === "SETITEMS")) ||
        (target.kind === "set" && opcode === "ADDITEMS");
      if (!fits) throw new MalformedError(`${opcode} on a ${target.kind}`, at);
      this.fill(target, items, at);
      return;
    }
    if (target.kind === "call" || target.kind === "global" || target.kind === "persistent" || target.kind === "ext") {
      // The real unpickler calls .append/.extend/__setitem__/.add on whatever object this is.
      this.emit({ type: "mutate", offset: at, opcode, target });
      if (target.kind === "call") {
        for (const item of items) {
          const depth = depthOf(item) + 1;
          if (depth > target.depth) target.depth = depth;
          target.expanded = Math.min(Number.MAX_SAFE_INTEGER, target.expanded + expandedOf(item));
        }
        this.checkShape(target.depth, target.expanded, at);
      }
      return;
    }
    throw new MalformedError(`${opcode} on a ${target.kind}`, at);
  }

  private importGlobal(
    opcode: "GLOBAL" | "INST" | "STACK_GLOBAL",
    rawModule: string,
    rawName: string,
    computed: boolean,
    at: number,
  ): GlobalValue {
    const [module, name] = computed ? [rawModule, rawName] : renameForProtocol(rawModule, rawName, this.protocol);
    const global: GlobalValue = { kind: "global", module, name, computed, offset: at };
    this.emit({ type: "import", offset: at, opcode, global, rawModule, rawName, protocol: this.protocol });
    return global;
  }

  private call(callee: PickleValue, args: readonly PickleValue[], via: CallKind, at: number): CallValue {
    let depth = 1;
    let expanded = 1;
    for (const arg of args.slice(0, KEPT_ITEMS)) {
      depth = Math.max(depth, depthOf(arg) + 1);
      expanded = Math.min(Number.MAX_SAFE_INTEGER, expanded + expandedOf(arg));
    }
    const call: CallValue = { kind: "call", callee, args: args.slice(0, KEPT_ITEMS), via, offset: at, depth, expanded };
    this.emit({ type: "call", offset: at, call });
    this.checkShape(depth, expanded, at);
    return call;
  }
}

function isArrayIndex(index: number | string): index is number {
  return typeof index === "number" && index >= 0 && index < 0x7fffffff;
}

function isComputed(value: PickleValue): boolean {
  return value.kind === "global" || value.kind === "call" || value.kind === "persistent" || value.kind === "ext";
}

/** CPython's find_class applies the Python 2 name mapping while the protocol is below 3. */
export function renameForProtocol(module: string, name: string, protocol: number): [string, string] {
  if (protocol >= 3) return [module, name];
  const pair = NAME_MAPPING.get(`${module}\0${name}`);
  if (pair) return [pair[0], pair[1]];
  return [IMPORT_MAPPING.get(module) ?? module, name];
}
