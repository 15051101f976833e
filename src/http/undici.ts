import type { Agent as AgentType, Dispatcher, EnvHttpProxyAgent as EnvHttpProxyAgentType } from "undici";
import AgentClass from "undici/lib/dispatcher/agent.js";
import api from "undici/lib/api/index.js";
import DispatcherBase from "undici/lib/dispatcher/dispatcher.js";
import EnvHttpProxyAgentClass from "undici/lib/dispatcher/env-http-proxy-agent.js";

/**
 * The two parts of undici the fetcher uses, loaded from undici's own files instead of
 * its index. The index also loads, at start-up, everything it exports: fetch, WebSocket,
 * the Cache API, cookies, the mock agents, the cache interceptors. That was 1 MB of the
 * bundle and ~0.1 s of every run of the fetcher, which makes two kinds of request.
 *
 * What the index does to the parts we use is done here too: it gives every dispatcher
 * the request API (`request`, and `connect`, which the proxy agent tunnels with).
 * undici is pinned (package-lock.json) and patched (patches/); these are the files its
 * index requires, and every test that makes a request goes through them.
 */
Object.assign(DispatcherBase.prototype, api);

export const EnvHttpProxyAgent: typeof EnvHttpProxyAgentType = EnvHttpProxyAgentClass;
export const Agent: typeof AgentType = AgentClass;

export type RequestOptions = Omit<Dispatcher.RequestOptions, "origin" | "path"> & {
  readonly dispatcher: Dispatcher;
};

/** undici's `request(url, { dispatcher, ... })`: one request through `dispatcher`, no redirects followed. */
export function request(url: URL, { dispatcher, ...options }: RequestOptions): Promise<Dispatcher.ResponseData> {
  return dispatcher.request({ ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}
