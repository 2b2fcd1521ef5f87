/**
 * A peer that cannot do what the remote side asked: an offer werift cannot answer, or an ICE
 * restart with nothing to restart. Callers translate these into their own terms.
 */
export type PeerRefusal = "malformed-offer" | "no-usable-media" | "not-an-ice-restart" | "no-ice-transport";

export class PeerError extends Error {
  constructor(
    readonly refusal: PeerRefusal,
    message: string,
  ) {
    super(message);
    this.name = "PeerError";
  }
}
