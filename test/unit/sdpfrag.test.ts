import { describe, expect, test } from "bun:test";
import { parseSdpFrag, SdpFragError } from "../../src/whip/sdpfrag.ts";

describe("sdpfrag (RFC 8840)", () => {
  const restart = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\na=end-of-candidates\r\n";

  test("parses an ICE restart fragment", () => {
    const frag = parseSdpFrag(restart);
    expect(frag).toEqual({ ufrag: "EsAw", pwd: "P2uYro0UCOQ4zxjKXaWCBui1", mline: "audio 9 UDP/TLS/RTP/SAVPF 111", mid: "0", candidates: ["candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"], endOfCandidates: true });
  });

  test.each([
    ["empty", ""],
    ["not SDP", "hello world"],
    ["ufrag without pwd", "a=ice-ufrag:abcd\r\n"],
    ["short pwd", "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n"],
    ["bad candidate", "a=mid:0\r\na=candidate:garbage\r\n"],
    ["overlong line", `a=mid:${"x".repeat(2000)}`],
  ])("refuses %s", (_, text) => {
    expect(() => parseSdpFrag(text)).toThrow(SdpFragError);
  });
});
