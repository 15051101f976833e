import type { XetSetting } from "../../spec/network.js";

/**
 * Whether this fetch uses Xet: `network.xet` from the spec, and huggingface_hub's
 * HF_HUB_DISABLE_XET from the builder's environment (the Nix daemon's, through impureEnvVars),
 * true for 1, ON, YES or TRUE in any case as huggingface_hub reads it (constants.py, _is_true).
 *
 * The spec says what the expression's author asked for; the variable is the machine's default.
 * So the variable turns "auto" off, and an explicit "off" or "required" wins over it: a model
 * pinned to "required" fails rather than silently going around Xet.
 */
export interface XetChoice {
  readonly mode: XetSetting;
  /** Why Xet is off although the spec allows it, for the log. */
  readonly note: string | undefined;
}

const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

export function chooseXet(setting: XetSetting, env: NodeJS.ProcessEnv): XetChoice {
  const disabled = env["HF_HUB_DISABLE_XET"];
  if (setting === "auto" && disabled !== undefined && TRUE_VALUES.has(disabled.toUpperCase())) {
    return { mode: "off", note: `Xet is off (HF_HUB_DISABLE_XET=${disabled}): files come through their plain URLs` };
  }
  return { mode: setting, note: undefined };
}
