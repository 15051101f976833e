/**
 * The import map of docs/architecture.md, enforced: every import of every file under
 * src/ must go from its folder to a folder the map allows. The map is read from the
 * document, so the table a newcomer reads is the rule the suite checks.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");

/** folder → folders it may import, from the table in docs/architecture.md. */
function readImportMap(): Map<string, Set<string>> {
  const text = readFileSync(join(root, "docs", "architecture.md"), "utf8");
  const table = /<!-- import-map:[\s\S]*?-->([\s\S]*?)<!-- \/import-map -->/.exec(text)?.[1];
  if (table === undefined) throw new Error("docs/architecture.md has no import map between its markers");
  const map = new Map<string, Set<string>>();
  for (const line of table.split("\n")) {
    const row = /^\| `([a-z][a-z0-9-]*)` \| (.*) \|$/.exec(line.trim());
    if (!row) continue;
    const allowed =
      row[2] === "—" ? [] : row[2]!.split(",").map((cell) => /^`([a-z][a-z0-9-]*)`$/.exec(cell.trim())?.[1]);
    if (allowed.some((name) => name === undefined)) throw new Error(`malformed import map row: ${line}`);
    map.set(row[1]!, new Set(allowed as string[]));
  }
  return map;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The first-level folder of src/ a path is in ("" for a file directly in src/, undefined outside src/). */
function folderOf(path: string): string | undefined {
  const inside = relative(src, path);
  if (inside.startsWith("..")) return undefined;
  const parts = inside.split(sep);
  return parts.length === 1 ? "" : parts[0];
}

/** Every relative module a file imports: static, `export ... from`, dynamic and type-only. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles.map((imported) => imported.fileName).filter((name) => name.startsWith("."));
}

const map = readImportMap();
const files = sourceFiles(src);

describe("the import map in docs/architecture.md", () => {
  it("has a row for every folder of src/, and no file directly in src/", () => {
    const folders = new Set(files.map(folderOf));
    expect([...folders].filter((folder) => folder === undefined || !map.has(folder))).toEqual([]);
  });

  it("names only folders that have a row of their own", () => {
    const unknown = [...map].flatMap(([folder, allowed]) =>
      [...allowed].filter((name) => !map.has(name)).map((name) => `${folder} -> ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("has no cycle: the folders form layers", () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (folder: string, path: string[]): void => {
      if (done.has(folder)) return;
      if (visiting.has(folder)) {
        cycles.push([...path.slice(path.indexOf(folder)), folder].join(" -> "));
        return;
      }
      visiting.add(folder);
      for (const next of map.get(folder) ?? []) visit(next, [...path, folder]);
      visiting.delete(folder);
      done.add(folder);
    };
    for (const folder of map.keys()) visit(folder, []);
    expect(cycles).toEqual([]);
  });

  it("holds for every import of every file under src/", () => {
    const broken: string[] = [];
    for (const file of files) {
      const from = folderOf(file)!;
      for (const specifier of importsOf(file)) {
        const target = resolve(dirname(file), specifier);
        const to = folderOf(target);
        if (to === undefined) {
          // The fetcher is src/ alone: nothing from test/, scripts/ or package.json (the version is inlined).
          broken.push(`${relative(root, file)} imports ${specifier}, outside src/`);
          continue;
        }
        if (to !== from && !map.get(from)?.has(to)) {
          broken.push(`${relative(root, file)} imports ${specifier} (${from} may not import ${to})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
