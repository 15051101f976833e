// undici's own files, which src/http/undici.ts loads instead of the package's index. They
// are CommonJS; each module.exports is typed with undici's public types.
declare module "undici/lib/dispatcher/env-http-proxy-agent.js" {
  const EnvHttpProxyAgent: typeof import("undici").EnvHttpProxyAgent;
  export default EnvHttpProxyAgent;
}

declare module "undici/lib/dispatcher/agent.js" {
  const Agent: typeof import("undici").Agent;
  export default Agent;
}

declare module "undici/lib/dispatcher/dispatcher.js" {
  const Dispatcher: { readonly prototype: object };
  export default Dispatcher;
}

declare module "undici/lib/api/index.js" {
  const api: Readonly<Record<"request" | "stream" | "pipeline" | "upgrade" | "connect", unknown>>;
  export default api;
}
