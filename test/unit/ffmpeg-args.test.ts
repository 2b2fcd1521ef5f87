import { describe, expect, test } from "bun:test";
import { candidateOrder, parseEncoderList } from "../../src/media/encoder-select.ts";
import { buildFfmpegArgs, type Encoder, encoderProcessArgs, h264Level, type MediaPlan, type Os, rawFormat, type Source } from "../../src/media/ffmpeg-args.ts";
import { parseStreamKinds } from "../../src/media/probe.ts";
import { captureAnchor } from "../../src/media/capture.ts";
import { parseAvfoundationList, parseSourcesList } from "../../src/media/devices.ts";

const base: MediaPlan = { os: "linux", source: { kind: "test" }, video: true, audio: true, width: 1280, height: 720, fps: 30, videoBitrate: 2_500_000, keyframeIntervalSeconds: 2, encoder: "x264" };
const plan = (p: Partial<MediaPlan>): MediaPlan => ({ ...base, ...p });
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
/** An encoder process making the capture's frames at `base`'s setting (720p30, 2.5 Mbit/s). */
const encoderProcess = (encoder: Encoder, vaapiDevice?: string) =>
  encoderProcessArgs({ encoder, inputWidth: 1280, inputHeight: 720, width: 1280, height: 720, fps: 30, videoBitrate: 2_500_000, keyframeIntervalSeconds: 2, ...(vaapiDevice ? { vaapiDevice } : {}) });
/** The value of `flag` in the encoder section (after -c:v). */
const enc = (args: string[], flag: string) => {
  const from = args.indexOf("-c:v");
  const i = args.indexOf(flag, from);
  return i < 0 ? undefined : args[i + 1];
};

describe("encoder arguments", () => {
  test.each([
    ["x264", "libx264", { "-profile:v": "baseline", "-tune": "zerolatency", "-bf": "0", "-x264-params": "repeat-headers=1", "-bufsize": "2500000" }],
    ["nvenc", "h264_nvenc", { "-profile:v": "baseline", "-rc": "cbr", "-bf": "0", "-forced-idr": "1", "-zerolatency": "1", "-bufsize": "2500000" }],
    ["vaapi", "h264_vaapi", { "-profile:v": "constrained_baseline", "-rc_mode": "CBR", "-bf": "0", "-bufsize": "2500000" }],
    ["videotoolbox", "h264_videotoolbox", { "-profile:v": "baseline", "-realtime": "1", "-bf": "0", "-allow_sw": "0" }],
  ] as [Encoder, string, Record<string, string>][])("%s", (encoder, codec, expected) => {
    const args = encoderProcess(encoder);
    expect(enc(args, "-c:v")).toBe(codec);
    for (const [flag, value] of Object.entries(expected)) expect([flag, enc(args, flag)]).toEqual([flag, value]);
    // Rate control and a fixed GOP of fps × interval for every encoder.
    expect([enc(args, "-b:v"), enc(args, "-maxrate"), enc(args, "-g"), enc(args, "-keyint_min")]).toEqual(["2500000", "2500000", "60", "60"]);
    expect(enc(args, "-force_key_frames")).toBe("expr:gte(t,n_forced*2)");
    expect(enc(args, "-level:v")).toBe("3.1");
  });

  test("VAAPI uploads frames to the GPU and names its device", () => {
    const args = encoderProcess("vaapi", "/dev/dri/renderD129");
    expect(after(args, "-vaapi_device")).toBe("/dev/dri/renderD129");
    expect(after(args, "-vf")).toEndWith("format=nv12,hwupload");
  });

  test.each([
    [1280, 720, 30, "3.1"],
    [1280, 720, 60, "3.2"],
    [1920, 1080, 30, "4"],
    [1920, 1080, 60, "4.2"],
    [3840, 2160, 30, "5.1"],
    [640, 360, 30, "3.1"],
  ])("level for %dx%d@%d is %s", (w, h, fps, level) => {
    expect(h264Level(w, h, fps)).toBe(level);
  });
});

