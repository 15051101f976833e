import type { commands as everyCommand } from "./index.js";
import fetchCommand from "./fetch.js";

/**
 * index.ts as the fetch bundle (dist/fetch/) has it; scripts/bundle.mjs builds that bundle
 * with this module in its place. The entry sends only `fetch` there, so it holds only
 * `fetch`, imported statically: the bundle's main file is the whole fetch, with no chunk to
 * load per command (docs/bench.md, "Third round").
 */
export const commands: typeof everyCommand = new Map([
  [
    "fetch",
    {
      summary: "Fetch a model described by a spec file into a directory (the FOD builder)",
      load: async () => fetchCommand,
    },
  ],
]);
