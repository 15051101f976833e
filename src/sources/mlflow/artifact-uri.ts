import { UserError } from "../../errors/user-error.js";
import { normaliseS3Prefix } from "../s3/spec.js";

/**
 * Where a model version's artifacts live, from the URI the registry gives
 * (get-download-uri), read as MLflow's artifact repositories read it
 * (mlflow/store/artifact/*_artifact_repo.py):
 *
 * - `mlflow-artifacts:/<path>` or `mlflow-artifacts://host[:port]/<path>`: the tracking
 *   server's artifact proxy, at {tracking scheme}://{the URI's host, else the tracking
 *   host}{tracking path}/api/2.0/mlflow-artifacts/artifacts/<path>;
 * - `http(s)://…/api/2.0/mlflow-artifacts/artifacts/<path>`: the same proxy, spelled out;
 * - `runs:/<run id>/<path>`: the run's artifact_uri (runs/get) joined with <path>;
 * - `s3://bucket/key`: the bucket itself (a server run with --no-serve-artifacts);
 * - anything else (file:, gs:, wasbs:, dbfs:, models:/) is refused with a clear message.
 */
export type ArtifactLocation =
  | {
      readonly kind: "proxy";
      /** http(s)://host[:port][/prefix]/api/2.0/mlflow-artifacts/artifacts (no trailing "/"). */
      readonly baseUrl: string;
      /** The artifacts' folder under the proxy: "" or "1/abc/artifacts/model" (no leading or trailing "/"). */
      readonly root: string;
    }
  | { readonly kind: "run"; readonly runId: string; readonly path: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

const PROXY_PATH = "/api/2.0/mlflow-artifacts/artifacts";

export function parseArtifactUri(uri: string, trackingUri: string): ArtifactLocation {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "mlflow-artifacts") return proxyLocation(uri, trackingUri);
  if (scheme === "http" || scheme === "https") {
    const url = new URL(uri);
    const at = url.pathname.indexOf(PROXY_PATH);
    if (at !== -1) {
      return {
        kind: "proxy",
        baseUrl: `${url.protocol}//${url.host}${url.pathname.slice(0, at)}${PROXY_PATH}`,
        root: trimSlashes(url.pathname.slice(at + PROXY_PATH.length)),
      };
    }
  }
  if (scheme === "runs") {
    const match = /^runs:\/*([^/]+)(?:\/(.*))?$/i.exec(uri);
    if (!match) throw unsupported(uri, "a runs:/ URI without a run id");
    return { kind: "run", runId: match[1]!, path: trimSlashes(match[2] ?? "") };
  }
  if (scheme === "s3" || scheme === "s3a") {
    const match = /^s3a?:\/\/([^/]+)\/?(.*)$/i.exec(uri);
    if (!match) throw unsupported(uri, "an s3:// URI without a bucket");
    return { kind: "s3", bucket: match[1]!, prefix: normaliseS3Prefix(trimSlashes(match[2]!)) };
  }
  throw unsupported(uri, scheme === undefined ? "a local path" : `the ${scheme}: scheme`);
}

/** A run's artifact URI joined with a path inside it, as posixpath.join would. */
export function joinArtifactUri(base: string, path: string): string {
  return path === "" ? base : `${base.replace(/\/+$/, "")}/${path}`;
}

function proxyLocation(uri: string, trackingUri: string): ArtifactLocation {
  const tracking = new URL(trackingUri);
  // "mlflow-artifacts://host:port/p" has a host; "mlflow-artifacts:/p" and ":///p" do not.
  const match = /^mlflow-artifacts:(?:\/\/([^/]*))?(\/.*)?$/i.exec(uri);
  if (!match) throw unsupported(uri, "a malformed mlflow-artifacts URI");
  const host = match[1] ? match[1] : tracking.host;
  if (match[1] && /^:\d+$/.test(match[1])) throw unsupported(uri, "an mlflow-artifacts URI with a port but no host");
  const trackingPath = tracking.pathname.replace(/\/+$/, "");
  return {
    kind: "proxy",
    baseUrl: `${tracking.protocol}//${host}${trackingPath}${PROXY_PATH}`,
    root: trimSlashes(match[2] ?? ""),
  };
}

function trimSlashes(path: string): string {
  return path
    .replace(/^\/+/, "")
    .replace(/\/+$/, "")
    .replace(/\/{2,}/g, "/");
}

function unsupported(uri: string, what: string): UserError {
  return new UserError({
    what: `The model's artifacts are at ${uri}, ${what}, which the fetcher cannot read`,
    fix: [
      "The fetcher reads artifacts through the tracking server's artifact proxy (mlflow-artifacts:, the default of `mlflow server`), from runs:/ URIs, and straight from s3://.",
      "Serve artifacts through the tracking server (`mlflow server --serve-artifacts`), or store them in S3.",
    ],
  });
}
