import { randomBytes } from "node:crypto";
import type { IceServer } from "../whip/link-header.ts";
import { type IceFragment, parseSdpFrag, SdpFragError } from "../whip/sdpfrag.ts";
import type { Answerer } from "../rtc/answerer.ts";
import { PeerError } from "../rtc/peer-error.ts";
import { RelayError } from "./relay-error.ts";
import { Publication } from "./publication.ts";
import { Viewer } from "./viewer.ts";
import { LIVENESS, type LivenessOptions } from "../whip/liveness.ts";

/** A session (publisher or viewer) that has not connected in this long is removed, its slot freed. */
export const CONNECT_DEADLINE_MS = 10_000;
/** Sessions not yet connected, per client address: one local script cannot take every slot. */
export const MAX_PENDING_PER_CLIENT = 8;
/**
 * A publication silent this long (judged by its liveness samples, a second apart) may be
 * replaced by a new POST to its name: its publisher is reconnecting or restarted, or gone
 * without a DELETE.
 */
export const REPLACEABLE_AFTER_MS = 1_500;
/** Publications are judged dead 2 s later than a publisher judges its session (see publish()). */
const PUBLISHER_LIVENESS: LivenessOptions = { ...LIVENESS, silentMs: LIVENESS.silentMs + 2_000 };

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
  /** Until it connects: the client address it counts against, and its deadline. */
  pending?: { client: string; deadline: ReturnType<typeof setTimeout> };
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
  /** Unconnected sessions per client address. */
  readonly #pending = new Map<string, number>();
  #closed = false;
  onChange: () => void = () => {};

  constructor(readonly options: RelayOptions) {}

  /**
   * A WHIP POST. A name that is live is refused (409), unless its publication has sent nothing
   * for REPLACEABLE_AFTER_MS: then this publisher takes it over and the viewers still
   * connected carry on with it (its publisher reconnecting, seen from this side).
   */
  async publish(name: string, offer: string, client = "unknown"): Promise<{ id: string; etag: string; answer: string }> {
    const existing = this.#streams.get(name);
    if (existing && !this.#replaceable(existing)) throw new RelayError("stream-live", `stream "${name}" already has a publisher; DELETE its session first`);
    this.#admit(client);
    const publication = new Publication(this.options.iceServers, this.options.loopback, this.options.cacheBytes ?? 16 * 1024 * 1024);
    const answer = await publication.accept(offer).catch(async (error) => {
      this.#release(client);
      await publication.close();
      throw refusal(error);
    });
    // A publisher that raced us to the same name while we answered wins; this one is refused.
    const now = this.#streams.get(name);
    if ((now && (now !== existing || !this.#replaceable(now))) || this.#closed) {
      this.#release(client);
      await publication.close();
      throw new RelayError("stream-live", `stream "${name}" already has a publisher`);
    }
    const entry: Entry<Publication> = { session: publication, etag: newEtag() };
    let stream: Stream;
    if (now) {
      // Taken over: the old publication goes, the viewers follow the new one.
      stream = now;
      const old = stream.publication;
      this.#settle(old);
      stream.publication = entry;
      stream.id = newId();
      for (const v of stream.viewers.values()) v.session.follow(publication);
      void old.session.close();
      this.options.log?.("info", `stream "${name}": publisher replaced by a new session (${stream.id.slice(0, 8)}); ${stream.viewers.size} viewer(s) carry on`);
    } else {
      stream = { name, id: newId(), publication: entry, viewers: new Map() };
      this.#streams.set(name, stream);
      this.options.log?.("info", `stream "${name}": publisher connected (session ${stream.id.slice(0, 8)})`);
    }
    this.#pend(entry, client, () => this.#endPublication(stream, entry, `publisher did not connect within ${CONNECT_DEADLINE_MS / 1000} s`));
    publication.onConnectionState((state) => {
      if (state === "closed" || (state === "failed" && !publication.restarting)) void this.#endPublication(stream, entry, `publisher ${state}`);
    });
    // A little longer than the publisher's own judgement (5 s), so that its ICE restart PATCH,
    // sent when it notices, finds the session still here.
    publication.watchLiveness(() => publication.packetsReceived, "no media", (reason) => void this.#endPublication(stream, entry, `publisher vanished (${reason})`), PUBLISHER_LIVENESS);
    this.onChange();
    return { id: stream.id, etag: entry.etag, answer };
  }

  async view(name: string, offer: string, client = "unknown"): Promise<{ id: string; etag: string; answer: string }> {
    const stream = this.#live(name);
    if (stream.viewers.size >= this.options.maxViewers) {
      throw new RelayError("too-many-viewers", `stream "${name}" already has ${stream.viewers.size} viewer(s), the server's limit (--max-viewers)`, 10);
    }
    this.#admit(client);
    const viewer = new Viewer(stream.publication.session, this.options.iceServers, this.options.loopback);
    const id = newId();
    // Count the seat before the answer so concurrent joins cannot pass the limit together.
    const entry: Entry<Viewer> = { session: viewer, etag: newEtag() };
    stream.viewers.set(id, entry);
    try {
      const answer = await viewer.accept(offer);
      this.#pend(entry, client, () => this.#endViewer(stream, id));
      viewer.onConnectionState((state) => {
        if (state === "closed" || (state === "failed" && !viewer.restarting)) void this.#endViewer(stream, id);
      });
      viewer.watchLiveness(() => viewer.rtcpReceived, "no RTCP", () => void this.#endViewer(stream, id));
      this.onChange();
      return { id, etag: entry.etag, answer };
    } catch (error) {
      stream.viewers.delete(id);
      this.#release(client);
      await viewer.close();
      throw refusal(error);
    }
  }

  #replaceable(stream: Stream): boolean {
    const p = stream.publication.session;
    if (p.connectionState !== "connected") return p.connectionState === "failed" || p.connectionState === "closed";
    return p.silentForMs() >= REPLACEABLE_AFTER_MS;
  }

  /** Count one more unconnected session for `client`, or refuse it. */
  #admit(client: string): void {
    const n = this.#pending.get(client) ?? 0;
    if (n >= MAX_PENDING_PER_CLIENT) {
      throw new RelayError("too-many-pending", `${n} sessions from this address have not connected yet; each is removed ${CONNECT_DEADLINE_MS / 1000} s after its offer if it never connects`, CONNECT_DEADLINE_MS / 1000);
    }
    this.#pending.set(client, n + 1);
  }

  #release(client: string): void {
    const n = (this.#pending.get(client) ?? 1) - 1;
    if (n <= 0) this.#pending.delete(client);
    else this.#pending.set(client, n);
  }

  /** Until `entry` connects it counts against `client`; if it never does, `expire` removes it. */
  #pend(entry: Entry<Answerer>, client: string, expire: () => Promise<void>): void {
    if (entry.session.connectionState === "connected") return this.#release(client);
    entry.pending = { client, deadline: setTimeout(() => void expire(), CONNECT_DEADLINE_MS) };
    entry.session.onConnectionState((state) => {
      if (state === "connected") this.#settle(entry);
    });
  }

  /** No longer pending (connected, or removed): the slot it held is free. Idempotent. */
  #settle(entry: Entry<Answerer>): void {
    if (!entry.pending) return;
    clearTimeout(entry.pending.deadline);
    this.#release(entry.pending.client);
    entry.pending = undefined;
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
    this.#settle(entry);
    await entry.session.close();
    this.onChange();
  }

  /** End `stream` if `entry` is still its publication (a replaced one ends alone). */
  async #endPublication(stream: Stream, entry: Entry<Publication>, why: string): Promise<void> {
    if (stream.publication !== entry) {
      this.#settle(entry);
      await entry.session.close();
      return;
    }
    await this.#endStream(stream, why);
  }

  async #endStream(stream: Stream, why: string): Promise<void> {
    if (this.#streams.get(stream.name) !== stream) return;
    this.#streams.delete(stream.name);
    this.options.log?.("info", `stream "${stream.name}" ended: ${why}`);
    await Promise.all([...stream.viewers.keys()].map((id) => this.#endViewer(stream, id)));
    this.#settle(stream.publication);
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
