import type { ScanContext } from "../context.js";
import type { Reporter } from "../findings.js";
import { Cursor } from "../io/cursor.js";
import { LimitError } from "../io/errors.js";
import { BufferAccess, type RandomAccess } from "../io/random-access.js";
import { classifyImport, type ImportVerdict, type PickleContext } from "../policy/classify.js";
import { NESTED_LOADER_NAMES } from "../policy/denylist.js";
import { quote } from "../text.js";
import type { Severity } from "../types.js";
import { runPickle, type PickleEvent, type PickleRunResult } from "./machine.js";
import { describe, qualifiedName, type CallValue, type GlobalValue, type PickleValue } from "./values.js";

/**
 * Runs the pickle machine over one pickle or a stack of them and turns its events into
 * findings with the import policy.
 *
 * "definitive" readings are known to be pickles (a zip's data.pkl, an object .npy); every error
 * is a finding. "speculative" readings try any byte string as a pickle because loaders do
 * (torch.load falls back to pickle, CVE-2025-1889): they count only when they look like one —
 * they reached STOP cleanly, or they imported something before failing, which CPython would
 * have executed before the error.
 */
export type PickleMode = "definitive" | "speculative";

export interface PickleScanOptions {
  readonly mode: PickleMode;
  /** torch readers use this to check storages; elsewhere a persistent id is just noted. */
  readonly onPersistentId?: (pid: PickleValue, offset: number, reporter: Reporter) => void;
  /** Depth of pickles found as bytes arguments of loaders (pickle.loads(b"...")). */
  readonly nestedDepth?: number;
  /** Which unpickler reads it; TorchScript's resolves its own classes without Python imports. */
  readonly context?: PickleContext;
}

export interface PickleScanResult {
  readonly accepted: boolean;
  readonly run: PickleRunResult;
}

const MAX_NESTED_PICKLES = 2;
const SPECULATIVE_MIN_OPCODES = 16;
/**
 * Limits on the pickle's own shape (opcodes, stack, memo, nesting, expansion). Real checkpoints
 * stay far below them; a pickle that reaches one is built to exhaust scanners or loaders, and
 * whatever follows the stopping point is unseen: MALICIOUS. Running out of bytes to read
 * (maxBytesRead, maxInflatedBytes) only means unverified: INVALID.
 */
const PICKLE_SHAPE_LIMITS: ReadonlySet<string> = new Set([
  "maxPickleOpcodes",
  "maxPickleStack",
  "maxPickleMemo",
  "maxNestingDepth",
  "maxExpandedSize",
  "engine",
]);

export function scanPickleAt(
  source: RandomAccess,
  offset: number,
  reporter: Reporter,
  ctx: ScanContext,
  options: PickleScanOptions,
): PickleScanResult {
  const pending = new PendingReporter(reporter);
  const interpreter = new EventInterpreter(pending, ctx, options);
  const cursor = new Cursor(source, offset);
  const run = runPickle(cursor, (event) => interpreter.handle(event), ctx.limits, ctx.opcodes);
  const accepted =
    options.mode === "definitive" ||
    interpreter.significant ||
    (run.completed && (run.startsWithProto || run.end === source.size)) ||
    // A PROTO opcode followed by a run of valid opcodes is a pickle even if it never stops
    // (the expansion attacks); random data gets a few opcodes at most.
    (run.startsWithProto && (run.opcodes >= SPECULATIVE_MIN_OPCODES || run.error instanceof LimitError));
  if (!accepted) return { accepted, run };
  pending.commit();
  if (run.error) {
    if (run.error instanceof LimitError && PICKLE_SHAPE_LIMITS.has(run.error.limit)) {
      reporter.report(
        "MALICIOUS",
        "PICKLE_LIMIT",
        `pickle stopped at ${run.error.offset ?? run.end}: ${run.error.message}; the rest is unverified`,
        run.error.offset,
      );
    } else if (run.error instanceof LimitError) {
      reporter.report(
        "INVALID",
        "LIMIT_EXCEEDED",
        `pickle at ${run.error.offset ?? run.end}: ${run.error.message}; the rest is unverified`,
        run.error.offset,
      );
    } else {
      reporter.report(
        "INVALID",
        "PICKLE_PARSE_ERROR",
        `pickle is malformed at ${run.error.offset ?? run.end}: ${run.error.message}` +
          (interpreter.significant ? " (everything before this point runs when loaded)" : ""),
        run.error.offset,
      );
    }
  }
  return { accepted, run };
}

