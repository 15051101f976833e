import type { ProgressReporter } from "./types.js";

/** Mode `none`: reports nothing. Also the engine's default when no reporter is given. */
export const silentProgress: ProgressReporter = {
  begin: () => {},
  fileStarted: () => {},
  fileProgress: () => {},
  fileRetrying: () => {},
  fileFinished: () => {},
  end: () => {},
};