describe("the capture clock's anchor", () => {
  const now = 1_796_190_000_000_000_000n;
  test.each([
    ["wall-clock stamps (a live Linux source) are the capture instants", now - 40_000_000n, now, 0n],
    ["a timeline from 0 (a file, the test pattern) starts at the first packet's arrival", 0n, now, now],
    ["a host clock (avfoundation: seconds since boot)", 86_400_000_000_000n, now, now - 86_400_000_000_000n],
    ["stamps 20 s off the wall clock are not taken as it", now - 20_000_000_000n, now, 20_000_000_000n],
  ])("%s", (_, pts, arrived, anchor) => {
    expect(captureAnchor(pts, arrived)).toBe(anchor);
  });
});

describe("sources per OS", () => {
  const cases: [string, Os, Source, Partial<MediaPlan>, string[][]][] = [
    ["test", "linux", { kind: "test" }, {}, [["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"], ["-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:sample_rate=48000"], ["-map", "0:v:0"], ["-map", "1:a:0"]]],
    ["file", "linux", { kind: "file", path: "/m/a.mp4", loop: false }, {}, [["-re", "-i", "/m/a.mp4"], ["-map", "0:v:0"], ["-map", "0:a:0"]]],
    ["looped file", "darwin", { kind: "file", path: "a.mkv", loop: true }, {}, [["-re", "-stream_loop", "-1", "-i", "a.mkv"]]],
    ["linux camera", "linux", { kind: "camera" }, {}, [["-f", "v4l2", "-framerate", "30", "-video_size", "1280x720", "-i", "/dev/video0"], ["-f", "pulse", "-i", "default"], ["-copyts"], ["-use_wallclock_as_timestamps", "1", "-thread_queue_size", "512", "-f", "v4l2"]]],
    ["linux camera, ALSA mic", "linux", { kind: "camera" }, { videoDevice: "/dev/video2", audioDevice: "alsa:hw:1" }, [["-i", "/dev/video2"], ["-f", "alsa", "-i", "hw:1"]]],
    ["linux screen", "linux", { kind: "screen" }, { display: ":1" }, [["-f", "x11grab", "-framerate", "30", "-draw_mouse", "1", "-i", ":1"]]],
    // Video alone keeps the wall-clock stamps too: they are the capture instants, each frame once
    // and to the microsecond (not on the raw output's 1/fps grid).
    // A lone input has no thread (and no thread queue): ffmpeg's loop would poll it every 10 ms.
    ["linux screen, no audio", "linux", { kind: "screen" }, { display: ":1", audio: false }, [["-use_wallclock_as_timestamps", "1", "-f", "x11grab"], ["-copyts"], ["-fps_mode", "passthrough", "-enc_time_base", "1:1000000", "-c:v", "rawvideo"]]],
    ["mac camera", "darwin", { kind: "camera" }, {}, [["-f", "avfoundation", "-framerate", "30", "-video_size", "1280x720", "-i", "0:0"]]],
    ["mac camera, named devices", "darwin", { kind: "camera" }, { videoDevice: "FaceTime HD Camera", audioDevice: "1" }, [["-i", "FaceTime HD Camera:1"]]],
    ["mac screen", "darwin", { kind: "screen" }, {}, [["-capture_cursor", "1", "-i", "Capture screen 0:0"]]],
    ["mac camera, no audio", "darwin", { kind: "camera" }, { audio: false }, [["-i", "0:none"]]],
  ];
  test.each(cases)("%s", (_name, os, source, extra, expectedRuns) => {
    const args = buildFfmpegArgs(plan({ os, source, encoder: os === "darwin" ? "videotoolbox" : "x264", ...extra }));
    const joined = `\u0000${args.join("\u0000")}\u0000`;
    for (const run of expectedRuns) expect(joined).toContain(`\u0000${run.join("\u0000")}\u0000`);
  });

  test("two pipes, one per stream: each packet's framecrc line, then its raw video or s16le bytes", () => {
    const args = buildFfmpegArgs(base);
    expect(args.filter((a) => a.includes("pipe\\:"))).toEqual(["[f=framecrc]pipe\\:3|[f=rawvideo:onfail=abort]pipe\\:3", "[f=framecrc]pipe\\:4|[f=s16le:onfail=abort]pipe\\:4"]);
    // One 20 ms Opus frame per PCM packet.
    expect(after(args, "-af")).toContain("asetnsamples=n=960:p=0");
    expect(args.filter((a) => a === "-flush_packets")).toHaveLength(2);
    // 48 kHz stereo s16 whatever the source.
    expect(after(args, "-af")).toContain("aformat=sample_fmts=s16:sample_rates=48000:channel_layouts=stereo");
    expect([after(args, "-ar"), after(args, "-ac")]).toEqual(["48000", "2"]);
  });

  test("--no-audio and --no-video drop their output", () => {
    expect(buildFfmpegArgs(plan({ audio: false })).join(" ")).not.toContain("pipe\\:4");
    const audioOnly = buildFfmpegArgs(plan({ video: false }));
    expect(audioOnly.join(" ")).not.toContain("pipe\\:3");
    expect(after(audioOnly, "-map")).toBe("0:a:0");
    expect(() => buildFfmpegArgs(plan({ audio: false, video: false }))).toThrow("nothing to capture");
  });

  test("non-test sources are scaled and padded to the requested size", () => {
    expect(after(buildFfmpegArgs(plan({ source: { kind: "file", path: "x", loop: false } })), "-vf")).toBe(
      "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p",
    );
  });
});