export interface PickleStreamResult {
  readonly pickles: readonly PickleRunResult[];
  /** Offset after the last pickle that was read. */
  readonly end: number;
}

/**
 * Reads the pickles stacked after already-read ones, until the end or until what follows is
 * not a pickle: loaders such as torch's legacy format call pickle.load repeatedly on one file,
 * so a payload in the fifth pickle runs as surely as one in the first.
 */
export function continuePickleStream(
  source: RandomAccess,
  pickles: PickleRunResult[],
  reporter: Reporter,
  ctx: ScanContext,
  options: PickleScanOptions & { readonly trailing: "warn" | "ignore" },
): PickleStreamResult {
  let last = pickles[pickles.length - 1]!;
  while (last.completed && last.end < source.size) {
    const next = scanPickleAt(source, last.end, reporter, ctx, { ...options, mode: "speculative" });
    if (!next.accepted) {
      if (options.trailing === "warn") {
        reporter.report(
          "WARN",
          "TRAILING_DATA",
          `${source.size - last.end} bytes after the last pickle are not a pickle`,
          last.end,
        );
      }
      break;
    }
    pickles.push(next.run);
    last = next.run;
  }
  return { pickles, end: last.end };
}

/** Turns machine events into findings. */
class EventInterpreter {
  /** An import of real identifiers happened: the bytes really are a pickle. */
  significant = false;
  private readonly verdicts = new Map<GlobalValue, ImportVerdict>();

  constructor(
    private readonly reporter: Reporter,
    private readonly ctx: ScanContext,
    private readonly options: PickleScanOptions,
  ) {}

  handle(event: PickleEvent): void {
    switch (event.type) {
      case "import":
        this.onImport(event);
        return;
      case "call":
        this.onCall(event.call);
        return;
      case "build":
        if (event.target.kind === "global") {
          this.reporter.report(
            "MALICIOUS",
            "MUTATES_IMPORT",
            `BUILD sets state on the imported object ${qualifiedName(event.target)} itself (attribute injection), not on an instance`,
            event.offset,
          );
        }
        return;
      case "mutate":
        if (event.target.kind === "global") {
          this.reporter.report(
            "MALICIOUS",
            "MUTATES_IMPORT",
            `${event.opcode} modifies the imported object ${qualifiedName(event.target)} (global state), not a new container`,
            event.offset,
          );
        }
        return;
      case "persistent":
        if (this.options.onPersistentId) this.options.onPersistentId(event.pid, event.offset, this.reporter);
        else {
          this.reporter.report(
            "INFO",
            "PERSISTENT_ID",
            "persistent id: plain pickle.load rejects it; what it loads is up to the application's persistent_load",
            event.offset,
          );
        }
        return;
      case "ext":
        this.reporter.report(
          "MALICIOUS",
          "EXT_OPCODE",
          `extension code ${event.code}: imports whatever copyreg's registry maps it to; no pickle of model data uses it`,
          event.offset,
        );
        return;
      case "anomaly":
        this.reporter.report(event.severity, event.code, event.message, event.offset);
        return;
    }
  }

