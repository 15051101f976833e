import { Minimatch } from "minimatch";

/**
 * `lfsFiles`: which LFS files to download, with the semantics of `git lfs pull --include`
 * (lfs.fetchinclude), i.e. gitignore(5)-style patterns matched against the path in the repo:
 * - a pattern without "/" matches a file or folder NAME at any depth: "*.safetensors",
 *   "onnx" (everything inside any folder called onnx);
 * - a pattern with a "/" is anchored at the repo root: "onnx/*.onnx", "/model.bin";
 * - a pattern matching a folder selects everything under it: "checkpoints/step-100";
 * - "*" and "?" do not cross "/", "**" does; [...] classes; no braces, no negation.
 * LFS files no pattern matches are left out of the output (not kept as pointer files,
 * which a loader would take for weights); files stored directly in git are always kept.
 */
export function compileLfsFilePatterns(patterns: readonly string[] | null): (path: string) => boolean {
  if (patterns === null) return () => true;
  const matchers = patterns.map((pattern) => {
    const anchored = pattern.startsWith("/");
    const body = pattern.replace(/^\/+/, "").replace(/\/+$/, "");
    const matcher = new Minimatch(body, { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true });
    const byName = !anchored && !body.includes("/");
    return (path: string) => {
      const segments = path.split("/");
      if (byName) return segments.some((segment) => matcher.match(segment));
      // The path itself or any folder above it.
      for (let depth = segments.length; depth >= 1; depth--) {
        if (matcher.match(segments.slice(0, depth).join("/"))) return true;
      }
      return false;
    };
  });
  return (path) => matchers.some((matches) => matches(path));
}
