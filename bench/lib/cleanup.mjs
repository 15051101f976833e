/**
 * Everything the bench starts or creates is registered here and removed however the run
 * ends: normal exit, an exception, Ctrl-C or SIGTERM. Children are started in their own
 * process group (spawn's `detached`) and killed by that group's id — never by name — so a
 * tool under /usr/bin/time, or nginx's workers, go with their parent. Temp dirs are removed
 * synchronously on exit so nothing is left behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";

const children = new Set();
const directories = new Set();

/** Options for spawn: a process group of its own, so cleanupNow can end the whole tree. */
export const OWN_GROUP = { detached: true };

export function trackChild(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function makeTempDir(parent, prefix) {
  const dir = mkdtempSync(join(parent, prefix));
  directories.add(dir);
  return dir;
}

export function cleanupNow() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
}

export function installCleanupHandlers() {
  process.on("exit", cleanupNow);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      cleanupNow();
      process.exit(130);
    });
  }
}
