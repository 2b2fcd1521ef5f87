import { timingSafeEqual } from "node:crypto";
import { readCappedText } from "../http-body.ts";
import { iceServerLink } from "../whip/link-header.ts";
import { SDPFRAG_TYPE } from "../whip/sdpfrag.ts";
import { HttpError } from "./http-error.ts";
import { indexPage, watchPage } from "./pages.ts";
import type { Relay, SessionKind } from "./relay.ts";
import { RelayError, type RelayRefusal } from "./relay-error.ts";

/** Request bodies (SDP offers, sdpfrags) larger than this are refused with 413. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface RouteOptions {
  relay: Relay;
  /** The client's address, which the relay's per-client limits count by. */
  clientAddress?: (req: Request) => string;
  /** Bearer token needed to publish (WHIP), if any. */
  token?: string;
  /** Bearer token needed to view (WHEP), if any. */
  viewerToken?: string;
  /** Link headers advertising the server's ICE servers (RFC 9725 §4.6). */
  iceLinks: string[];
}

const CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "authorization, content-type, if-match",
  "access-control-expose-headers": "location, etag, link, accept-post, accept-patch",
};

/** Each relay refusal's HTTP status and problem title (RFC 9725 §4.2, §4.4; RFC 9110). */
const REFUSALS: Record<RelayRefusal, [number, string]> = {
  "malformed-offer": [400, "Malformed SDP offer"],
  "no-usable-media": [400, "No usable media"],
  "stream-live": [409, "Stream is live"],
  "no-such-stream": [404, "No such stream"],
  "no-such-session": [404, "No such session"],
  "too-many-viewers": [503, "Too many viewers"],
  "too-many-pending": [429, "Too many unconnected sessions"],
  "if-match-required": [428, "If-Match required"],
  "malformed-sdpfrag": [400, "Malformed sdpfrag"],
  "etag-mismatch": [412, "ETag mismatch"],
  "restart-needs-credentials": [400, "ICE restart needs credentials"],
  "restart-needs-if-match-star": [422, "Use If-Match: *"],
  "not-an-ice-restart": [400, "Not an ICE restart"],
  "ice-restart-failed": [422, "ICE restart failed"],
};

export function refusalToHttp(error: RelayError): HttpError {
  const [status, title] = REFUSALS[error.refusal];
  return new HttpError(status, title, error.detail, error.retryAfterSeconds !== undefined ? { "retry-after": String(error.retryAfterSeconds) } : {});
}

const STREAM = "[A-Za-z0-9_-]{1,64}";
const COLLECTION = new RegExp(`^/(whip|whep)/(${STREAM})$`);
const RESOURCE = new RegExp(`^/(whip|whep)/(${STREAM})/([0-9a-f]{32})$`);
const WATCH = new RegExp(`^/watch/(${STREAM})$`);

/**
 * The HTTP side of `whipcast serve`: WHIP ingest and WHEP playback (RFC 9725 and the WHEP draft
 * mirror it), the two pages, and a JSON list of live streams. Every refusal is problem+json.
 */
export function routes(o: RouteOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    try {
      if (req.method === "GET" || req.method === "HEAD") {
        if (path === "/") return html(indexPage());
        const watch = WATCH.exec(path);
        if (watch) return html(watchPage(watch[1]!, o.viewerToken !== undefined));
        if (path === "/api/streams") return Response.json(o.relay.list(), { headers: { "cache-control": "no-store", ...CORS } });
        if (path === "/favicon.ico") return new Response(null, { status: 204 });
        throw new HttpError(404, "Not found", `nothing at ${path.slice(0, 80)}`);
      }
      const collection = COLLECTION.exec(path);
      const resource = RESOURCE.exec(path);
      if (!collection && !resource) throw new HttpError(404, "Not found", `no WHIP or WHEP endpoint at ${path.slice(0, 80)}`);
      const kind = (collection ?? resource)![1] as SessionKind;
      const stream = (collection ?? resource)![2]!;
      if (req.method === "OPTIONS") {
        const headers: Record<string, string> = { ...CORS };
        if (collection) headers["accept-post"] = "application/sdp";
        else headers["accept-patch"] = SDPFRAG_TYPE;
        return new Response(null, { status: 204, headers });
      }
      authorize(req, kind === "whip" ? o.token : o.viewerToken, kind);
      if (collection && req.method === "POST") {
        requireType(req, "application/sdp");
        const offer = await readBody(req);
        const client = o.clientAddress?.(req) ?? "unknown";
        const created = kind === "whip" ? await o.relay.publish(stream, offer, client) : await o.relay.view(stream, offer, client);
        const headers = new Headers({ ...CORS, "content-type": "application/sdp", location: `/${kind}/${stream}/${created.id}`, etag: created.etag, "accept-patch": SDPFRAG_TYPE });
        for (const link of o.iceLinks) headers.append("link", link);
        return new Response(created.answer, { status: 201, headers });
      }
      if (resource && req.method === "PATCH") {
        requireType(req, SDPFRAG_TYPE);
        const restarted = await o.relay.patch(kind, stream, resource[3]!, req.headers.get("if-match"), await readBody(req));
        if (!restarted) return new Response(null, { status: 204, headers: CORS });
        return new Response(restarted.answer, { status: 200, headers: { ...CORS, "content-type": SDPFRAG_TYPE, etag: restarted.etag } });
      }
      if (resource && req.method === "DELETE") {
        await o.relay.remove(kind, stream, resource[3]!);
        return new Response(null, { status: 200, headers: CORS });
      }
      throw new HttpError(405, "Method not allowed", `${req.method} is not allowed on ${collection ? "a WHIP/WHEP endpoint" : "a session"}`, {
        allow: collection ? "POST, OPTIONS" : "PATCH, DELETE, OPTIONS",
      });
    } catch (error) {
      if (error instanceof HttpError) return error.toResponse(CORS);
      if (error instanceof RelayError) return refusalToHttp(error).toResponse(CORS);
      return new HttpError(500, "Internal error", error instanceof Error ? error.message.split("\n")[0]!.slice(0, 200) : "unexpected failure").toResponse(CORS);
    }
  };
}

function html(body: string): Response {
  return new Response(body, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}

function authorize(req: Request, token: string | undefined, kind: SessionKind): void {
  if (token === undefined) return;
  const given = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1]?.trim() ?? "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    const what = kind === "whip" ? "publishing needs the server's token (--token)" : "viewing needs the viewer token (--viewer-token)";
    throw new HttpError(401, "Unauthorized", `${given ? "wrong bearer token" : "no bearer token"}: ${what}`, { "www-authenticate": 'Bearer realm="whipcast"' });
  }
}

function requireType(req: Request, type: string): void {
  const got = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (got !== type) throw new HttpError(415, "Unsupported Media Type", `expected Content-Type ${type}, got ${got || "none"}`);
}

/** The body as text; over MAX_BODY_BYTES is a 413, refused without buffering it. */
function readBody(req: Request): Promise<string> {
  return readCappedText(req, MAX_BODY_BYTES, () => new HttpError(413, "Body too large", `request bodies are limited to ${MAX_BODY_BYTES} bytes`));
}

export function iceLinks(servers: Parameters<typeof iceServerLink>[0][]): string[] {
  return servers.map(iceServerLink);
}
