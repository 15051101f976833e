import { type FieldReader, invalid } from "./fields.js";
import { parseBandwidthLimit } from "./bandwidth.js";
import { registerSecret } from "../util/secrets.js";

/** The spec's `network` block: timeouts and back-off in seconds, as the Nix options give them. */
export interface NetworkSpec {
  readonly timeout: { readonly connect: number; readonly read: number };
  readonly retry: { readonly maxAttempts: number; readonly baseDelay: number };
  readonly bandwidth: { readonly limit: string | null };
  readonly proxy: {
    readonly http: string | null;
    readonly https: string | null;
    readonly noProxy: string | null;
  } | null;
  readonly concurrency: number;
  /**
   * Whether files stored in Xet are downloaded through Xet (the Hugging Face and git-xet
   * sources): "auto" when they can be, else through their plain URL; "off" never; "required"
   * always, failing a file that cannot be (docs/sources/xet.md).
   */
  readonly xet: XetSetting;
}

export const XET_SETTINGS = ["auto", "off", "required"] as const;
export type XetSetting = (typeof XET_SETTINGS)[number];

const defaultNetwork: NetworkSpec = {
  timeout: { connect: 30, read: 300 },
  retry: { maxAttempts: 3, baseDelay: 2 },
  bandwidth: { limit: null },
  proxy: null,
  concurrency: 8,
  xet: "auto",
};

export function parseNetwork(r: FieldReader): NetworkSpec {
  const timeout = r.optionalObject("timeout");
  const retry = r.optionalObject("retry");
  const bandwidth = r.optionalObject("bandwidth");
  const network: NetworkSpec = {
    timeout: {
      connect: timeout.number("connect", { min: 1, fallback: defaultNetwork.timeout.connect }),
      read: timeout.number("read", { min: 1, fallback: defaultNetwork.timeout.read }),
    },
    retry: {
      maxAttempts: retry.number("maxAttempts", { min: 1, integer: true, fallback: defaultNetwork.retry.maxAttempts }),
      baseDelay: retry.number("baseDelay", { min: 0, fallback: defaultNetwork.retry.baseDelay }),
    },
    bandwidth: { limit: bandwidth.optionalString("limit") },
    proxy: parseProxy(r.nullableObject("proxy")),
    concurrency: r.number("concurrency", { min: 1, integer: true, fallback: defaultNetwork.concurrency }),
    xet: r.choice("xet", XET_SETTINGS, defaultNetwork.xet),
  };
  for (const reader of [timeout, retry, bandwidth, r]) reader.done();
  if (network.bandwidth.limit !== null) parseBandwidthLimit(network.bandwidth.limit, "spec.network.bandwidth.limit");
  return network;
}

function parseProxy(r: FieldReader | null): NetworkSpec["proxy"] {
  if (r === null) return null;
  const proxy = {
    http: r.optionalString("http"),
    https: r.optionalString("https"),
    noProxy: r.optionalString("noProxy"),
  };
  r.done();
  for (const [key, url] of Object.entries(proxy)) {
    if (key === "noProxy" || url === null) continue;
    try {
      const parsed = new URL(url);
      registerSecret(parsed.password);
    } catch {
      throw invalid(`spec.network.proxy.${key}`, "must be a URL like http://proxy.example:3128", url);
    }
  }
  return proxy;
}