describe("ffmpeg output parsers", () => {
  test("encoder list", () => {
    const text = " V....D libx264              libx264 H.264 / AVC\n V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)\n A....D libopus              libopus Opus\n";
    expect([...parseEncoderList(text)]).toEqual(["libx264", "h264_nvenc", "libopus"]);
    expect(candidateOrder("darwin")[0]).toBe("videotoolbox");
    expect(candidateOrder("linux")).toEqual(["nvenc", "vaapi", "x264"]);
  });
  test("stream kinds of a file", () => {
    expect(parseStreamKinds("  Stream #0:0(und): Video: h264 (High)\n  Stream #0:1(und): Audio: aac (LC)")).toEqual({ video: true, audio: true });
    expect(parseStreamKinds("  Stream #0:0: Audio: mp3\n  Stream #0:1: Video: mjpeg, yuvj420p (attached pic)")).toEqual({ video: false, audio: true });
    expect(parseStreamKinds("x.mp4: Invalid data found when processing input")).toEqual({ video: false, audio: false });
  });
  test.each([
    ["  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 1280x720 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 1k tbn (default)", { width: 1280, height: 720 }],
    ["  Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080, 4992 kb/s, 30 fps", { width: 1920, height: 1080 }],
    // Anamorphic pixels: the picture is not 720 wide as shown, so it is scaled.
    ["  Stream #0:0: Video: mpeg2video (Main), yuv420p(tv, top first), 720x576 [SAR 64:45 DAR 16:9], 25 fps", undefined],
    // Cover art is not the video, and a hex id is not a size.
    ["  Stream #0:0: Video: png, rgb24(pc), 600x600, 90k tbr (attached pic)\n  Stream #0:1: Video: vp9 (Profile 0), yuv420p(tv), 640x360, SAR 1:1 DAR 16:9, 25 fps", { width: 640, height: 360 }],
  ])("the video's size: %s", (line, size) => {
    expect(parseStreamKinds(line).videoSize).toEqual(size);
  });
  test.each([
    ["  Stream #0:0: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 1280x720 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 1k tbn (default)", 30],
    ["  Stream #0:0(und): Video: h264 (High), yuv420p(tv, bt709, progressive), 1920x1080, 4992 kb/s, 29.97 fps, 29.97 tbr, 30k tbn", 29.97],
    // No stated rate (variable-rate streams show only tbr), and cover art's tbr is not one.
    ["  Stream #0:0: Video: vp8, yuv420p(tv), 640x360, SAR 1:1 DAR 16:9, 1k tbr, 1k tbn", undefined],
    ["  Stream #0:0: Video: png, rgb24(pc), 600x600, 90k tbr (attached pic)", undefined],
  ])("the video's frame rate: %s", (line, fps) => {
    expect(parseStreamKinds(line).videoFps).toBe(fps);
  });
  test.each([
    ["  Stream #0:0: Video: mjpeg (Baseline) (MJPG / 0x47504A4D), yuvj420p(pc, bt470bg/unknown/unknown), 1280x720 [SAR 1:1 DAR 16:9], 30 fps", "yuvj420p"],
    ["  Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080, 30 fps", "yuv420p"],
    ["  Stream #0:0: Video: rawvideo, yuv422p, 320x240, 25 fps", "yuv422p"],
    ["  Stream #0:0: Video: png, rgb24(pc), 600x600, 90k tbr (attached pic)", undefined],
  ])("the video's pixel format: %s", (line, format) => {
    expect(parseStreamKinds(line).videoPixelFormat).toBe(format);
  });
  test("the rate filter (a frame of delay) only for a file whose rate differs from the one asked, or is unknown", () => {
    const file = { kind: "file", path: "/a.mkv", loop: false } as const;
    const hasRate = (p: Partial<MediaPlan>) => buildFfmpegArgs(plan(p)).includes("-r");
    expect(hasRate({ source: file, inputFps: 30 })).toBe(false);
    expect(hasRate({ source: file, inputFps: 25 })).toBe(true);
    expect(hasRate({ source: file, inputFps: 60 })).toBe(true);
    expect(hasRate({ source: file })).toBe(true);
    expect(hasRate({ source: { kind: "test" } })).toBe(false);
    expect(hasRate({ source: { kind: "camera" } })).toBe(false);
    expect(hasRate({ source: { kind: "screen" }, os: "darwin" })).toBe(false);
  });
  test("a file that already has the requested size: no scale, pad or setsar (only the pixel format); otherwise the fit chain", () => {
    const file = { kind: "file", path: "/a.mkv", loop: false } as const;
    expect(after(buildFfmpegArgs(plan({ source: file, inputSize: { width: 1280, height: 720 } })), "-vf")).toBe("format=yuv420p");
    expect(after(buildFfmpegArgs(plan({ source: file, inputSize: { width: 1920, height: 1080 } })), "-vf")).toStartWith("scale=1280:720:");
    expect(after(buildFfmpegArgs(plan({ source: file })), "-vf")).toStartWith("scale=1280:720:");
  });
  test("avfoundation device list", () => {
    const text = [
      "[AVFoundation indev @ 0x1] AVFoundation video devices:",
      "[AVFoundation indev @ 0x1] [0] FaceTime HD Camera",
      "[AVFoundation indev @ 0x1] [1] Capture screen 0",
      "[AVFoundation indev @ 0x1] AVFoundation audio devices:",
      "[AVFoundation indev @ 0x1] [0] MacBook Pro Microphone",
    ].join("\n");
    expect(parseAvfoundationList(text)).toEqual({
      cameras: [{ id: "0", name: "FaceTime HD Camera" }],
      microphones: [{ id: "0", name: "MacBook Pro Microphone" }],
      screens: [{ id: "Capture screen 0", name: "Capture screen 0" }],
    });
  });
  test("libavdevice source list", () => {
    expect(parseSourcesList("Auto-detected sources for pulse:\n* alsa_input.usb-mic [USB Mic]\n  alsa_output.monitor [Monitor]\n")).toEqual([
      { id: "alsa_input.usb-mic", name: "USB Mic", isDefault: true },
      { id: "alsa_output.monitor", name: "Monitor" },
    ]);
  });
});

