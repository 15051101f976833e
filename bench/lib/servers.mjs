/**
 * The servers the clients download from, each a separate process on loopback:
 * - the Hub: `nix-model-repo serve` from the bundle, with its debug access log on, which
 *   the bench reads to count the requests each client makes and to time-stamp them;
 * - the CDN: nginx serving the blob files at the paths `serve --cdn-url` redirects to,
 *   with a per-connection `limit_rate` like a real CDN edge, or over HTTPS.
 */
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { OWN_GROUP, trackChild } from "./cleanup.mjs";

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port, child, describe) {
  for (let tries = 0; tries < 200; tries++) {
    if (child.exitCode !== null) throw new Error(`${describe} exited with ${child.exitCode}`);
    const open = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(25);
  }
  throw new Error(`${describe} did not open port ${port}`);
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  return exited;
}

/**
 * Starts `nix-model-repo serve root --port 0 [...extraArgs]`.
 * Returns { url, requests: [{ at, method, path, status }], close() }.
 */
export async function startHubServer(cli, root, extraArgs = []) {
  const child = trackChild(
    spawn(process.execPath, [cli, "serve", root, "--port", "0", ...extraArgs], {
      ...OWN_GROUP,
      env: { ...process.env, NIX_MODEL_REPO_LOG: "debug" },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const requests = [];
  let stderrTail = "";
  let partial = "";
  child.stderr.setEncoding("utf8").on("data", (text) => {
    const at = performance.now();
    stderrTail = (stderrTail + text).slice(-2000);
    const lines = (partial + text).split("\n");
    partial = lines.pop();
    for (const line of lines) {
      const match = /^debug: (\S+) (\S+) (\S+)$/.exec(line);
      if (match) requests.push({ at, method: match[1], path: match[2], status: match[3] });
    }
  });
  const url = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${stderrTail}`)), 20_000);
    child.stdout.setEncoding("utf8").on("data", (text) => {
      stdout += text;
      const match = / on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${stderrTail}`));
    });
  });
  child.stdout.resume();
  return { url, requests, close: () => stopChild(child) };
}

/**
 * nginx as the CDN: `location` maps each prefix to a directory (alias), every response
 * limited to `rateBytesPerSec` per connection (0: no limit, as in nginx). With `tls` ({
 * certificate, key }: PEM files, see tls.mjs) it answers HTTPS. Returns { url,
 * countRequests(), close() }.
 */
export async function startNginx(scratch, locations, rateBytesPerSec, { tls } = {}) {
  const port = await freePort();
  const accessLog = join(scratch, "nginx-access.log");
  const config = join(scratch, "nginx.conf");
  const asRoot = process.getuid?.() === 0;
  await writeFile(
    config,
    `# written by bench/lib/servers.mjs
${asRoot ? "user root;  # the temp dirs are 0700; workers must read them" : ""}
worker_processes 2;
daemon off;
pid ${join(scratch, "nginx.pid")};
error_log ${join(scratch, "nginx-error.log")} warn;
events { worker_connections 256; }
http {
  access_log ${accessLog};
  client_body_temp_path ${scratch}/client_body;
  proxy_temp_path ${scratch}/proxy;
  fastcgi_temp_path ${scratch}/fastcgi;
  uwsgi_temp_path ${scratch}/uwsgi;
  scgi_temp_path ${scratch}/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:${port}${tls === undefined ? "" : ` ssl;\n    ssl_certificate ${tls.certificate};\n    ssl_certificate_key ${tls.key}`};
${locations.map(({ prefix, directory }) => `    location ${prefix} { alias ${directory}/; limit_rate ${rateBytesPerSec}; }`).join("\n")}
  }
}
`,
  );
  const child = trackChild(
    spawn("nginx", ["-e", join(scratch, "nginx-error.log"), "-p", scratch, "-c", config], {
      ...OWN_GROUP,
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text) => (stderr += text));
  try {
    await waitForPort(port, child, "nginx");
  } catch (error) {
    await stopChild(child);
    throw new Error(`${error.message}\n${stderr}`);
  }
  return {
    url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    countRequests: async () => (await readFile(accessLog, "utf8").catch(() => "")).split("\n").filter(Boolean).length,
    close: () => stopChild(child),
  };
}
