import { type FieldReader, invalid } from "./fields.js";
import { parseBandwidthLimit } from "./bandwidth.js";
import { registerSecret } from "../util/secrets.js";

/** The spec's `network` block: timeouts and back-off in seconds, as the Nix options give them. */
export interface NetworkSpec {
  readonly timeout: {
    readonly connect: number;
    readonly read: number;
    /** Bytes per second a connection must average over `lowSpeedTime` seconds (curl's --speed-limit); 0: off. */
    readonly lowSpeedLimit: number;
    readonly lowSpeedTime: number;
    /** The whole fetch's deadline in seconds; null: none. */
    readonly total: number | null;
  };
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

/**
 * The low-speed default: 1 KiB/s over 60 s of waiting for the network, per connection. Nix's
 * own downloader only cuts a transfer that moved nothing (1 byte/s over its 300 s
 * stalled-download-timeout); 1 KiB/s is still far below any link a model can be fetched
 * over, eight connections together being slower than an ISDN line, and the time spent held
 * back by network.bandwidth.limit, the disk or the hash is not counted.
 */
const defaultNetwork: NetworkSpec = {
  timeout: { connect: 30, read: 300, lowSpeedLimit: 1024, lowSpeedTime: 60, total: null },
  retry: { maxAttempts: 3, baseDelay: 2 },
  bandwidth: { limit: null },
  proxy: null,
  concurrency: 16,
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
      lowSpeedLimit: timeout.number("lowSpeedLimit", { min: 0, fallback: defaultNetwork.timeout.lowSpeedLimit }),
      lowSpeedTime: timeout.number("lowSpeedTime", { min: 1, fallback: defaultNetwork.timeout.lowSpeedTime }),
      total: finiteOrNull(timeout.number("total", { min: 1, fallback: Number.POSITIVE_INFINITY })),
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

/** An absent (or null) deadline reads as Infinity: none. */
function finiteOrNull(seconds: number): number | null {
  return Number.isFinite(seconds) ? seconds : null;
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
