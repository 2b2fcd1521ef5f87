import { randomBytes } from "node:crypto";
import type { IceServer } from "../whip/link-header.ts";
import { type IceFragment, parseSdpFrag, SdpFragError } from "../whip/sdpfrag.ts";
import type { Answerer } from "../rtc/answerer.ts";
import { PeerError } from "../rtc/peer-error.ts";
import { RelayError } from "./relay-error.ts";
import { Publication } from "./publication.ts";
import { Viewer } from "./viewer.ts";

export interface RelayOptions {
  iceServers: IceServer[];
  /** Offer 127.0.0.1 as a candidate (the server is bound to loopback). */
  loopback: boolean;
  maxViewers: number;
  /** Largest keyframe group kept for joining viewers. */
  cacheBytes?: number;
  log?: (level: "info" | "debug", message: string) => void;
}

export type SessionKind = "whip" | "whep";

interface Entry<S extends Answerer> {
  session: S;
  etag: string;
}

interface Stream {
  name: string;
  id: string;
  publication: Entry<Publication>;
  viewers: Map<string, Entry<Viewer>>;
}

export interface StreamInfo {
  name: string;
  viewers: number;
  since: number;
  kinds: string[];
}

/**
 * The streams on this server: one publication each (WHIP), any number of viewers (WHEP) up to
 * the limit. Refusals are RelayErrors; the HTTP layer gives each its status.
 * Sessions are identified by unguessable ids: a resource URL is the capability to end it.
 */
export class Relay {
  readonly #streams = new Map<string, Stream>();
  #closed = false;
  onChange: () => void = () => {};

  constructor(readonly options: RelayOptions) {}

