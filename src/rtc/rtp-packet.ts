/**
 * The RTP packet type the rest of whipcast handles, so that only src/rtc names werift: werift's
 * RtpPacket (header, payload, `clone()`), as its receivers deliver it and its senders take it.
 */
export type { RtpPacket } from "werift";

export type MediaKind = "audio" | "video";
