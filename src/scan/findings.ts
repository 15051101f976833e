import type { Finding, Severity } from "./types.js";
import { severityRank } from "./verdict.js";

/**
 * Where readers put what they find. One FindingStore per file; readers get a Reporter bound
 * to the member they are reading, so nested archives name their path ("a.npz!x.npy").
 */
export interface Reporter {
  readonly member: string | undefined;
  report(severity: Severity, code: string, message: string, offset?: number): void;
  /** Records a global a pickle imports ("module.name"), for the report's import list. */
  noteImport(qualifiedName: string): void;
  /** A reporter for a member inside the current one. */
  within(member: string): Reporter;
}

const MAX_IMPORTS_LISTED = 500;

export class FindingStore {
  private readonly kept: Finding[] = [];
  private readonly seen = new Set<string>();
  private readonly importSet = new Set<string>();
  private dropped = 0;
  private worstDropped: Severity = "INFO";

  constructor(private readonly maxFindings: number) {}

  add(finding: Finding): void {
    // The same cause seen many times (a GLOBAL repeated a million times) is one finding.
    const key = `${finding.severity}\0${finding.code}\0${finding.member ?? ""}\0${finding.message}`;
    if (this.seen.has(key)) return;
    if (this.kept.length >= this.maxFindings) {
      this.dropped++;
      if (severityRank(finding.severity) > severityRank(this.worstDropped)) this.worstDropped = finding.severity;
      return;
    }
    this.seen.add(key);
    this.kept.push(finding);
  }

  addImport(name: string): void {
    if (this.importSet.size < MAX_IMPORTS_LISTED) this.importSet.add(name);
  }

  reporter(member?: string): Reporter {
    return new BoundReporter(this, member);
  }

  /** Worst first; equal severities keep the order they were found in (Array#sort is stable). */
  findings(): Finding[] {
    const all = [...this.kept];
    if (this.dropped > 0) {
      // Dropped findings still count: the summary carries the worst severity among them.
      all.push({
        severity: this.worstDropped,
        code: "FINDINGS_TRUNCATED",
        message: `${this.dropped} more findings not listed (maxFindingsPerFile)`,
      });
    }
    return all.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  }

  imports(): string[] {
    return [...this.importSet].sort(compareCodeUnits);
  }
}

class BoundReporter implements Reporter {
  constructor(
    private readonly store: FindingStore,
    readonly member: string | undefined,
  ) {}

  report(severity: Severity, code: string, message: string, offset?: number): void {
    this.store.add({
      severity,
      code,
      message,
      ...(offset === undefined ? {} : { offset }),
      ...(this.member === undefined ? {} : { member: this.member }),
    });
  }

  noteImport(qualifiedName: string): void {
    this.store.addImport(qualifiedName);
  }

  within(member: string): Reporter {
    return new BoundReporter(this.store, this.member === undefined ? member : `${this.member}!${member}`);
  }
}

/** Locale-independent string order, so reports sort the same on every machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