  async publish(name: string, offer: string): Promise<{ id: string; etag: string; answer: string }> {
    if (this.#streams.has(name)) throw new RelayError("stream-live", `stream "${name}" already has a publisher; DELETE its session first`);
    const publication = new Publication(this.options.iceServers, this.options.loopback, this.options.cacheBytes ?? 16 * 1024 * 1024);
    const answer = await publication.accept(offer).catch(async (error) => {
      await publication.close();
      throw refusal(error);
    });
    // A publisher that raced us to the same name while we answered wins; this one is refused.
    if (this.#streams.has(name) || this.#closed) {
      await publication.close();
      throw new RelayError("stream-live", `stream "${name}" already has a publisher`);
    }
    const stream: Stream = { name, id: newId(), publication: { session: publication, etag: newEtag() }, viewers: new Map() };
    this.#streams.set(name, stream);
    publication.onConnectionState((state) => {
      if (state === "failed" || state === "closed") void this.#endStream(stream, `publisher ${state}`);
    });
    this.options.log?.("info", `stream "${name}": publisher connected (session ${stream.id.slice(0, 8)})`);
    this.onChange();
    return { id: stream.id, etag: stream.publication.etag, answer };
  }

  async view(name: string, offer: string): Promise<{ id: string; etag: string; answer: string }> {
    const stream = this.#live(name);
    if (stream.viewers.size >= this.options.maxViewers) {
      throw new RelayError("too-many-viewers", `stream "${name}" already has ${stream.viewers.size} viewer(s), the server's limit (--max-viewers)`, 10);
    }
    const viewer = new Viewer(stream.publication.session, this.options.iceServers, this.options.loopback);
    const id = newId();
    // Count the seat before the answer so concurrent joins cannot pass the limit together.
    const entry = { session: viewer, etag: newEtag() };
    stream.viewers.set(id, entry);
    try {
      const answer = await viewer.accept(offer);
      viewer.onConnectionState((state) => {
        if (state === "failed" || state === "closed") void this.#endViewer(stream, id);
      });
      this.onChange();
      return { id, etag: entry.etag, answer };
    } catch (error) {
      stream.viewers.delete(id);
      await viewer.close();
      throw refusal(error);
    }
  }

  /**
   * PATCH (RFC 9725 §4.4): with `If-Match: <etag>`, trickled candidates (204, no body); with
   * `If-Match: *` and new credentials, an ICE restart: the answer sdpfrag and a new ETag (200).
   */
  async patch(kind: SessionKind, name: string, id: string, ifMatch: string | null, body: string): Promise<{ etag: string; answer: string } | undefined> {
    const entry = this.#session(kind, name, id);
    if (ifMatch === null) throw new RelayError("if-match-required", "a PATCH needs If-Match: the session's ETag, or * for an ICE restart");
    let frag: IceFragment;
    try {
      frag = parseSdpFrag(body);
    } catch (error) {
      if (error instanceof SdpFragError) throw new RelayError("malformed-sdpfrag", error.message);
      throw error;
    }
    if (ifMatch.trim() === "*") {
      if (frag.ufrag === undefined || frag.pwd === undefined) {
        throw new RelayError("restart-needs-credentials", "a PATCH with If-Match: * is an ICE restart and needs a=ice-ufrag and a=ice-pwd");
      }
      const answer = await entry.session.restartIce({ ...frag, ufrag: frag.ufrag, pwd: frag.pwd }).catch((error) => {
        throw refusal(error);
      });
      // §4.4.2: the restarted ICE session is a new entity; trickles must now carry its ETag.
      entry.etag = newEtag();
      this.options.log?.("info", `stream "${name}": ${kind === "whip" ? "publisher" : "viewer"} restarted ICE (session ${id.slice(0, 8)})`);
      return { etag: entry.etag, answer };
    }
    if (ifMatch.trim() !== entry.etag) throw new RelayError("etag-mismatch", "If-Match does not match the session's current ETag (it changes on each ICE restart)");
    if (frag.ufrag !== undefined) throw new RelayError("restart-needs-if-match-star", "new ICE credentials are an ICE restart, which needs If-Match: *");
    await entry.session.addCandidates(frag);
    return undefined;
  }

  async remove(kind: SessionKind, name: string, id: string): Promise<void> {
    const stream = this.#live(name);
    this.#session(kind, name, id);
    if (kind === "whip") await this.#endStream(stream, "publisher ended the session");
    else await this.#endViewer(stream, id);
  }

  list(): StreamInfo[] {
    return [...this.#streams.values()].map((s) => ({
      name: s.name,
      viewers: s.viewers.size,
      since: s.publication.session.startedAt,
      kinds: [...s.publication.session.kinds].sort(),
    }));
  }

  /** SIGTERM: end every viewer, then every publication. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#streams.values()].map((s) => this.#endStream(s, "server shutting down")));
  }

  #live(name: string): Stream {
    const stream = this.#streams.get(name);
    if (!stream) throw new RelayError("no-such-stream", `stream "${name}" is not live`);
    return stream;
  }

  #session(kind: SessionKind, name: string, id: string): Entry<Answerer> {
    const stream = this.#live(name);
    const entry = kind === "whip" ? (stream.id === id ? stream.publication : undefined) : stream.viewers.get(id);
    if (!entry) throw new RelayError("no-such-session", `stream "${name}" has no ${kind === "whip" ? "publisher" : "viewer"} session ${id.slice(0, 8)}…`);
    return entry;
  }

  async #endViewer(stream: Stream, id: string): Promise<void> {
    const entry = stream.viewers.get(id);
    if (!entry) return;
    stream.viewers.delete(id);
    await entry.session.close();
    this.onChange();
  }

  async #endStream(stream: Stream, why: string): Promise<void> {
    if (this.#streams.get(stream.name) !== stream) return;
    this.#streams.delete(stream.name);
    this.options.log?.("info", `stream "${stream.name}" ended: ${why}`);
    await Promise.all([...stream.viewers.keys()].map((id) => this.#endViewer(stream, id)));
    await stream.publication.session.close();
    this.onChange();
  }
}

/** A peer's refusal in the relay's terms; anything else is passed on unchanged. */
function refusal(error: unknown): unknown {
  if (!(error instanceof PeerError)) return error;
  return new RelayError(error.refusal === "no-ice-transport" ? "ice-restart-failed" : error.refusal, error.message);
}

function newId(): string {
  return randomBytes(16).toString("hex");
}

function newEtag(): string {
  return `"${randomBytes(8).toString("hex")}"`;
}
