/**
 * SDP fragments for trickle ICE and ICE restart (RFC 8840 §4.2, carried by WHIP/WHEP PATCH,
 * RFC 9725 §4.4). Pure text work, shared by the client (restart offer/answer) and the server
 * (parsing what a client PATCHes).
 *
 *   a=ice-ufrag:EsAw
 *   a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1
 *   m=audio 9 UDP/TLS/RTP/SAVPF 111
 *   a=mid:0
 *   a=candidate:1 1 udp 2130706431 192.0.2.1 9 typ host
 *   a=end-of-candidates
 */
export const SDPFRAG_TYPE = "application/trickle-ice-sdpfrag";

export interface IceFragment {
  /** Session-level credentials; present for an ICE restart, absent for a plain trickle. */
  ufrag?: string;
  pwd?: string;
  /** The m-line and mid the candidates belong to (with BUNDLE, the first section's). */
  mline?: string;
  mid?: string;
  /** `candidate:…` attribute values, without the leading `a=`. */
  candidates: string[];
  endOfCandidates: boolean;
}

const MAX_LINE = 1024;

export class SdpFragError extends Error {}

/** Parse an sdpfrag body. Throws SdpFragError naming the first line that is not one. */
export function parseSdpFrag(text: string): IceFragment {
  const frag: IceFragment = { candidates: [], endOfCandidates: false };
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new SdpFragError("empty sdpfrag");
  for (const [n, line] of lines.entries()) {
    if (line.length > MAX_LINE) throw new SdpFragError(`sdpfrag line ${n + 1} is longer than ${MAX_LINE} characters`);
    const m = /^([a-z])=(.*)$/.exec(line);
    if (!m) throw new SdpFragError(`sdpfrag line ${n + 1} is not an SDP line: ${JSON.stringify(line.slice(0, 60))}`);
    const [, kind, value] = m as unknown as [string, string, string];
    if (kind === "m") {
      frag.mline = value;
      continue;
    }
    if (kind !== "a") continue;
    const colon = value.indexOf(":");
    const name = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? "" : value.slice(colon + 1);
    if (name === "ice-ufrag") frag.ufrag = arg;
    else if (name === "ice-pwd") frag.pwd = arg;
    else if (name === "mid") frag.mid = arg;
    else if (name === "end-of-candidates") frag.endOfCandidates = true;
    else if (name === "candidate") {
      if (!/^\S+ \d+ (udp|tcp) \d+ \S+ \d+ typ (host|srflx|prflx|relay)\b/i.test(arg)) {
        throw new SdpFragError(`sdpfrag line ${n + 1} has a malformed candidate: ${JSON.stringify(arg.slice(0, 60))}`);
      }
      frag.candidates.push(`candidate:${arg}`);
    }
  }
  if ((frag.ufrag === undefined) !== (frag.pwd === undefined)) throw new SdpFragError("sdpfrag has ice-ufrag without ice-pwd, or the reverse");
  if (frag.ufrag !== undefined && !/^[A-Za-z0-9+/]{4,256}$/.test(frag.ufrag)) throw new SdpFragError(`sdpfrag has an invalid ice-ufrag ${JSON.stringify(frag.ufrag.slice(0, 40))}`);
  if (frag.pwd !== undefined && !/^[A-Za-z0-9+/]{22,256}$/.test(frag.pwd)) throw new SdpFragError("sdpfrag has an invalid ice-pwd");
  return frag;
}

/**
 * The sdpfrag of an ICE restart (RFC 8840 §4.2): credentials, the first bundled section's
 * m-line (if known) and mid, every candidate, and end-of-candidates (the full set, gathered).
 */
export function buildSdpFrag(frag: { ufrag: string; pwd: string; mline?: string; mid: string; candidates: string[] }): string {
  return [
    `a=ice-ufrag:${frag.ufrag}`,
    `a=ice-pwd:${frag.pwd}`,
    ...(frag.mline ? [`m=${frag.mline}`] : []),
    `a=mid:${frag.mid}`,
    ...frag.candidates.map((c) => `a=${c.startsWith("candidate:") ? c : `candidate:${c}`}`),
    "a=end-of-candidates",
    "",
  ].join("\r\n");
}
