/**
 * The scanner's public data types. The JSON report (docs/scan.md) is these objects serialised
 * as they are, so every change here is a change to a documented, versioned format.
 */

/** A file's verdict. Ordered SAFE < WARN < INVALID < MALICIOUS (see verdict.ts). */
export type Verdict = "SAFE" | "WARN" | "INVALID" | "MALICIOUS";

/**
 * How bad one finding is. INFO never changes a verdict; the others make the file's verdict at
 * least the verdict of the same name.
 */
export type Severity = "INFO" | "WARN" | "INVALID" | "MALICIOUS";

export interface Finding {
  readonly severity: Severity;
  /** Stable machine-readable code, e.g. "DENYLISTED_IMPORT" (listed in docs/scan.md). */
  readonly code: string;
  /** One line for people. Strings taken from the file are quoted and escaped. */
  readonly message: string;
  /** Byte offset of the cause, relative to `member` when there is one, else to the file. */
  readonly offset?: number;
  /** Archive member (or nested member, joined by "!") the finding is inside. */
  readonly member?: string;
}

export interface FileReport {
  /** The path the file was reached by (a snapshot path rather than its blob in a Hub cache). */
  readonly path: string;
  /** The main reading of the content, e.g. "pytorch-zip", "safetensors", "pickle", "json". */
  readonly format: string;
  readonly verdict: Verdict;
  readonly size: number;
  /** Sorted by severity (worst first), then in the order they were found. */
  readonly findings: readonly Finding[];
  /** Every global a pickle in the file imports, as "module.name", sorted and unique. */
  readonly imports?: readonly string[];
}

export interface ScanSummary {
  readonly files: number;
  readonly SAFE: number;
  readonly WARN: number;
  readonly INVALID: number;
  readonly MALICIOUS: number;
}

export interface ScanReport {
  readonly reportVersion: 1;
  /** The worst verdict of all files; SAFE when there are none. */
  readonly verdict: Verdict;
  readonly summary: ScanSummary;
  /** Sorted by path (code-unit order, independent of locale). */
  readonly files: readonly FileReport[];
}

/** Resource caps. Exceeding one is a finding, never a silently clean result. */
export interface ScanLimits {
  /** Pickle opcodes executed per file, all stacked pickles and members together. */
  readonly maxPickleOpcodes: number;
  /** Values on the pickle stack, all mark levels together. */
  readonly maxPickleStack: number;
  /** Memo entries per pickle. */
  readonly maxPickleMemo: number;
  /**
   * Container nesting and MARK depth. CPython's pickler recurses per level and stops near its
   * recursion limit (1000), so deeper structures do not come from pickle.dumps.
   */
  readonly maxNestingDepth: number;
  /** Logical size of a container counting shared references again: a billion-laughs guard. */
  readonly maxExpandedSize: number;
  /** Bytes read from one file, all readings and members together. */
  readonly maxBytesRead: number;
  /** Size a compressed archive member may inflate to. */
  readonly maxInflatedBytes: number;
  /** Archive nesting (a zip in a zip in a tar...). */
  readonly maxArchiveDepth: number;
  /** Entries per archive. */
  readonly maxArchiveEntries: number;
  /** safetensors header length (the reference implementation's MAX_HEADER_SIZE). */
  readonly maxSafetensorsHeader: number;
  /**
   * One JSON string or template held whole (a chat_template, a .jinja file). JSON files of any
   * size are streamed; only the members that steer code are built.
   */
  readonly maxJsonBytes: number;
  /** Findings kept per file; the rest are counted in one final finding. */
  readonly maxFindingsPerFile: number;
}

export interface ScanOptions {
  readonly limits?: Partial<ScanLimits>;
  /**
   * Folders besides the scanned path that its symlinks may lead into and be followed: the
   * store paths a locked model's links point at (docs/lockfile.md). Links elsewhere are
   * still not followed.
   */
  readonly followLinksInto?: readonly string[];
  /** Filled in as files are scanned (benchmarks, progress); not part of the report. */
  readonly stats?: ScanStats;
}

export interface ScanStats {
  files: number;
  /** Bytes read from disk: headers and pickles, not the weights. */
  bytesRead: number;
}
