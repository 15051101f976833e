/**
 * A TCP relay in front of a server that counts the bytes the server sends: what a client
 * received on the wire (headers, bodies, JSON, everything). Clients are given the relay's URL;
 * `serve` builds its Xet URLs (CAS, xorbs) from the Host header, so Xet traffic goes through
 * it too. Runs in the bench's own process, for every tool alike.
 */
import { connect, createServer } from "node:net";

export async function startCountingProxy(targetUrl) {
  const target = new URL(targetUrl);
  let received = 0;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    upstream.on("data", (chunk) => {
      received += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Bytes the server sent so far. */
    received: () => received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
