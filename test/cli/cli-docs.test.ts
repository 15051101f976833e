/**
 * docs/cli.md stays true to the commands: every command has a section, and every option
 * and exit status its `--help` names is in that section. The usage texts are the source;
 * this catches a flag or an exit code added to a command and not to the page.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands/index.js";

const page = readFileSync(new URL("../../docs/cli.md", import.meta.url), "utf8");
const BUILDERS = new Set(["fetch", "validate", "assemble"]);

/** The text under `## <title>` up to the next `## `. */
function section(title: string): string {
  const start = page.indexOf(`\n## ${title}\n`);
  if (start === -1) return "";
  const end = page.indexOf("\n## ", start + 1);
  return page.slice(start, end === -1 ? undefined : end);
}

describe("docs/cli.md", () => {
  for (const [name, { load }] of commands) {
    it(`documents ${name}: its options and exit statuses`, async () => {
      const { usage } = await load();
      const text = section(BUILDERS.has(name) ? "Builders" : name);
      expect(text, `a section for ${name}`).not.toBe("");
      expect(page).toContain(name === "gc" ? "`gc`" : `\`${name}\``);
      for (const flag of new Set(usage.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? [])) {
        if (flag === "--help") continue;
        expect(text, `${name} ${flag}`).toContain(flag);
      }
      const statuses = /exit status[^\n]*:\n((?: {2}\d+ .*\n?| {4,}.*\n?)+)/.exec(usage)?.[1] ?? "";
      for (const [, code] of statuses.matchAll(/^ {2}(\d+) /gm)) {
        expect(text, `${name} exit status ${code}`).toContain(`\`${code}\``);
      }
    });
  }
});
