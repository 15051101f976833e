// The dispatcher gives undici node's header limit itself (src/http/dispatcher.ts), so that
// undici never loads node:http to read it (patches/undici+7.30.2.patch). These check that the
// limit is the one it always was: a server's headers up to 16 KiB are read, more are refused,
// through the direct agent and through the proxy agent alike.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDispatcher } from "../../src/http/dispatcher.js";
import { defaultHttpSettings } from "../../src/http/settings.js";
import { request } from "../../src/http/undici.js";

let server: Server;
let origin: string;

beforeAll(async () => {
  // Answers /<n> with a header of n bytes of value.
  server = createServer({ maxHeaderSize: 1 << 20 }, (incoming, response) => {
    const bytes = Number(incoming.url?.slice(1));
    response.setHeader("x-padding", "a".repeat(bytes));
    response.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const settings = { ...defaultHttpSettings, connectTimeoutMs: 5_000, readTimeoutMs: 5_000 };
const agents = [
  { label: "the direct agent", env: {} },
  // A proxy for another scheme only: the proxy agent routes this request directly.
  { label: "the proxy agent", env: { https_proxy: "http://127.0.0.1:9" } },
];

describe.each(agents)("a response's headers, through $label", ({ env }) => {
  it("of 15 KiB are read", async () => {
    const dispatcher = createDispatcher(settings, env);
    try {
      const response = await request(new URL(`${origin}/${15 * 1024}`), { dispatcher, method: "GET" });
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe("ok");
    } finally {
      await dispatcher.close();
    }
  });

  it("of 17 KiB are refused as undici's headers overflow", async () => {
    const dispatcher = createDispatcher(settings, env);
    try {
      await expect(request(new URL(`${origin}/${17 * 1024}`), { dispatcher, method: "GET" })).rejects.toMatchObject({
        code: "UND_ERR_HEADERS_OVERFLOW",
      });
    } finally {
      await dispatcher.close();
    }
  });
});
