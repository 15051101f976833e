import type { HttpClient } from "../../http/client.js";
import { TransferFailure } from "../../errors/failures.js";
import { retryPolicyFrom, withRetries } from "../../retry/retry.js";
import { logger } from "../../util/log.js";
import { displayUrl } from "../../util/secrets.js";
import { MAX_RECONSTRUCTION_REPLY_BYTES, parseReconstructionReply, type Reconstruction } from "../../xet/index.js";
import type { XetAccess, XetTokens } from "./tokens.js";

/**
 * The CAS's reconstruction query (xet-core spec/api.md, download_protocol.md):
 * `GET {casUrl}/v2/reconstructions/{file id}` with the Xet token as a bearer token and an
 * optional `Range`, falling back to `/v1/` when the CAS answers 404 or 501 to V2 (as hf_xet
 * does; remembered for the rest of the fetch). The token goes to the CAS's host only, never
 * after a redirect elsewhere; a 401 gets a fresh token once. The reply is read with a size cap
 * and parsed with bounds (src/xet parseReconstructionReply).
 */
export class CasClient {
  #version: 1 | 2 = 2;

  constructor(
    private readonly http: HttpClient,
    readonly tokens: XetTokens,
  ) {}

  /** `range` is inclusive, as in the Range header; undefined asks for the whole file. */
  async reconstruction(
    fileId: string,
    range: { readonly start: number; readonly end: number } | undefined,
    signal: AbortSignal,
  ): Promise<Reconstruction> {
    let token = await this.tokens.current(signal);
    for (let refreshed = false; ; ) {
      try {
        return await this.#query(fileId, range, token, signal);
      } catch (error) {
        if (!(error instanceof TransferFailure) || refreshed || error.status !== 401) throw error;
        token = await this.tokens.replacing(token, signal);
        refreshed = true;
      }
    }
  }

  async #query(
    fileId: string,
    range: { readonly start: number; readonly end: number } | undefined,
    token: XetAccess,
    signal: AbortSignal,
  ): Promise<Reconstruction> {
    for (;;) {
      const version = this.#version;
      const url = new URL(`${token.casUrl}/v${version}/reconstructions/${fileId}`);
      try {
        // http.request retries up to the headers; a reply cut or stalled mid-body is asked for
        // again here (a request that already gave up is no longer retryable, so this adds no
        // attempts to it).
        const reply = await withRetries(
          async () => {
            const response = await this.http.request(url, {
              credential: { authorization: `Bearer ${token.accessToken}`, hosts: [url.host] },
              headers: range === undefined ? {} : { range: `bytes=${range.start}-${range.end}` },
              accept: "application/json",
              signal,
            });
            return response.body.bytes(MAX_RECONSTRUCTION_REPLY_BYTES);
          },
          {
            policy: retryPolicyFrom(this.http.settings),
            signal,
            onRetry: (failure, delayMs) =>
              logger.info(`${failure.message} (${displayUrl(url)}); retrying in ${(delayMs / 1000).toFixed(1)} s`),
          },
        );
        return parseReconstructionReply(reply, version);
      } catch (error) {
        const unsupported = error instanceof TransferFailure && (error.status === 404 || error.status === 501);
        if (version !== 2 || !unsupported) throw error;
        this.#version = 1;
      }
    }
  }
}
