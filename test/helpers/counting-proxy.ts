import { createServer, type Server, type Socket, connect } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 that counts what a server sends: the bytes that really cross
 * the wire to the client (headers and bodies), and the connections. Tests put it in front
 * of a server to assert how much a command downloaded, without trusting the command's own
 * report. The target can change (a server restarted on another port) while it runs.
 */
export interface CountingProxy {
  readonly url: string;
  /** Bytes the server sent through the proxy since the last reset. */
  readonly bytesToClient: () => number;
  readonly connections: () => number;
  reset(): void;
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let target = targetPort;
  let bytes = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    upstream.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bytesToClient: () => bytes,
    connections: () => connections,
    reset() {
      bytes = 0;
      connections = 0;
    },
    retarget(next) {
      target = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
