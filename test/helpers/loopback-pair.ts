import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * One request handler listening on 127.0.0.1 and 127.0.0.2 with the same port: Linux
 * routes all of 127/8 to lo, so a test server looks like two hosts, and a redirect from
 * one to the other is a cross-host redirect (where a client must drop its credentials).
 */
export type LoopbackHost = "127.0.0.1" | "127.0.0.2";

export const LOOPBACK_HOSTS: readonly LoopbackHost[] = ["127.0.0.1", "127.0.0.2"];

export interface LoopbackPair {
  readonly port: number;
  origin(host?: LoopbackHost): string;
  /** Closes both listeners and every open connection. */
  close(): Promise<void>;
}

export async function listenOnLoopbackPair(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LoopbackPair> {
  const servers: Server[] = [];
  let port = 0;
  for (const host of LOOPBACK_HOSTS) {
    const server = createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    origin: (host = "127.0.0.1") => `http://${host}:${port}`,
    close: () =>
      Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
