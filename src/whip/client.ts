import { EndpointRefusedError, EndpointUnreachableError, WhipcastError } from "../errors.ts";
import { readCappedText } from "../http-body.ts";
import { redactUrl } from "../redact.ts";
import { type IceServer, iceServersFromLinks } from "./link-header.ts";
import { describeProblem, oneLine } from "./problem.ts";
import { SDPFRAG_TYPE } from "./sdpfrag.ts";

/**
 * WHIP client, RFC 9725 from the publisher's side.
 *
 * A state machine whose states carry what the next request needs:
 *   idle → posting{hops} → live{resource, etag} → ended
 * Every request has a timeout; stopping ends retry waits. Redirects are followed by hand (§4.5)
 * because the fetch policy would drop the Authorization header.
 */
export interface WhipClientOptions {
  endpoint: string;
  token?: string;
  /** Per-request timeout (connect and answer), ms. */
  timeoutMs?: number;
  /** Largest response body accepted, bytes. */
  maxBodyBytes?: number;
  /** Attempts for a POST answered with 5xx or not answered at all. */
  maxAttempts?: number;
  /** Longest Retry-After honoured, ms; longer waits fail at once. */
  maxRetryAfterMs?: number;
  /** Stopping: ends retry waits at once (requests themselves are bounded by their timeout). */
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  log?: (message: string) => void;
}

export interface WhipAnswer {
  sdp: string;
  /** The POST's status (201, or 200 from endpoints that answer so). */
  status: number;
  /** The Location header as sent: relative or absolute (`resource` is it resolved). */
  location: string;
  resource: string;
  etag: string | undefined;
  iceServers: IceServer[];
}

type State = { name: "idle" } | { name: "posting"; hops: number } | { name: "live"; resource: string; etag: string | undefined } | { name: "ended" };

const MAX_REDIRECTS = 10;

export class WhipClient {
  #state: State = { name: "idle" };
  readonly #o: Required<Omit<WhipClientOptions, "token" | "signal">> & Pick<WhipClientOptions, "token" | "signal">;

