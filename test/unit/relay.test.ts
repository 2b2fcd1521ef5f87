import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { resolveServeOptions } from "../../src/cli/serve.ts";
import { ntpFromUnixNs, unixNsFromNtp } from "../../src/rtp/ntp.ts";
import { ReportClock } from "../../src/rtp/report-clock.ts";
import { KeyframeCache, squeezedTimestamps, startsKeyframe } from "../../src/server/keyframe-cache.ts";
import { iceServerLink, iceServersFromLinks } from "../../src/whip/link-header.ts";
import { parseSdpFrag, SdpFragError } from "../../src/whip/sdpfrag.ts";

describe("startsKeyframe (RFC 6184 payloads)", () => {
  test.each([
    ["single NAL: IDR slice", [0x65, 0x88], true],
    ["single NAL: SPS", [0x67, 0x42], true],
    ["single NAL: non-IDR slice", [0x41, 0x9a], false],
    ["single NAL: SEI", [0x06, 0x05], false],
    ["STAP-A with SPS + PPS", [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce], true],
    ["STAP-A with SEI only", [0x78, 0x00, 0x02, 0x06, 0x05], false],
    ["FU-A start of IDR", [0x7c, 0x85, 0x88], true],
    ["FU-A middle of IDR", [0x7c, 0x05, 0x88], false],
    ["FU-A start of non-IDR", [0x7c, 0x81, 0x9a], false],
    ["empty", [], false],
  ])("%s", (_, bytes, expected) => {
    expect(startsKeyframe(new Uint8Array(bytes as number[]))).toBe(expected as boolean);
  });
});

describe("KeyframeCache", () => {
  test("keeps the group from the latest keyframe, with earlier packets of its access unit", () => {
    const c = new KeyframeCache<string>(1_000_000);
    c.push("p0", 0, 10, false); // before any keyframe: not decodable, not kept
    c.push("k1", 3000, 10, true);
    c.push("p1", 6000, 10, false);
    c.push("sei2", 9000, 10, false); // SEI of the next IDR's access unit arrives first
    c.push("k2", 9000, 10, true);
    c.push("k2b", 9000, 10, true); // more of the same IDR: same group
    c.push("p2", 12000, 10, false);
    expect(c.snapshot().map((e) => e.packet)).toEqual(["sei2", "k2", "k2b", "p2"]);
    expect(c.bytes).toBe(40);
  });

  test("a group larger than the cap is dropped whole; the next keyframe starts again", () => {
    const c = new KeyframeCache<string>(25);
    c.push("k1", 0, 10, true);
    c.push("p1", 1, 10, false);
    c.push("p2", 2, 10, false);
    expect(c.snapshot()).toEqual([]);
    c.push("p3", 3, 10, false);
    expect(c.snapshot()).toEqual([]);
    c.push("k2", 4, 10, true);
    expect(c.snapshot().map((e) => e.packet)).toEqual(["k2"]);
  });
});

describe("squeezedTimestamps", () => {
  test.each([
    ["one frame", [100, 100], [100, 100]],
    ["three frames end on the newest", [0, 0, 3000, 6000, 6000], [6000 - 2, 6000 - 2, 6000 - 1, 6000, 6000]],
    ["across the u32 wrap", [0xffff_f000, 0x0000_0400], [0x0000_03ff, 0x0000_0400]],
    ["a late retransmission keeps its frame's place", [10, 20, 10, 30], [28, 29, 28, 30]],
    ["empty", [], []],
  ])("%s", (_, input, expected) => {
    expect(squeezedTimestamps(input as number[])).toEqual(expected as number[]);
  });

  test("property: non-decreasing per frame order, ends on the newest frame, one tick apart", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 200 }), (raw) => {
        const frames = [...new Set(raw)];
        const out = squeezedTimestamps(frames);
        expect(out[out.length - 1]).toBe(frames[frames.length - 1]!);
        for (let i = 1; i < out.length; i++) expect((out[i]! - out[i - 1]!) >>> 0).toBe(1);
      }),
    );
  });
});

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

describe("ICE servers as Link headers (RFC 9725 §4.6)", () => {
  test("iceServerLink round-trips through the client's parser, quoting included", () => {
    const servers = [{ urls: "stun:stun.example.net:3478" }, { urls: "turn:turn.example.net:3478?transport=udp", username: 'u"ser', credential: "p\\ss,word" }];
    expect(iceServersFromLinks(servers.map(iceServerLink).join(", "))).toEqual(servers);
  });
});

describe("ReportClock and NTP", () => {
  test("property: unixNsFromNtp inverts ntpFromUnixNs to within a nanosecond", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_000_000_000n * 1_000_000_000n }), (ns) => {
        const back = unixNsFromNtp(ntpFromUnixNs(ns));
        expect(ns - back >= 0n && ns - back <= 1n).toBe(true);
      }),
    );
  });

  test("extends the latest Sender Report at the clock rate, wrapping at 2^32", () => {
    const clock = new ReportClock(90_000);
    expect(clock.known).toBe(false);
    const t = 1_700_000_000_000_000_000n;
    clock.update(ntpFromUnixNs(t), 0xffff_ff00);
    expect(clock.at(t)).toBe(0xffff_ff00);
    expect(clock.at(t + 1_000_000_000n)).toBe((0xffff_ff00 + 90_000) >>> 0);
    expect(clock.at(t - 10_000_000n)).toBe(0xffff_ff00 - 900);
  });
});

describe("serve options", () => {
  const flags = { host: "127.0.0.1", port: "8080", "max-viewers": "50", log: "text", quiet: false, verbose: false };
  test("loopback without --token: publishing is open", () => {
    const o = resolveServeOptions(flags, []);
    expect(o.config.token).toBeUndefined();
    expect(o.generatedToken).toBe(false);
  });
  test("a non-loopback host without --token gets a generated token", () => {
    const o = resolveServeOptions({ ...flags, host: "0.0.0.0" }, [], () => "generated-token-123");
    expect(o.config.token).toBe("generated-token-123");
    expect(o.generatedToken).toBe(true);
  });
  test("--token is kept as given", () => {
    const o = resolveServeOptions({ ...flags, host: "0.0.0.0", token: "chosen-token-1" }, ["turn:u:p@turn.example.net:3478"]);
    expect(o.config.token).toBe("chosen-token-1");
    expect(o.generatedToken).toBe(false);
    expect(o.config.iceServers).toEqual([{ urls: "turn:turn.example.net:3478", username: "u", credential: "p" }]);
  });
});
