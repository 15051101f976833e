import type { Command } from "../command.js";
import { parseCommandArgs, requiredFlags } from "../args.js";
import { readSpecFile } from "../../fetch/spec.js";
import { runFetchSpec } from "../../fetch/fetch-model.js";
import { createProgressReporter } from "../../progress/reporter.js";
import { handleInterrupts, interruptSignal } from "../interrupt.js";

const usage = `nix-model-repo fetch [--spec FILE] [--out DIR]

Fetches the model a spec file describes into DIR, in the layout docs/architecture.md
describes ("Layouts"); or, for a spec with \`select\` (a lockfile's per-file fetch,
docs/spec.md), only the files it names: DIR is then the one file, or a folder of
files named by their sha256.
This is the builder of every fetchModel fixed-output derivation; you rarely run it
by hand (use \`prefetch\`).

  --spec FILE   the fetch spec (JSON, docs/spec.md); default: $specPath, which Nix
                sets from the derivation's passAsFile = [ "spec" ]
  --out DIR     where to write; must not exist or be empty; default: $out`;

const command: Command = {
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      usage,
      argv,
      { spec: { type: "string" }, out: { type: "string" } },
      { allowPositionals: false },
    );
    const { "--spec FILE": specPath, "--out DIR": out } = requiredFlags("fetch", usage, {
      "--spec FILE": values.spec ?? process.env["specPath"],
      "--out DIR": values.out ?? process.env["out"],
    });
    const spec = await readSpecFile(specPath);
    // Interrupted, the output is removed before the exit, as on any failure.
    handleInterrupts();
    await runFetchSpec(spec, out, { env: process.env, progress: createProgressReporter(), signal: interruptSignal });
    return 0;
  },
};

export default command;
