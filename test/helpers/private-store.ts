import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The build-user pool of Nix's default state directory (NIX_STATE_DIR=/nix/var/nix). */
const DEFAULT_USER_POOL = "/nix/var/nix/userpool";

/**
 * A Nix store of its own for a test file (NIX_STORE_DIR, NIX_STATE_DIR, NIX_LOG_DIR under
 * a temporary folder): its GC roots are only the test's, so `list` shows exactly what the
 * test made, and `nix-collect-garbage` collects only the test's paths, never what other
 * tests or people have in /nix/store. Builds work as in /nix/store (sandbox off, the
 * stand-in pkgs use host tools); nothing can be substituted into it.
 */
export interface PrivateStore {
  readonly root: string;
  readonly storeDir: string;
  /** The environment every Nix command and CLI run of the test needs (and XDG_DATA_HOME for pins). */
  readonly env: NodeJS.ProcessEnv;
  /** nix-build of an expression; each out path gets a GC root link `<outLink>`, `<outLink>-2`, … when given. */
  build(expression: string, outLink?: string): Promise<string[]>;
  nixStore(args: readonly string[]): Promise<string>;
  collectGarbage(): Promise<string>;
  close(): Promise<void>;
}

export async function privateStore(): Promise<PrivateStore> {
  const root = await mkdtemp(join(tmpdir(), "nmr-store-"));
  // Builds run as the nixbld users: they must reach the store.
  await chmod(root, 0o755);
  const storeDir = join(root, "store");
  // Nix picks a free build user by locking <state dir>/userpool/<uid>, then kills every
  // process of that uid before building (Nix 2.8 src/libstore/lock.cc). A state dir of
  // our own would have a pool of its own: a build here and one in /nix/store (or another
  // test's private store) could get the same nixbld user and kill each other's builder
  // ("due to signal 9"). One pool for every store on the machine: the default one.
  await mkdir(DEFAULT_USER_POOL, { recursive: true });
  await mkdir(join(root, "var"));
  await symlink(DEFAULT_USER_POOL, join(root, "var", "userpool"));
  const env: NodeJS.ProcessEnv = {
    NIX_STORE_DIR: storeDir,
    NIX_STATE_DIR: join(root, "var"),
    NIX_LOG_DIR: join(root, "log"),
    XDG_DATA_HOME: join(root, "data"),
  };
  const exec = async (command: string, args: readonly string[]) => {
    const { stdout } = await run(command, [...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 << 20,
      timeout: 300_000,
    });
    return stdout;
  };
  return {
    root,
    storeDir,
    env,
    async build(expression, outLink) {
      const dir = await mkdtemp(join(root, "expr-"));
      await chmod(dir, 0o755);
      const file = join(dir, "default.nix");
      await writeFile(file, expression);
      const link = outLink === undefined ? ["--no-out-link"] : ["--out-link", outLink];
      const args = [...link, "--option", "substituters", "", file];
      try {
        return (await exec("nix-build", args)).trim().split("\n");
      } catch (error) {
        // Nix 2.8 kills a builder when its log pipe closes, which a builder's own exit does
        // a moment before the exit completes: on a loaded machine one in many builds fails
        // "due to signal 9" (test/nix/pkgs.nix). A fresh store builds every stand-in tool,
        // so it meets the race more often; one more try builds only what failed.
        if (!String((error as { stderr?: string }).stderr).includes("due to signal 9")) throw error;
        return (await exec("nix-build", args)).trim().split("\n");
      }
    },
    nixStore: (args) => exec("nix-store", args),
    collectGarbage: () => exec("nix-collect-garbage", []),
    close: () => rm(root, { recursive: true, force: true }),
  };
}
