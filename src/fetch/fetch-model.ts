import { lstat, mkdir, readdir, rm } from "node:fs/promises";
import { createHttpClient } from "../http/client.js";
import { layoutWriterFor } from "../layout/writer.js";
import type { ModelMeta } from "../model/meta.js";
import type { ResolvedModel } from "../model/resolved-model.js";
import type { TransferItem, TransferredFile } from "../transfer/types.js";
import { fetchSelected } from "./fetch-selected.js";
import type { ProgressReporter } from "../progress/types.js";
import { loadSourceAdapter } from "../sources/registry.js";
import { httpSettingsFrom } from "./http-settings.js";
import type { FetchSpec } from "./spec.js";
import { transferAll } from "../transfer/engine.js";
import { setTimeout as sleep } from "node:timers/promises";
import { UserError } from "../errors/user-error.js";
import { describeError, explainFailure, type ExplainHook } from "../errors/explain.js";
import { logger } from "../util/log.js";
import { totalBytes } from "../util/units.js";
import { runNotify } from "./notify.js";
import { version } from "../util/version.js";

/**
 * One fetch, start to finish: resolve the source, move the bytes, write the layout.
 * This is the single code path behind both the FOD builder (`fetch`) and `prefetch`,
 * which is why a prefetched hash always matches the later build.
 *
 * On failure the output is removed: no partial output is ever left.
 */
export interface FetchOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly progress: ProgressReporter;
  readonly signal?: AbortSignal;
}

/** The whole model in its layout, with the meta file; returns the meta. */
export function fetchModelInto(spec: FetchSpec, out: string, options: FetchOptions): Promise<ModelMeta> {
  if (spec.select !== null) throw new Error("internal error: fetchModelInto given a per-file spec (use runFetchSpec)");
  return withAttempts(spec, out, options, (attemptOptions) =>
    withResolvedModel(spec, attemptOptions, async ({ model, transfer }) => {
      const layout = layoutWriterFor(model);
      const plan = layout.plan(out, model.files);
      const transferred = await transfer(plan.items);
      return layout.finish(out, model, plan, transferred);
    }),
  );
}

/**
 * What the spec asks for: the whole model (fetchModelInto), or with `select` — a
 * lockfile's per-file fetch (selection.ts) — only the files it names, into a file or a
 * folder of files (fetch-selected.ts), with no layout and no meta file.
 */
export async function runFetchSpec(spec: FetchSpec, out: string, options: FetchOptions): Promise<void> {
  const select = spec.select;
  if (select === null) {
    await fetchModelInto(spec, out, options);
    return;
  }
  await withAttempts(spec, out, options, (attemptOptions) =>
    withResolvedModel(
      spec,
      { ...attemptOptions, pinned: select.resolved, wanted: select.files.map((file) => file.path) },
      (fetch) => fetchSelected(select, out, fetch),
    ),
  );
}

/**
 * Runs `once` with a fresh output, as many times as onFailure allows, all within
 * network.timeout.total; removes the output after each failure. `once` gets the options
 * whose signal carries the deadline.
 */
async function withAttempts<T>(
  spec: FetchSpec,
  out: string,
  options: FetchOptions,
  once: (options: FetchOptions) => Promise<T>,
): Promise<T> {
  const deadline = deadlineFor(spec);
  const signal = AbortSignal.any([...(options.signal ? [options.signal] : []), deadline.signal]);
  try {
    return await attemptsOf(spec, out, { ...options, signal }, options.signal, once);
  } finally {
    deadline.clear();
  }
}

/** `stopped` is the caller's own signal: stopped on purpose (Ctrl-C), the fetch did not fail, and notifies no one. */
async function attemptsOf<T>(
  spec: FetchSpec,
  out: string,
  options: FetchOptions,
  stopped: AbortSignal | undefined,
  once: (options: FetchOptions) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (spec.select?.output === "file") await refuseExisting(out);
    else await createEmptyOutput(out);
    try {
      return await once(options);
    } catch (error) {
      await rm(out, { recursive: true, force: true });
      if (attempt >= spec.onFailure.attempts || options.signal?.aborted) {
        if (spec.onFailure.notify !== null && !stopped?.aborted) {
          await runNotify(spec.onFailure.notify, spec.name, error, options.env);
        }
        throw error;
      }
      logger.warn(
        `fetch attempt ${attempt} of ${spec.onFailure.attempts} failed; starting over (onFailure.action = "retry"):\n${describeError(error)}`,
      );
      await sleep(WHOLE_FETCH_RETRY_DELAY_MS);
    }
  }
}

const WHOLE_FETCH_RETRY_DELAY_MS = 5_000;