  constructor(options: WhipClientOptions) {
    this.#o = {
      timeoutMs: 10_000,
      maxBodyBytes: 256 * 1024,
      maxAttempts: 3,
      maxRetryAfterMs: 30_000,
      sleep: abortableSleep,
      log: () => {},
      ...options,
    };
  }

  /** §4.2: POST the offer; resolve with the answer once the endpoint created the session. */
  async publish(offer: string): Promise<WhipAnswer> {
    if (this.#state.name !== "idle") throw new Error(`publish() in state ${this.#state.name}`);
    let url = this.#o.endpoint;
    let attempt = 1;
    this.#state = { name: "posting", hops: 0 };
    for (;;) {
      let res: Response;
      try {
        res = await this.#request(url, { method: "POST", headers: { "content-type": "application/sdp", accept: "application/sdp" }, body: offer });
      } catch (error) {
        if (error instanceof EndpointUnreachableError && attempt < this.#o.maxAttempts && !this.#o.signal?.aborted) {
          this.#o.log(`${error.message}; retrying (${attempt}/${this.#o.maxAttempts - 1})`);
          await this.#o.sleep(backoffMs(attempt), this.#o.signal);
          attempt++;
          continue;
        }
        this.#state = { name: "idle" };
        throw error;
      }
      const state = this.#state as { name: "posting"; hops: number };
      if (res.status === 307 || res.status === 308) {
        // §4.5: only 307/308, which keep the method and body; re-send the token to the new URL.
        await discard(res);
        const location = res.headers.get("location");
        if (!location) throw this.#fail(new EndpointRefusedError(`endpoint answered ${res.status} without a Location header`, res.status));
        if (state.hops >= MAX_REDIRECTS) throw this.#fail(new EndpointRefusedError(`endpoint redirected more than ${MAX_REDIRECTS} times`, res.status));
        url = new URL(location, url).href;
        this.#state = { name: "posting", hops: state.hops + 1 };
        this.#o.log(`redirected (${res.status}) to ${redactUrl(url)}`);
        continue;
      }
      if (res.status === 201 || res.status === 200) return this.#accept(res, url);
      const body = await this.#readBody(res).catch(() => "");
      const label = `${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
      // A problem title that only repeats the status text adds nothing: "401 Unauthorized: <detail>".
      const why = describeProblem(res.headers.get("content-type"), body)?.replace(new RegExp(`^${res.statusText.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `, "i"), "");
      if (res.status >= 500) {
        const retryAfter = res.status === 503 ? parseRetryAfter(res.headers.get("retry-after"), Date.now()) : undefined;
        if (attempt < this.#o.maxAttempts && (retryAfter === undefined || retryAfter <= this.#o.maxRetryAfterMs)) {
          const wait = retryAfter ?? backoffMs(attempt);
          this.#o.log(`endpoint answered ${label}; retrying in ${(wait / 1000).toFixed(1)} s (${attempt}/${this.#o.maxAttempts - 1})`);
          await this.#o.sleep(wait, this.#o.signal);
          attempt++;
          continue;
        }
        const retried = attempt > 1 ? ` after ${attempt} attempts` : "";
        throw this.#fail(new EndpointUnreachableError(`endpoint failed with ${label}${retried}${why ? `: ${why}` : ""}`, res.status, retryAfter));
      }
      if (res.status >= 300 && res.status < 400) {
        throw this.#fail(new EndpointRefusedError(`endpoint answered ${label}; WHIP allows only 307 and 308 redirects`, res.status));
      }
      const hint = res.status === 401 || res.status === 403 ? " (check --token / WHIP_TOKEN)" : "";
      const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get("retry-after"), Date.now()) : undefined;
      throw this.#fail(new EndpointRefusedError(`endpoint refused the stream: ${label}${why ? `: ${why}` : hint}`, res.status, retryAfter));
    }
  }

  /**
   * §4.4.2: an ICE restart. PATCH the offer sdpfrag (new credentials and candidates) with
   * `If-Match: *`; a 200 carries the endpoint's new credentials and a new ETag. An endpoint
   * without restarts (405, 501, 422 and the like) or that no longer has the session (404) is
   * "unsupported": POST a new offer instead. Throws EndpointUnreachableError when not answered.
   */
  async restartIce(offerFrag: string): Promise<{ kind: "answered"; sdpfrag: string } | { kind: "unsupported"; status: number }> {
    if (this.#state.name !== "live") return { kind: "unsupported", status: 0 };
    const live = this.#state;
    const res = await this.#request(live.resource, { method: "PATCH", headers: { "content-type": SDPFRAG_TYPE, "if-match": "*" }, body: offerFrag });
    if (res.status !== 200) {
      await discard(res);
      return { kind: "unsupported", status: res.status };
    }
    const sdpfrag = await this.#readBody(res);
    if (this.#state === live) this.#state = { name: "live", resource: live.resource, etag: res.headers.get("etag") ?? undefined };
    return { kind: "answered", sdpfrag };
  }

  /**
   * OPTIONS on the endpoint (RFC 9725 §4.2: a browser's CORS preflight; whipcast itself does not
   * need it). What `whipcast check` reports first. Throws EndpointUnreachableError when not answered.
   */
  async options(): Promise<{ status: number; acceptPost: string | undefined; allow: string | undefined }> {
    const res = await this.#request(this.#o.endpoint, { method: "OPTIONS" });
    await discard(res);
    return { status: res.status, acceptPost: res.headers.get("accept-post") ?? undefined, allow: res.headers.get("allow") ?? undefined };
  }

  /** §4.3: end the session. Idempotent; a failure is reported, never thrown. */
  async end(timeoutMs = 2_000): Promise<{ deleted: boolean; status?: number; detail?: string }> {
    if (this.#state.name !== "live") {
      this.#state = { name: "ended" };
      return { deleted: false };
    }
    const { resource } = this.#state;
    this.#state = { name: "ended" };
    try {
      const res = await this.#request(resource, { method: "DELETE" }, timeoutMs);
      await discard(res);
      return res.ok || res.status === 404 ? { deleted: true, status: res.status } : { deleted: false, status: res.status, detail: `endpoint answered DELETE with ${res.status}` };
    } catch (error) {
      return { deleted: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  /** After end(): whether the resource is really gone (a DELETE again gets 404 or 410). */
  async confirmGone(resource: string, timeoutMs = 2_000): Promise<{ gone: boolean; status?: number }> {
    try {
      const res = await this.#request(resource, { method: "DELETE" }, timeoutMs);
      await discard(res);
      return { gone: res.status === 404 || res.status === 410, status: res.status };
    } catch {
      return { gone: false };
    }
  }

  async #accept(res: Response, finalUrl: string): Promise<WhipAnswer> {
    const location = res.headers.get("location");
    const body = await this.#readBody(res).catch((error: unknown) => {
      throw this.#fail(error instanceof WhipcastError ? error : new EndpointRefusedError(`could not read the endpoint's answer: ${String(error)}`));
    });
    if (!location) throw this.#fail(new EndpointRefusedError(`endpoint answered ${res.status} without a Location header`, res.status));
    // §4.2: the Location may be relative; resolve it against the URL the POST finally went to.
    const resource = new URL(location, finalUrl).href;
    this.#state = { name: "live", resource, etag: res.headers.get("etag") ?? undefined };
    const contentType = res.headers.get("content-type") ?? "";
    if (!/^application\/sdp\b/i.test(contentType)) {
      throw new EndpointRefusedError(`endpoint answered with Content-Type ${oneLine(contentType || "(none)", 60)}, expected application/sdp`, res.status);
    }
    return { sdp: body, status: res.status, location, resource, etag: this.#state.etag, iceServers: iceServersFromLinks(res.headers.get("link")) };
  }

  #fail(error: WhipcastError): WhipcastError {
    this.#state = { name: "idle" };
    return error;
  }

  /**
   * One request, bounded only by its timeout. The outer signal never cuts a request short: a
   * POST in flight may already have created the session, and only its answer says what to
   * DELETE; the DELETE itself must go out after Ctrl+C. The outer signal only ends retry waits.
   */
  async #request(url: string, init: RequestInit, timeoutMs = this.#o.timeoutMs): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#o.token) headers.set("authorization", `Bearer ${this.#o.token}`);
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await fetch(url, { ...init, headers, redirect: "manual", signal: timeout, keepalive: false });
    } catch (error) {
      if (timeout.aborted) throw new EndpointUnreachableError(`no answer from ${redactUrl(url)} within ${timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`}`);
      const msg = error instanceof Error ? (error as { code?: string }).code ?? error.message : String(error);
      throw new EndpointUnreachableError(`cannot reach ${redactUrl(url)}: ${oneLine(msg, 120)}`);
    }
  }

  /** Read a body, refusing more than maxBodyBytes without buffering it. */
  #readBody(res: Response): Promise<string> {
    const cap = this.#o.maxBodyBytes;
    return readCappedText(res, cap, (declared) =>
      declared === undefined
        ? new EndpointRefusedError(`endpoint response body exceeds the ${cap}-byte limit`, res.status)
        : new EndpointRefusedError(`endpoint response body is ${declared} bytes, over the ${cap}-byte limit`, res.status),
    );
  }
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. Returns ms, or undefined if absent/invalid. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function backoffMs(attempt: number): number {
  return 500 * 2 ** (attempt - 1);
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new EndpointUnreachableError("stopped while waiting to retry"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EndpointUnreachableError("stopped while waiting to retry"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
