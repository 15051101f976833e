import { defaultHttpSettings, type HttpSettings } from "../http/settings.js";
import { parseBandwidthLimit } from "../spec/bandwidth.js";
import type { NetworkSpec } from "../spec/network.js";

/** The transfer settings the HTTP client and engine use, from the spec's network block. */
export function httpSettingsFrom(network: NetworkSpec, userAgent: string): HttpSettings {
  const proxy = network.proxy
    ? {
        ...(network.proxy.http ? { http: network.proxy.http } : {}),
        ...(network.proxy.https ? { https: network.proxy.https } : {}),
        ...(network.proxy.noProxy ? { noProxy: network.proxy.noProxy } : {}),
      }
    : null;
  return {
    ...defaultHttpSettings,
    connectTimeoutMs: network.timeout.connect * 1000,
    readTimeoutMs: network.timeout.read * 1000,
    lowSpeedLimitBytesPerSec: network.timeout.lowSpeedLimit,
    lowSpeedTimeMs: network.timeout.lowSpeedTime * 1000,
    maxAttempts: network.retry.maxAttempts,
    baseDelayMs: network.retry.baseDelay * 1000,
    proxy,
    bandwidthLimitBytesPerSec:
      network.bandwidth.limit === null ? null : parseBandwidthLimit(network.bandwidth.limit, "network.bandwidth.limit"),
    concurrency: network.concurrency,
    userAgent,
  };
}
