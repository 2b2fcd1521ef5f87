/**
 * Pure edits and checks on SDP text (RFC 8866), for what werift does not write itself.
 */

/** Split into the session part and one block per m= section. Lines keep no CR/LF. */
export function splitSections(sdp: string): { session: string[]; media: string[][] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l !== "");
  const session: string[] = [];
  const media: string[][] = [];
  for (const line of lines) {
    if (line.startsWith("m=")) media.push([line]);
    else if (media.length > 0) media[media.length - 1]!.push(line);
    else session.push(line);
  }
  return { session, media };
}

export function joinSections(session: string[], media: string[][]): string {
  return `${[...session, ...media.flat()].join("\r\n")}\r\n`;
}

/**
 * Add `a=rtcp-fb:PT rrtr` (RTCP XR reference time reports, RFC 3611 §4.4) for every audio and
 * video codec of an answer that lacks it, after the codec's last rtcp-fb line (or its rtpmap).
 * werift answers with the offer's feedback list; a browser's offer never has rrtr, and without it
 * the browser, receiving only, never learns its round trip (src/rtp/reference-time-replies.ts).
 * RTX, RED and FEC payloads are left alone.
 */
export function withRrtr(sdp: string): string {
  const { session, media } = splitSections(sdp);
  const out = media.map((section) => {
    if (!/^m=(audio|video) /.test(section[0]!)) return section;
    const types = section.flatMap((l) => {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
      return m && !/^(rtx|red|ulpfec|flexfec-03)$/i.test(m[2]!) ? [m[1]!] : [];
    });
    const lines = [...section];
    for (const pt of types) {
      if (lines.some((l) => l === `a=rtcp-fb:${pt} rrtr`)) continue;
      const after = lines.reduce((at, l, i) => (l.startsWith(`a=rtcp-fb:${pt} `) || l.startsWith(`a=rtpmap:${pt} `) ? i : at), -1);
      lines.splice(after + 1, 0, `a=rtcp-fb:${pt} rrtr`);
    }
    return lines;
  });
  return joinSections(session, out);
}

/**
 * Shape the offer for WHIP (RFC 9725 §4.2 and RFC 8858): every m-section sendonly, with
 * `a=rtcp-mux-only` next to `a=rtcp-mux` (werift writes only the latter).
 */
export function shapeWhipOffer(sdp: string): string {
  const { session, media } = splitSections(sdp);
  const shaped = media.map((section) => {
    const out: string[] = [];
    for (const line of section) {
      if (line === "a=rtcp-mux-only") continue;
      if (/^a=(sendrecv|recvonly|inactive)$/.test(line)) {
        out.push("a=sendonly");
        continue;
      }
      out.push(line);
      if (line === "a=rtcp-mux") out.push("a=rtcp-mux-only");
    }
    if (!out.includes("a=rtcp-mux")) out.push("a=rtcp-mux", "a=rtcp-mux-only");
    return out;
  });
  return joinSections(session, shaped);
}

export interface AnswerSummary {
  kinds: string[];
  mids: string[];
}

/**
 * Check an answer before werift sees it, so a broken endpoint gets one clear line instead of
 * an exception from deep inside the stack. Returns the problem, or undefined when usable.
 */
export function checkAnswer(answer: string, offer: string): string | undefined {
  if (!/^v=0\r?\n/.test(answer)) return "it does not start with v=0";
  const a = splitSections(answer);
  const o = splitSections(offer);
  if (a.media.length === 0) return "it has no m= sections";
  if (a.media.length !== o.media.length) return `it has ${a.media.length} m= sections for the offer's ${o.media.length}`;
  const sessionHas = (prefix: string) => a.session.some((l) => l.startsWith(prefix));
  for (let i = 0; i < a.media.length; i++) {
    const section = a.media[i]!;
    const offered = o.media[i]!;
    const kind = section[0]!.split(" ")[0]!.slice(2);
    const offeredKind = offered[0]!.split(" ")[0]!.slice(2);
    if (kind !== offeredKind) return `m= section ${i} is ${kind}, the offer's is ${offeredKind}`;
    const port = section[0]!.split(" ")[1];
    if (port === "0") return `the endpoint rejected the ${kind} track (port 0)`;
    const has = (prefix: string) => section.some((l) => l.startsWith(prefix)) || sessionHas(prefix);
    if (!has("a=ice-ufrag:") || !has("a=ice-pwd:")) return `the ${kind} section has no ICE credentials`;
    if (!has("a=fingerprint:")) return `the ${kind} section has no DTLS fingerprint`;
    if (!section.some((l) => l.startsWith("a=rtpmap:"))) return `the ${kind} section names no codec`;
    if (section.includes("a=sendonly") || section.includes("a=sendrecv")) return `the ${kind} section is not recvonly`;
  }
  return undefined;
}

export interface SectionCodec {
  payloadType: number;
  /** As in a=rtpmap, e.g. "H264", "VP8", "opus", "rtx". */
  name: string;
  clockRate: number;
  /** a=fmtp parameters, lower-cased keys. */
  parameters: Record<string, string>;
}

export interface MediaSectionSummary {
  kind: string;
  /** 0: the track was rejected. */
  port: number;
  codecs: SectionCodec[];
}

/** The codecs each m-section of an SDP names (RFC 8866 §6.6, §6.15), in its order of preference. */
export function sectionCodecs(sdp: string): MediaSectionSummary[] {
  return splitSections(sdp).media.map((section) => {
    const [kind = "", port = "0", , ...formats] = section[0]!.slice(2).split(" ");
    const codecs = new Map<number, SectionCodec>();
    for (const line of section) {
      const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(line);
      if (rtpmap) codecs.set(Number(rtpmap[1]), { payloadType: Number(rtpmap[1]), name: rtpmap[2]!, clockRate: Number(rtpmap[3]), parameters: {} });
    }
    for (const line of section) {
      const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
      const codec = fmtp ? codecs.get(Number(fmtp[1])) : undefined;
      if (!codec) continue;
      for (const pair of fmtp![2]!.split(";")) {
        const eq = pair.indexOf("=");
        if (eq > 0) codec.parameters[pair.slice(0, eq).trim().toLowerCase()] = pair.slice(eq + 1).trim();
      }
    }
    const ordered = formats.map(Number).flatMap((pt) => (codecs.has(pt) ? [codecs.get(pt)!] : []));
    return { kind, port: Number(port), codecs: ordered.length > 0 ? ordered : [...codecs.values()] };
  });
}