  private onImport(event: Extract<PickleEvent, { type: "import" }>): void {
    const { global } = event;
    const verdict = classifyImport(global.module, global.name, global.computed, this.options.context);
    this.verdicts.set(global, verdict);
    if (verdict.code !== "MALFORMED_IMPORT") this.significant = true;
    if (global.computed) {
      this.reporter.report("MALICIOUS", verdict.code, `STACK_GLOBAL: ${verdict.reason}`, event.offset);
      return;
    }
    const shown =
      verdict.code === "MALFORMED_IMPORT" ? `${quote(global.module)} ${quote(global.name)}` : qualifiedName(global);
    this.reporter.noteImport(verdict.code === "MALFORMED_IMPORT" ? shown : qualifiedName(global));
    if (verdict.verdict === "SAFE") return;
    const renamed =
      event.rawModule !== global.module || event.rawName !== global.name
        ? ` (written as ${quote(`${event.rawModule}.${event.rawName}`)}, renamed at protocol ${event.protocol})`
        : "";
    this.reporter.report(
      verdict.verdict,
      verdict.code,
      `${event.opcode} imports ${shown}${renamed}: ${verdict.reason}`,
      event.offset,
    );
  }

  private onCall(call: CallValue): void {
    const callee = call.callee;
    if (callee.kind === "global") {
      const verdict =
        this.verdicts.get(callee) ?? classifyImport(callee.module, callee.name, callee.computed, this.options.context);
      if (verdict.verdict === "MALICIOUS") {
        this.reporter.report("MALICIOUS", "UNSAFE_CALL", `${call.via} calls ${describe(call)}`, call.offset);
        this.scanNestedPickle(callee, call);
      }
      return;
    }
    if (callee.kind === "call" || callee.kind === "persistent" || callee.kind === "ext" || callee.kind === "buffer") {
      this.reporter.report(
        "MALICIOUS",
        "CALL_ON_COMPUTED",
        `${call.via} calls a value produced at load time (${describe(callee, 1)}), not an imported callable`,
        call.offset,
      );
      return;
    }
    this.reporter.report(
      "INVALID",
      "CALL_ON_LITERAL",
      `${call.via} calls a ${callee.kind}, which fails when loaded`,
      call.offset,
    );
  }

  /** pickle.loads(b"...") and friends: the bytes are a second pickle; scan it too. */
  private scanNestedPickle(callee: GlobalValue, call: CallValue): void {
    const depth = this.options.nestedDepth ?? 0;
    if (depth >= MAX_NESTED_PICKLES || !NESTED_LOADER_NAMES.has(callee.name.split(".").pop() ?? "")) return;
    const payload = call.args.find((arg) => arg.kind === "bytes" && arg.data !== undefined);
    if (payload?.kind !== "bytes" || payload.data === undefined) return;
    scanPickleAt(new BufferAccess(payload.data), 0, this.reporter.within(`nested-pickle@${call.offset}`), this.ctx, {
      mode: "speculative",
      nestedDepth: depth + 1,
    });
  }
}

/** Holds a speculative reading's findings until it proves to be a pickle. */
class PendingReporter implements Reporter {
  private readonly actions: Array<(target: Reporter) => void> = [];
  private committed = false;

  constructor(
    private readonly target: Reporter,
    private readonly path: readonly string[] = [],
    private readonly root?: PendingReporter,
  ) {}

  get member(): string | undefined {
    return this.target.member;
  }

  private resolve(target: Reporter): Reporter {
    return this.path.reduce((reporter, member) => reporter.within(member), target);
  }

  private enqueue(action: (target: Reporter) => void): void {
    const root = this.root ?? this;
    if (root.committed) action(this.resolve(root.target));
    else root.actions.push((target) => action(this.resolve(target)));
  }

  report(severity: Severity, code: string, message: string, offset?: number): void {
    this.enqueue((target) => target.report(severity, code, message, offset));
  }

  noteImport(qualifiedName: string): void {
    this.enqueue((target) => target.noteImport(qualifiedName));
  }

  within(member: string): Reporter {
    return new PendingReporter(this.target, [...this.path, member], this.root ?? this);
  }

  commit(): void {
    this.committed = true;
    for (const action of this.actions.splice(0)) action(this.target);
  }
}
