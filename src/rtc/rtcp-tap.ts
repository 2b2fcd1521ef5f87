/**
 * werift decrypts each SRTCP datagram, parses it and routes the packets it knows to senders by
 * SSRC; TWCC feedback naming another stream's SSRC, FIR and REMB never reach a sender whole (see
 * shared notes, werift-sender-facts). Wrapping the transport's SRTCP `decrypt` sees every
 * compound packet exactly once, as decrypted bytes, before werift parses it.
 */
interface TappableTransport {
  srtcp?: { decrypt: (data: Buffer) => Buffer };
}

const TAPS = Symbol("whipcast rtcp taps");

type Tapped = { decrypt: (data: Buffer) => Buffer; [TAPS]?: ((rtcp: Uint8Array) => void)[] };

/**
 * Add `listener` for every decrypted compound RTCP packet of `transport`. Returns false when
 * the transport has no SRTCP session yet (DTLS not done): call again later. A listener that
 * throws is isolated from werift and from other listeners.
 */
export function tapRtcp(transport: TappableTransport, listener: (rtcp: Uint8Array) => void): boolean {
  const srtcp = transport.srtcp as Tapped | undefined;
  if (!srtcp) return false;
  let taps = srtcp[TAPS];
  if (!taps) {
    taps = [];
    srtcp[TAPS] = taps;
    const decrypt = srtcp.decrypt;
    const list = taps;
    srtcp.decrypt = (data: Buffer) => {
      const plain = decrypt(data);
      for (const tap of list) {
        try {
          tap(plain);
        } catch {
          // a listener's failure must not cost werift the packet
        }
      }
      return plain;
    };
  }
  taps.push(listener);
  return true;
}
