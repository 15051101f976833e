import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { compareCodeUnits } from "./findings.js";
import type { Finding } from "./types.js";

/**
 * Finds the files to scan under the given paths. Symlinks are followed while they stay inside
 * the root they were found under, which covers a Hugging Face cache folder (snapshots/<commit>/
 * links into ../../blobs/); each real file is reported once, under its path in the model rather
 * than its blob name. Symlinks leaving the root, broken links and special files become findings.
 */

export interface WalkedFile {
  /** The path to report: the argument joined with the path below it. */
  readonly path: string;
  readonly realPath: string;
  readonly size: number;
}

export interface WalkProblem {
  readonly path: string;
  readonly format: string;
  readonly finding: Finding;
}

export interface WalkResult {
  readonly files: readonly WalkedFile[];
  readonly problems: readonly WalkProblem[];
}

export class ScanInputError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot scan ${path}: ${reason}`);
    this.name = "ScanInputError";
  }
}

export async function walkPaths(paths: readonly string[], linkRoots: readonly string[] = []): Promise<WalkResult> {
  const found: WalkedFile[] = [];
  const problems: WalkProblem[] = [];
  const extraRoots = await realRoots(linkRoots);
  for (const path of paths) {
    let rootReal: string;
    try {
      rootReal = await realpath(path);
    } catch (error) {
      throw new ScanInputError(path, (error as NodeJS.ErrnoException).code ?? String(error));
    }
    const rootStat = await stat(rootReal);
    if (rootStat.isFile()) found.push({ path, realPath: rootReal, size: rootStat.size });
    else if (rootStat.isDirectory())
      await walkDirectory(path, rootReal, [rootReal, ...extraRoots], new Set([rootReal]), found, problems);
    else problems.push(special(path));
  }
  return { files: dedupe(found), problems: problems.sort((a, b) => compareCodeUnits(a.path, b.path)) };
}

/** The extra roots, resolved; one that does not exist admits nothing. */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const root of roots) {
    try {
      resolved.push(await realpath(root));
    } catch {
      // Nothing can lead into a root that is not there.
    }
  }
  return resolved;
}

function isInside(target: string, roots: readonly string[]): boolean {
  return roots.some((root) => target === root || target.startsWith(root + sep));
}

async function walkDirectory(
  displayDir: string,
  realDir: string,
  roots: readonly string[],
  visited: Set<string>,
  found: WalkedFile[],
  problems: WalkProblem[],
): Promise<void> {
  const names = (await readdir(realDir)).sort(compareCodeUnits);
  for (const name of names) {
    const display = join(displayDir, name);
    const real = join(realDir, name);
    const info = await lstat(real);
    if (info.isSymbolicLink()) {
      let target: string;
      try {
        target = await realpath(real);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        problems.push({
          path: display,
          format: "symlink",
          finding: {
            severity: "INVALID",
            code: "BROKEN_SYMLINK",
            message: code === "ELOOP" ? "symlink loop" : "symlink points at nothing (a missing blob?)",
          },
        });
        continue;
      }
      if (!isInside(target, roots)) {
        problems.push({
          path: display,
          format: "symlink",
          finding: {
            severity: "WARN",
            code: "SYMLINK_OUTSIDE_ROOT",
            message: "symlink leads outside the scanned directory; not followed (scan its target on its own)",
          },
        });
        continue;
      }
      const targetInfo = await stat(target);
      if (targetInfo.isFile()) found.push({ path: display, realPath: target, size: targetInfo.size });
      else if (targetInfo.isDirectory()) {
        if (!visited.has(target)) {
          visited.add(target);
          await walkDirectory(display, target, roots, visited, found, problems);
        }
      } else problems.push(special(display));
    } else if (info.isDirectory()) {
      if (!visited.has(real)) {
        visited.add(real);
        await walkDirectory(display, real, roots, visited, found, problems);
      }
    } else if (info.isFile()) found.push({ path: display, realPath: real, size: info.size });
    else problems.push(special(display));
  }
}

function special(path: string): WalkProblem {
  return {
    path,
    format: "special",
    finding: {
      severity: "WARN",
      code: "SPECIAL_FILE",
      message: "not a regular file (FIFO, socket or device); not read",
    },
  };
}

/** One report per real file: prefer a path outside any `blobs` directory, then the smallest path. */
function dedupe(files: readonly WalkedFile[]): WalkedFile[] {
  const byReal = new Map<string, WalkedFile>();
  const rank = (file: WalkedFile) => (file.path.split(sep).includes("blobs") ? 1 : 0);
  for (const file of files) {
    const current = byReal.get(file.realPath);
    if (
      !current ||
      rank(file) < rank(current) ||
      (rank(file) === rank(current) && compareCodeUnits(file.path, current.path) < 0)
    ) {
      byReal.set(file.realPath, file);
    }
  }
  return [...byReal.values()].sort((a, b) => compareCodeUnits(a.path, b.path));
}
