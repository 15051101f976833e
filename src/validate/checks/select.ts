import { fnmatchToRegExp } from "../../util/fnmatch.js";
import type { ModelView, ViewFile } from "../view.js";

/**
 * Files of the view named by a list of paths and patterns, with the `files` option's
 * fnmatch semantics (src/util/fnmatch.ts: `*` also matches "/"). A plain path must name
 * an existing file; a pattern may match none.
 */
export interface Selection {
  readonly entry: string;
  readonly isPattern: boolean;
  readonly matches: readonly ViewFile[];
}

export function selectFiles(view: ModelView, entries: readonly string[]): Selection[] {
  return entries.map((entry) => {
    const isPattern = /[*?[]/.test(entry);
    const normalized = entry.replace(/^\.\//, "");
    const matches = isPattern
      ? view.files.filter((file) => fnmatchToRegExp(normalized).test(file.path))
      : view.files.filter((file) => file.path === normalized);
    return { entry, isPattern, matches };
  });
}
