import { quote } from "../text.js";

/**
 * Symbolic values on the emulated pickle stack. Nothing is ever executed: an import becomes a
 * GlobalValue, a call a CallValue. A StrValue can only come from a literal opcode, which is
 * what lets STACK_GLOBAL tell literal operands from laundered ones.
 *
 * Containers keep only their first KEPT_ITEMS items (enough to describe a call's arguments or a
 * torch persistent id); the rest are counted. That keeps memory proportional to the stack and
 * memo, not to the data in the pickle.
 */
export const KEPT_ITEMS = 32;

export interface NoneValue {
  readonly kind: "none";
}
export interface BoolValue {
  readonly kind: "bool";
  readonly value: boolean;
}
/** `value` is undefined when the integer was too long to keep. */
export interface IntValue {
  readonly kind: "int";
  readonly value: bigint | undefined;
}
export interface FloatValue {
  readonly kind: "float";
}
export interface StrValue {
  readonly kind: "str";
  readonly value: string;
  /** The string was longer than kept; `value` is a prefix. */
  readonly truncated: boolean;
}
export interface BytesValue {
  readonly kind: "bytes";
  readonly length: number;
  /** The bytes themselves when small enough to keep (for nested-pickle scanning). */
  readonly data: Uint8Array | undefined;
}
export type ContainerKind = "tuple" | "list" | "dict" | "set" | "frozenset";
export interface ContainerValue {
  readonly kind: ContainerKind;
  /** For dicts: key, value, key, value... */
  readonly items: PickleValue[];
  count: number;
  /** Nesting depth through kept and dropped children alike. */
  depth: number;
  /** Size counting every shared reference again (saturates). */
  expanded: number;
}
export interface GlobalValue {
  readonly kind: "global";
  readonly module: string;
  readonly name: string;
  /** Operands were not literal strings (laundered STACK_GLOBAL); module/name are unknown. */
  readonly computed: boolean;
  readonly offset: number;
}
export type CallKind = "REDUCE" | "OBJ" | "INST" | "NEWOBJ" | "NEWOBJ_EX";
export interface CallValue {
  readonly kind: "call";
  readonly callee: PickleValue;
  readonly args: readonly PickleValue[];
  readonly via: CallKind;
  readonly offset: number;
  depth: number;
  expanded: number;
}
export interface PersistentValue {
  readonly kind: "persistent";
  readonly pid: PickleValue;
  readonly offset: number;
}
export interface ExtValue {
  readonly kind: "ext";
  readonly code: number;
}
export interface BufferValue {
  readonly kind: "buffer";
}

export type PickleValue =
  | NoneValue
  | BoolValue
  | IntValue
  | FloatValue
  | StrValue
  | BytesValue
  | ContainerValue
  | GlobalValue
  | CallValue
  | PersistentValue
  | ExtValue
  | BufferValue;

export const NONE: NoneValue = { kind: "none" };
export const TRUE: BoolValue = { kind: "bool", value: true };
export const FALSE: BoolValue = { kind: "bool", value: false };
export const FLOAT: FloatValue = { kind: "float" };
export const BUFFER: BufferValue = { kind: "buffer" };

export function isContainer(value: PickleValue): value is ContainerValue {
  return (
    value.kind === "tuple" ||
    value.kind === "list" ||
    value.kind === "dict" ||
    value.kind === "set" ||
    value.kind === "frozenset"
  );
}

export function depthOf(value: PickleValue): number {
  return isContainer(value) || value.kind === "call" ? value.depth : 0;
}

export function expandedOf(value: PickleValue): number {
  return isContainer(value) || value.kind === "call" ? value.expanded : 1;
}

export function qualifiedName(value: GlobalValue): string {
  return value.computed ? "<computed>" : `${value.module}.${value.name}`;
}

/** A short, bounded, escaped rendering for messages. Never recurses more than `depth` levels. */
export function describe(value: PickleValue, depth = 3): string {
  const out = render(value, depth);
  return out.length > 200 ? `${out.slice(0, 199)}…` : out;
}

function render(value: PickleValue, depth: number): string {
  switch (value.kind) {
    case "none":
      return "None";
    case "bool":
      return value.value ? "True" : "False";
    case "int":
      return value.value === undefined ? "<long int>" : value.value.toString();
    case "float":
      return "<float>";
    case "str":
      return quote(value.value, 60) + (value.truncated ? "…" : "");
    case "bytes":
      return `<${value.length} bytes>`;
    case "global":
      return value.computed ? "<computed global>" : `${value.module}.${value.name}`;
    case "call":
      return depth <= 0
        ? `${render(value.callee, 0)}(…)`
        : `${render(value.callee, depth - 1)}(${renderItems(value.args, depth - 1)})`;
    case "persistent":
      return "<persistent id>";
    case "ext":
      return `<extension ${value.code}>`;
    case "buffer":
      return "<out-of-band buffer>";
    default: {
      if (depth <= 0) return value.kind === "tuple" ? "(…)" : value.kind === "list" ? "[…]" : "{…}";
      const body = renderItems(value.items, depth - 1) + (value.count > value.items.length ? ", …" : "");
      if (value.kind === "tuple") return `(${body}${value.count === 1 ? "," : ""})`;
      if (value.kind === "list") return `[${body}]`;
      return `${value.kind}{${body}}`;
    }
  }
}

function renderItems(items: readonly PickleValue[], depth: number): string {
  return (
    items
      .slice(0, 4)
      .map((item) => render(item, depth))
      .join(", ") + (items.length > 4 ? ", …" : "")
  );
}