describe("capture and encoder processes (adaptive video)", () => {
  test("the capture writes raw yuv420p frames, framed on fd 3, and encodes nothing", () => {
    const args = buildFfmpegArgs(plan({ encoder: "vaapi" }));
    expect(args).not.toContain("libx264");
    expect(args).not.toContain("-vaapi_device");
    expect(after(args, "-c:v")).toBe("rawvideo");
    expect(after(args, "-pix_fmt")).toBe("yuv420p");
    expect(args).toContain("[f=framecrc]pipe\\:3|[f=rawvideo:onfail=abort]pipe\\:3");
    expect(after(args, "-vf")).toBe("format=yuv420p");
    // A frame-threaded rawvideo encoder (ffmpeg's default) holds each frame until the next.
    expect(args.slice(args.indexOf("-c:v"), args.indexOf("-flush_packets"))).toEqual(["-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-threads", "1"]);
  });

  test.each([
    ["x264", "libx264", "format=yuv420p"],
    ["nvenc", "h264_nvenc", "format=yuv420p"],
    ["vaapi", "h264_vaapi", "format=nv12,hwupload"],
    ["videotoolbox", "h264_videotoolbox", "format=yuv420p"],
  ] as [Encoder, string, string][])("%s encoder process: raw frames on stdin at the rung's size, rate and fps; H.264 framed on fd 3", (encoder, codec, tail) => {
    const args = encoderProcessArgs({ encoder, inputWidth: 1280, inputHeight: 720, width: 960, height: 540, fps: 15, videoBitrate: 700_000, keyframeIntervalSeconds: 2 });
    expect(args.slice(args.indexOf("-f"), args.indexOf("-i") + 2)).toEqual(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", "1280x720", "-framerate", "15", "-i", "pipe:0"]);
    expect(after(args, "-map")).toBe("0:v:0");
    expect(after(args, "-vf")).toBe(`scale=960:540,${tail}`);
    expect(enc(args, "-c:v")).toBe(codec);
    expect([enc(args, "-b:v"), enc(args, "-maxrate"), enc(args, "-g")]).toEqual(["700000", "700000", "30"]);
    // One output frame per input frame, each numbered by its input's pts (the splice relies on it).
    expect(after(args, "-fps_mode")).toBe("passthrough");
    expect(args.at(-1)).toBe("[f=framecrc]pipe\\:3|[f=h264:onfail=abort]pipe\\:3");
    expect(args.includes("-vaapi_device")).toBe(encoder === "vaapi");
  });

  test("full-range 4:2:0 (an MJPEG file at the requested size) reaches x264 unconverted; anything else is converted to limited range", () => {
    const file = { kind: "file", path: "/a.mkv", loop: false } as const;
    const fits = { source: file, inputSize: { width: 1280, height: 720 }, inputPixelFormat: "yuvj420p" };
    expect(rawFormat(plan(fits))).toBe("yuvj420p");
    expect(rawFormat(plan({ ...fits, inputSize: { width: 1920, height: 1080 } }))).toBe("yuv420p");
    expect(rawFormat(plan({ ...fits, inputPixelFormat: "yuv420p" }))).toBe("yuv420p");
    expect(rawFormat(plan({ ...fits, inputPixelFormat: "yuvj422p" }))).toBe("yuv420p");
    expect(rawFormat(plan({ ...fits, encoder: "nvenc" }))).toBe("yuv420p");
    expect(rawFormat(plan({ source: { kind: "camera" }, inputPixelFormat: "yuvj420p" }))).toBe("yuv420p");
    const capture = buildFfmpegArgs(plan(fits));
    expect([after(capture, "-vf"), after(capture, "-pix_fmt")]).toEqual(["format=yuvj420p", "yuvj420p"]);
    const x264 = encoderProcessArgs({ encoder: "x264", inputWidth: 1280, inputHeight: 720, inputPixelFormat: "yuvj420p", width: 960, height: 540, fps: 30, videoBitrate: 1_000_000, keyframeIntervalSeconds: 2 });
    expect(after(x264, "-pix_fmt")).toBe("yuvj420p");
    expect(after(x264, "-vf")).toBe("scale=960:540,format=yuvj420p");
    expect(enc(x264, "-pix_fmt")).toBe("yuvj420p");
    // Another encoder given full-range frames converts them itself.
    const nvenc = encoderProcessArgs({ encoder: "nvenc", inputWidth: 1280, inputHeight: 720, inputPixelFormat: "yuvj420p", width: 1280, height: 720, fps: 30, videoBitrate: 1_000_000, keyframeIntervalSeconds: 2 });
    expect([after(nvenc, "-pix_fmt"), after(nvenc, "-vf"), enc(nvenc, "-pix_fmt")]).toEqual(["yuvj420p", "format=yuv420p", "yuv420p"]);
  });

  test("at the capture's own size there is no scale step", () => {
    const args = encoderProcessArgs({ encoder: "x264", inputWidth: 1280, inputHeight: 720, width: 1280, height: 720, fps: 30, videoBitrate: 2_500_000, keyframeIntervalSeconds: 2 });
    expect(after(args, "-vf")).toBe("format=yuv420p");
  });
});
