import { setFlagsFromString } from "node:v8";
import { vm } from "./builtins-on-demand.js";

let collect: (() => void) | undefined;

/**
 * V8's full garbage collection, as a function this process can call: the `gc` that node's
 * `--expose-gc` defines, got without that flag on node's command line (the fetcher runs
 * under any launcher: the package's wrapper, npx, a test's child process). V8 defines `gc`
 * in every context made after the flag is set, so one fresh context hands it over; the npm
 * package expose-gc does the same. Made on first use, then reused.
 */
export function fullCollection(): () => void {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === "function") collect = exposed as () => void;
    else {
      setFlagsFromString("--expose-gc");
      collect = vm().runInNewContext("gc") as () => void;
    }
  }
  return collect;
}
