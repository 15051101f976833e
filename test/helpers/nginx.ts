/**
 * Debian's nginx as a plain file server for tests: started in the foreground with its
 * own configuration in a temp dir (no /etc/nginx, no /var/lib/nginx), on a free port of
 * 127.0.0.1, serving one directory. Serving files is nginx's job, so a test against it
 * checks the HTTP source against the real thing (ETag, Range, keep-alive and all).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const nginxPath = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));

export const hasNginx = (() => {
  if (nginxPath === undefined) return false;
  try {
    execFileSync(nginxPath, ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

export interface Nginx {
  readonly url: string;
  close(): Promise<void>;
}

export async function startNginx(root: string): Promise<Nginx> {
  if (nginxPath === undefined) throw new Error("nginx is not installed (apt-get install -y nginx)");
  const dir = await mkdtemp(join(tmpdir(), "nmr-nginx-"));
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) await mkdir(join(dir, sub));
  const port = await freePort();
  const config = `
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { application/octet-stream bin; application/json json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`;
  await writeFile(join(dir, "nginx.conf"), config);
  const child: ChildProcess = spawn(nginxPath, ["-p", dir, "-c", join(dir, "nginx.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`${url}/`, { method: "HEAD" });
      break;
    } catch {
      if (child.exitCode !== null || attempt > 100) {
        child.kill();
        throw new Error(`nginx did not start: ${stderr}`);
      }
      await sleep(50);
    }
  }
  return {
    url,
    close: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
