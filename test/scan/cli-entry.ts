// Runs the scan command as its own process, the way src/cli/main.ts does once it has
// dispatched to it, so the CLI test sees real stdout and exit codes without needing the other
// commands (still being written) to build.
import scan from "../../src/cli/commands/scan.js";
import { UserError } from "../../src/errors/user-error.js";
import { describeError } from "../../src/errors/explain.js";

scan.run(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`${describeError(error)}\n`);
    process.exitCode = error instanceof UserError ? error.exitCode : 1;
  },
);
