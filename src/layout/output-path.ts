import { isAbsolute, relative, resolve, sep } from "node:path";

/**
 * Joins checked relative segments under the output directory and proves the result
 * stays inside it. Remote paths are already checked (src/sources/remote-path.ts); this is
 * the last line of defence at the place where files are created.
 */
export function outputPath(out: string, ...segments: string[]): string {
  const root = resolve(out);
  const target = resolve(root, ...segments);
  const rel = relative(root, target);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`internal error: refusing to write ${JSON.stringify(segments.join("/"))} outside ${root}`);
  }
  return target;
}
