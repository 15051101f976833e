import { printable } from "./printable.js";

/**
 * Plain diagnostic lines on stderr. Progress bars and Nix's structured log lines live
 * in src/progress; this is for the few lines a user should read in a build log.
 * Everything goes through printable(): no registered secret and no terminal control
 * sequence from a remote string can reach a log.
 */
export type LogLevel = "error" | "warn" | "info" | "debug";

const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function currentLevel(): LogLevel {
  const configured = process.env["NIX_MODEL_REPO_LOG"];
  return configured === "error" || configured === "warn" || configured === "info" || configured === "debug"
    ? configured
    : "info";
}

function log(level: LogLevel, message: string): void {
  if (order[level] > order[currentLevel()]) return;
  const prefix = level === "info" ? "" : `${level}: `;
  process.stderr.write(`${printable(`${prefix}${message}`, { multiline: true })}\n`);
}

export const logger = {
  error: (message: string) => log("error", message),
  warn: (message: string) => log("warn", message),
  info: (message: string) => log("info", message),
  debug: (message: string) => log("debug", message),
};
