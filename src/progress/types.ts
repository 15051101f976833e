/**
 * Progress events from the transfer engine. Renderers (src/progress/*) turn them into
 * Nix's `@nix {...}` structured log lines inside builds, a bar on a terminal, or
 * plain lines in CI. Byte counts are cumulative per file.
 */
export interface ProgressReporter {
  /** Called once before any transfer starts. */
  begin(summary: { readonly label: string; readonly files: number; readonly bytes: number | undefined }): void;
  fileStarted(path: string, size: number | undefined): void;
  /** `received` counts verified-or-not bytes written so far for this file. */
  fileProgress(path: string, received: number): void;
  /** A retry or resume happened; shown as a note, not a failure. */
  fileRetrying(path: string, reason: string): void;
  fileFinished(path: string, size: number): void;
  /** Called once at the end, whether the fetch succeeded or not. */
  end(outcome: { readonly ok: boolean }): void;
}
