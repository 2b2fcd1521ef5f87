import { describe, expect, test } from "bun:test";
import type { InboundStats } from "../helpers/browser-whip-endpoint.ts";
import { runInNamespace } from "./run-scenario.ts";

/** Each scenario runs serve-scenario.ts in its own loopback-only network namespace. */
const scenario = <R>(name: string) => runInNamespace<R>("serve-scenario.ts", { name });

describe("whipcast serve: WHIP in, WHEP out, headless Chromium viewers", () => {
  test("publish → serve → three Chromium WHEP viewers: each decodes ≥ 80 % of 8 s at 640x360 with sound; / counts 3, then 2", async () => {
    const r = await scenario<{
      joins: { status: number }[];
      decodedOver8s: number[];
      sizes: string[];
      audioLevels: number[];
      audioSamples: number[];
      packetsLost: number[];
      countWith3: string;
      countWith2: string;
      leaveStatus: number;
      publisherExit: number;
      publisherErrors: string[];
      /** Shown with the other figures when a viewer falls short: drops at a full socket buffer. */
      udpBufferErrors: { receive: number; send: number };
    }>("relay");
    // Every figure of every viewer in one place, so a failure shows them all.
    const { publisherErrors: _, ...figures } = r;
    const problems = [
      ...r.joins.filter((j) => j.status !== 201).map((j) => `join ${j.status}`),
      // 8 s at 30 fps is 240 frames sent while they watched.
      ...r.decodedOver8s.filter((d) => d < 0.8 * 240).map((d) => `decoded ${d} < 192`),
      ...r.sizes.filter((s) => s !== "640x360").map((s) => `size ${s}`),
      ...r.audioLevels.filter((l) => !(l > 0)).map((l) => `audio level ${l}`),
      ...r.audioSamples.filter((n) => n < 0.8 * 8 * 48_000).map((n) => `audio samples ${n}`),
      ...r.packetsLost.filter((n) => n !== 0).map((n) => `lost ${n}`),
    ];
    expect({ problems, figures }).toEqual({ problems: [], figures });
    expect(r.joins.length).toBe(3);
    expect(r.countWith3).toBe("3 viewers");
    expect(r.leaveStatus).toBe(200);
    expect(r.countWith2).toBe("2 viewers");
    expect(r.publisherExit).toBe(0);
    expect(r.publisherErrors).toEqual([]);
  });

  test("a viewer joining 3 s in decodes its first frame within one keyframe interval (2 s) + 0.5 s, starting on a keyframe", async () => {
    const r = await scenario<{ join: { status: number }; firstFrameMs: number; keyFramesDecoded: number; framesDecoded: number; freezeCount: number }>("lateJoin");
    expect(r.join.status).toBe(201);
    expect(r.firstFrameMs).toBeLessThanOrEqual(2_000 + 500);
    expect(r.keyFramesDecoded).toBeGreaterThanOrEqual(1);
    expect(r.framesDecoded).toBeGreaterThan(30);
    expect(r.freezeCount).toBe(0);
  });

  test("Chromium with fake devices publishes over WHIP, and a Chromium viewer decodes it, also after the publisher restarts ICE", async () => {
    const r = await scenario<{
      publishStatus: number; join: { status: number }; stats: InboundStats;
      restart: { status: number; offeredUfrag: string; ufragInUse: string | null; framesAtRestart: number; framesAfter: number };
    }>("chromiumPublisher");
    expect(r.publishStatus).toBe(201);
    expect(r.join.status).toBe(201);
    expect(r.stats.video!.mimeType).toBe("video/H264");
    expect(r.stats.video!.framesDecoded).toBeGreaterThan(30);
    expect({ w: r.stats.video!.frameWidth, h: r.stats.video!.frameHeight }).toEqual({ w: 640, h: 480 });
    expect(r.stats.audio!.totalSamplesReceived).toBeGreaterThan(48_000);
    // The publisher's ICE restart by PATCH: 200, its new ICE generation in use, the viewer still decoding.
    expect(r.restart.status).toBe(200);
    expect(r.restart.ufragInUse).toBe(r.restart.offeredUfrag);
    expect(r.restart.framesAfter).toBeGreaterThan(r.restart.framesAtRestart + 30);
  });

  test("refusals: 401 without the token, 409 second publisher, 400 malformed SDP, 413 oversized, 415, 404, 503 past --max-viewers", async () => {
    const r = await scenario<{
      noTokenExit: number;
      noTokenStderr: string[];
      rawWithoutToken: number;
      secondPublisher: number;
      malformed: { status: number; type: string; body: string };
      oversized: number;
      wrongType: number;
      unknownStream: number;
      viewer1: { status: number };
      viewer2: { status: number; body: string };
      options: { status: number; acceptPost: string; cors: string };
      publisherExit: number;
      serverExit: number;
      tokenInServerLog: boolean;
    }>("refusals");
    // whipcast publish against it without the token: exit 3 and one error line naming the status.
    expect(r.noTokenExit).toBe(3);
    expect(r.noTokenStderr.length).toBe(1);
    expect(r.noTokenStderr[0]).toContain("401");
    expect(r.rawWithoutToken).toBe(401);
    expect(r.secondPublisher).toBe(409);
    expect(r.malformed.status).toBe(400);
    expect(r.malformed.type).toBe("application/problem+json");
    expect(JSON.parse(r.malformed.body).detail).toContain("v=0");
    expect(r.oversized).toBe(413);
    expect(r.wrongType).toBe(415);
    expect(r.unknownStream).toBe(404);
    expect(r.viewer1.status).toBe(201);
    expect(r.viewer2.status).toBe(503);
    expect(r.options).toEqual({ status: 204, acceptPost: "application/sdp", cors: "*" });
    // SIGTERM on both: clean exits, and the token never reached the server's output.
    expect(r.publisherExit).toBe(0);
    expect(r.serverExit).toBe(0);
    expect(r.tokenInServerLog).toBe(false);
  });

  test("access: a generated token on a non-loopback host, printed once and enforced; --viewer-token; --ice-server in Link", async () => {
    const r = await scenario<{ generatedLength: number; tokenLinesOnStdout: number; generatedTokenInLog: boolean; publishWithout: number; publishWithGenerated: number; viewerWithout: number; viewerWith: number; decoded: boolean; link: string | null; stunUrl: string }>("access");
    expect(r.generatedLength).toBeGreaterThanOrEqual(24);
    expect(r.tokenLinesOnStdout).toBe(1);
    expect(r.generatedTokenInLog).toBe(false);
    expect(r.publishWithout).toBe(401);
    // Past the token check the body is judged: 400 for a non-SDP offer.
    expect(r.publishWithGenerated).toBe(400);
    expect(r.viewerWithout).toBe(401);
    expect(r.viewerWith).toBe(201);
    expect(r.decoded).toBe(true);
    expect(r.link).toBe(`<${r.stunUrl}>; rel="ice-server"`);
  });

  test("PATCH: 428 without If-Match, 412 stale, 415, 400 bad sdpfrag, 204 trickle; an ICE restart (200, new ETag) moves the viewer to the new ICE generation and media goes on", async () => {
    const r = await scenario<{
      noIfMatch: number; staleEtag: number; wrongType: number; garbage: number; noCredentials: number; trickleOk: number;
      restart: number; restartType: boolean; etagChanged: boolean; ufragBefore: string | null; offeredUfrag: string; ufragAfter: string | null;
      framesBefore: number; framesAtRestart: number; framesAfter: number; connectionAfter: string; oldEtagAfterRestart: number; newEtagAfterRestart: number;
    }>("patches");
    expect(r).toMatchObject({ noIfMatch: 428, staleEtag: 412, wrongType: 415, garbage: 400, noCredentials: 400, trickleOk: 204, restart: 200, restartType: true, etagChanged: true, connectionAfter: "connected" });
    // The viewer's transport now runs on the credentials it offered in the restart.
    expect(r.ufragBefore).not.toBe(r.offeredUfrag);
    expect(r.ufragAfter).toBe(r.offeredUfrag);
    // Media flows over the new generation: about 60 frames in the 2 s after it took over.
    expect(r.framesAfter).toBeGreaterThan(r.framesAtRestart + 30);
    // §4.4.2: the restart gave the session a new ETag; the old one is now stale.
    expect(r.oldEtagAfterRestart).toBe(412);
    expect(r.newEtagAfterRestart).toBe(204);
  });

  test("publish with no URL prints the watch address; the watch page decodes, and its controls change the element", async () => {
    const r = await scenario<{
      watchUrl: string;
      initial: { muted: boolean; volume: number; playing: boolean; width: number; height: number };
      afterUnmute: { muted: boolean };
      afterVolume: { volume: number; muted: boolean };
      afterMute: { muted: boolean };
      latency: { initial: { checked: boolean; targets: (number | null)[] }; smooth: { targets: (number | null)[]; search: string }; low: { targets: (number | null)[]; search: string } };
      lumaStdDev: number;
      overlay: string;
      afterStop: { playing: boolean; status: string };
      afterPlay: { playing: boolean; status: string; width: number };
      publisherExit: number;
    }>("embedded");
    expect(r.watchUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/watch\/live$/);
    expect(r.initial).toMatchObject({ muted: true, playing: true, width: 640, height: 360 });
    expect(r.afterUnmute.muted).toBe(false);
    expect(r.afterVolume).toMatchObject({ volume: 0.3, muted: false });
    expect(r.afterMute.muted).toBe(true);
    // A decoded test pattern, not a blank page: a flat image has a luma spread near 0.
    expect(r.lumaStdDev).toBeGreaterThan(20);
    expect(r.overlay).toContain("640x360");
    expect(r.overlay).toMatch(/RTT \d+ ms/);
    // Low latency by default, a 500 ms buffer when turned off (and the choice in the address).
    expect(r.latency.initial).toEqual({ checked: true, targets: [0, 0] });
    expect(r.latency.smooth).toEqual({ targets: [500, 500], search: "?latency=smooth" });
    expect(r.latency.low).toEqual({ targets: [0, 0], search: "" });
    // The frame-by-frame figure, from each frame's capture time (abs-capture-time passed on by the
    // relay; the viewer's round trip from RRTR/DLRR), rather than the estimate from the stats.
    expect(r.overlay).toMatch(/capture → screen ≈ \d+ ms/);
    expect(r.afterStop).toMatchObject({ playing: false, status: "stopped" });
    expect(r.afterPlay).toMatchObject({ playing: true, status: "live", width: 640 });
    expect(r.publisherExit).toBe(0);
  });
});