/**
 * network.timeout.total: one deadline for the whole fetch, its retries included. When it
 * passes, everything in flight is aborted with this explanation as the reason, and the
 * fetch fails like any other (no output left).
 */
function deadlineFor(spec: FetchSpec): { readonly signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const seconds = spec.network.timeout.total;
  if (seconds === null) return { signal: controller.signal, clear: () => undefined };
  const timer = setTimeout(
    () =>
      controller.abort(
        new UserError({
          what: `The fetch did not finish within network.timeout.total (${seconds} s)`,
          cause: `stopped after ${seconds} s`,
          fix: [
            "If the link is slow but working, raise network.timeout.total, or set it to null for no deadline.",
            "A server that stalls is cut by network.timeout.read and the low-speed limit (network.timeout.lowSpeedLimit, lowSpeedTime) on their own.",
          ],
        }),
      ),
    seconds * 1000,
  );
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** A source resolved into files, and the engine to move them with. */
export interface ResolvedFetch {
  readonly model: ResolvedModel;
  /** What was being fetched, in a few words ("acme/tiny @ main"): for progress and messages. */
  readonly subject: string;
  /** Moves the bytes of `items` through the transfer engine; progress begins and ends here. */
  transfer(items: readonly TransferItem[]): Promise<readonly TransferredFile[]>;
}

export interface ResolveOptions extends FetchOptions {
  /** A lock's `resolved`: the adapter resolves to exactly that (AdapterContext.pinned). */
  readonly pinned?: Readonly<Record<string, string>>;
  /** The paths a per-file fetch needs (AdapterContext.wanted). */
  readonly wanted?: readonly string[];
}

/**
 * Resolves the spec's source and runs `work` with the resolved model: the frame every
 * fetch shares — the HTTP client built from the spec's network settings, the adapter's
 * explanation of failures (every failure inside `work` is explained here, once), and
 * the release of whatever the adapter made outside the output (a git clone, scratch
 * space), whether `work` succeeds or not.
 */
export async function withResolvedModel<T>(
  spec: FetchSpec,
  options: ResolveOptions,
  work: (fetch: ResolvedFetch) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const settings = httpSettingsFrom(spec.network, `nix-model-repo/${version}`);
  const http = createHttpClient(settings);
  const adapter = await loadSourceAdapter(spec.source.type);
  const described = adapter.describe(spec.source);
  const subject = Object.values(described).filter(Boolean).slice(1).join(" @ ");
  let explain: ExplainHook | undefined;
  // Whatever the adapter made outside the output (a git clone, an unpack's scratch space) goes when the fetch does.
  let release: (() => Promise<void>) | undefined;
  try {
    const model = await adapter.resolve(spec.source, {
      http,
      auth: spec.auth,
      env: options.env,
      signal,
      ...(options.pinned === undefined ? {} : { pinned: options.pinned }),
      ...(options.wanted === undefined ? {} : { wanted: options.wanted }),
      xet: spec.network.xet,
      explainFailuresWith: (hook) => {
        explain = hook;
      },
    });
    release = model.release;
    const transfer = async (items: readonly TransferItem[]): Promise<readonly TransferredFile[]> => {
      options.progress.begin({
        label: subject,
        files: items.length,
        bytes: totalBytes(items.map((item) => item.size)),
      });
      let ok = false;
      try {
        const transferred = await transferAll(items, { settings, progress: options.progress, signal });
        ok = true;
        return transferred;
      } finally {
        options.progress.end({ ok });
      }
    };
    return await work({ model, subject, transfer });
  } catch (error) {
    // The one place a failure of the fetch becomes the user's message, in the source's words
    // first. Stopped from outside (network.timeout.total, Ctrl-C), that is what happened,
    // whatever a source made of the abort (git, killed, fails in its own way).
    const cause = options.signal?.aborted ? options.signal.reason : error;
    throw explainFailure(cause, { context: described, subject, hook: explain });
  } finally {
    controller.abort();
    await http.close();
    await release?.();
  }
}

/** A flat output is the file itself: it must not exist yet (its folder must). */
async function refuseExisting(out: string): Promise<void> {
  try {
    await lstat(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  throw new UserError({ what: `The output ${out} already exists`, fix: ["Remove it, or choose another --out."] });
}

async function createEmptyOutput(out: string): Promise<void> {
  let entries: string[] | undefined;
  try {
    entries = await readdir(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (entries !== undefined && entries.length > 0) {
    throw new UserError({
      what: `The output directory ${out} already exists and is not empty`,
      fix: ["Remove it, or choose another --out."],
    });
  }
  await mkdir(out, { recursive: true });
}
