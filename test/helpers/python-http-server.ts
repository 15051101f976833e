import { spawn, spawnSync } from "node:child_process";

/**
 * Python's own file server (`python3 -m http.server`) on loopback, serving a directory:
 * a server nobody here wrote that answers in HTTP/1.0, closes the connection after every
 * response and ignores Range, as many simple file servers do. Optional: tests use
 * `pythonHttpServerSkipReason` with `describe.skipIf`.
 */
const python = "python3";

export const pythonHttpServerSkipReason: string | undefined =
  spawnSync(python, ["--version"], { stdio: "ignore" }).status === 0 ? undefined : `${python} not found`;

export interface PythonHttpServer {
  /** `http://127.0.0.1:<port>`: paths below it are files under the served directory. */
  readonly origin: string;
  close(): Promise<void>;
}

export async function startPythonHttpServer(directory: string): Promise<PythonHttpServer> {
  // -u: the "Serving HTTP on … port N" line must not wait in Python's stdout buffer.
  const child = spawn(python, ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, "0"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${output}`)), 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = / port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`python3 -m http.server exited (${code}): ${output}`));
    });
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      child.kill();
      await exited;
    },
  };
}
