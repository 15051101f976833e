/**
 * A name a server chooses reaches the terminal only as text (issue 14, item 5): a Hub repo
 * holding a file named `\e[2J\e]0;pwned\aX.txt` (clear the screen, set the window title,
 * ring the bell) is fetched by the bundled CLI from the project's own Hub server, and
 * whatever the CLI prints about it, in each progress mode and in an error, carries no
 * control character: the name is shown with escapes instead.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faults, startHubServer, type HubServer } from "../../src/serve/index.js";
import { fetchCommand, runCli } from "../helpers/cli.js";
import { writeHubRepo } from "../helpers/hub-fixture.js";

const HOSTILE = "\x1b[2J\x1b]0;pwned\x07X.txt";
const SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07X.txt";

let root: string;
let hub: HubServer;
let runs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nmr-names-"));
  await writeHubRepo(join(root, "cache"), {
    repoId: "acme/names",
    files: { [HOSTILE]: "hello", "config.json": "{}" },
  });
  hub = await startHubServer({ root: join(root, "cache"), onWarning: () => undefined });
});

afterAll(async () => {
  await hub?.close();
  await rm(root, { recursive: true, force: true });
});

async function fetchNames(mode: string, maxAttempts = 1) {
  const { args } = await fetchCommand(join(root, `run-${++runs}`), {
    name: "names",
    source: { type: "huggingface", repo: "acme/names", revision: "main", endpoint: hub.url },
    network: { retry: { maxAttempts, baseDelay: 0 } },
  });
  return runCli(args, { env: { NIX_MODEL_REPO_PROGRESS: mode } });
}

/** No ESC, BEL or CSI/OSC introducer a remote name could have put there; `allowed` lists the CLI's own. */
function expectNoRemoteControls(text: string, allowed: readonly string[] = []): void {
  let rest = text;
  for (const sequence of allowed) rest = rest.split(sequence).join("");
  expect(rest).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

describe("a remote file name with terminal escapes", () => {
  it("is shown escaped in plain progress lines", async () => {
    const result = await fetchNames("plain");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`started ${SHOWN}`);
    expectNoRemoteControls(result.stderr);
  });

  it("is shown escaped on a terminal, where the bar's own redraw codes are the only ones", async () => {
    // A cut connection makes the bar print a note naming the file above it.
    hub.setFaults(faults.times(1, { dropAfterBytes: 2 }, (request) => request.file === HOSTILE));
    try {
      const result = await fetchNames("tty", 2);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`${SHOWN}: `);
      expectNoRemoteControls(result.stderr, ["\r", "\x1b[K"]);
    } finally {
      hub.setFaults(undefined);
    }
  });

  it("reaches Nix's log lines already escaped, since Nix decodes the JSON and prints the text", async () => {
    const result = await fetchNames("nix");
    expect(result.code, result.stderr).toBe(0);
    const texts = result.stderr
      .split("\n")
      .filter((line) => line.startsWith("@nix "))
      .map((line) => JSON.parse(line.slice(5)) as { text?: string; fields?: unknown[]; msg?: string })
      .flatMap((message) => [message.text ?? "", message.msg ?? "", ...(message.fields ?? []).map(String)]);
    expect(texts.some((text) => text.includes(SHOWN))).toBe(true);
    for (const text of texts) expectNoRemoteControls(text);
  });

  it("is shown escaped in the error that names it", async () => {
    hub.setFaults(
      faults.always({ respond: { status: 404, body: { error: "gone" } } }, (request) => request.file === HOSTILE),
    );
    try {
      const result = await fetchNames("plain");
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: Failed to download ${SHOWN}`);
      expectNoRemoteControls(result.stderr);
    } finally {
      hub.setFaults(undefined);
    }
  });
});
