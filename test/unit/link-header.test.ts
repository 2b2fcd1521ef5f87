import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { iceServerLink, iceServersFromLinks, parseLinkHeader } from "../../src/whip/link-header.ts";
import { parseIceServerFlag } from "../../src/whip/ice-server-url.ts";

describe("Link header (RFC 8288) → ICE servers (RFC 9725 §4.6)", () => {
  test.each([
    ["<stun:stun.example.net>; rel=\"ice-server\"", [{ urls: "stun:stun.example.net" }]],
    [
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="myPassword"; credential-type="password"',
      [{ urls: "turn:turn.example.net?transport=udp", username: "user", credential: "myPassword" }],
    ],
    [
      '<stun:a.example>; rel="ice-server", <turn:b.example:3478>; rel="ice-server"; username="u,1"; credential="p;2"',
      [{ urls: "stun:a.example" }, { urls: "turn:b.example:3478", username: "u,1", credential: "p;2" }],
    ],
    ['<https://example.com/help>; rel="help", <stun:c.example>; rel=ice-server', [{ urls: "stun:c.example" }]],
    ['<stun:d.example>; rel="preload ice-server"', [{ urls: "stun:d.example" }]],
    ['<https://not-ice.example>; rel="ice-server"', []],
    ['<turn:e.example>; rel="ice-server"; username="a\\"b"; credential="x"', [{ urls: "turn:e.example", username: 'a"b', credential: "x" }]],
    ["", []],
    ["garbage without brackets, <stun:f.example>; rel=\"ice-server\"", [{ urls: "stun:f.example" }]],
  ])("%s", (header, expected) => {
    expect(iceServersFromLinks(header)).toEqual(expected);
  });

  test("null header", () => {
    expect(iceServersFromLinks(null)).toEqual([]);
  });

  test("round trip: any quoted credentials survive", () => {
    const quoted = fc.string({ maxLength: 20 }).map((s) => s.replace(/[\\"\n\r]/g, ""));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("stun", "turn"), fc.stringMatching(/^[a-z0-9.]{1,20}$/), quoted, quoted), { maxLength: 5 }), (links) => {
        const header = links.map(([s, h, u, c]) => `<${s}:${h}>; rel="ice-server"; username="${u}"; credential="${c}"`).join(", ");
        expect(parseLinkHeader(header).map((l) => [l.uri, l.params.username, l.params.credential])).toEqual(links.map(([s, h, u, c]) => [`${s}:${h}`, u, c]));
      }),
    );
  });
});

describe("--ice-server", () => {
  test.each([
    ["stun:stun.l.google.com:19302", { urls: "stun:stun.l.google.com:19302" }],
    ["turn:user:pass@turn.example.com:3478?transport=udp", { urls: "turn:turn.example.com:3478?transport=udp", username: "user", credential: "pass" }],
    ["turns:u%40x:p%3Aw@turn.example.com:5349?transport=tcp", { urls: "turns:turn.example.com:5349?transport=tcp", username: "u@x", credential: "p:w" }],
  ])("%s", (flag, expected) => {
    expect(parseIceServerFlag(flag)).toEqual(expected);
  });

  test.each([
    ["http://example.com", "--ice-server must be"],
    ["turn:turn.example.com:3478", "needs credentials"],
    ["stun:u:p@stun.example.com", "takes no credentials"],
    ["turn:u:p@turn.example.com?transport=sctp", "transport=udp"],
  ])("%s is refused", (flag, message) => {
    expect(() => parseIceServerFlag(flag)).toThrow(message);
  });

  test("a refused TURN flag does not echo its password", () => {
    expect(() => parseIceServerFlag("turn:user:hunter2@bad host")).toThrow(/^(?!.*hunter2)/);
  });
});

describe("ICE servers as Link headers (RFC 9725 §4.6)", () => {
  test("iceServerLink round-trips through the client's parser, quoting included", () => {
    const servers = [{ urls: "stun:stun.example.net:3478" }, { urls: "turn:turn.example.net:3478?transport=udp", username: 'u"ser', credential: "p\\ss,word" }];
    expect(iceServersFromLinks(servers.map(iceServerLink).join(", "))).toEqual(servers);
  });
});
