/**
 * ffmpeg's command line for one run, as a pure function of the plan: one table test per
 * encoder, source and OS pins it down (VideoToolbox can only be checked this way on Linux).
 *
 * The capture process writes two extra pipes, each packet's framecrc line (size, pts, key flag)
 * and then its bytes: fd 3 raw yuv420p video, fd 4 48 kHz stereo s16le audio. Video and audio
 * are separate outputs so neither muxer waits for the other's packets to interleave them. Each
 * encoder process reads raw frames on stdin and writes H.264 Annex B the same way on fd 3.
 */
export type Encoder = "videotoolbox" | "nvenc" | "vaapi" | "x264";
export type Os = "darwin" | "linux";
export type Source = { kind: "camera" } | { kind: "screen" } | { kind: "test" } | { kind: "file"; path: string; loop: boolean };

export interface MediaPlan {
  os: Os;
  source: Source;
  video: boolean;
  audio: boolean;
  videoDevice?: string;
  audioDevice?: string;
  width: number;
  height: number;
  fps: number;
  /** bits per second */
  videoBitrate: number;
  keyframeIntervalSeconds: number;
  encoder: Encoder;
  /** DRM render node for VAAPI. */
  vaapiDevice?: string;
  /** Linux X11 display for screen capture. */
  display?: string;
  /** The source's picture size when known in advance (a probed file), with square pixels. */
  inputSize?: { width: number; height: number };
  /** The source's frame rate when known in advance (a probed file). */
  inputFps?: number;
  /** The source's pixel format when known in advance (a probed file). */
  inputPixelFormat?: string;
}

/**
 * The raw frames' format between the capture and the encoder processes: 4:2:0 planar, limited
 * range (yuv420p), or full range (yuvj420p, JPEG's: MJPEG files and cameras).
 */
export type RawFormat = "yuv420p" | "yuvj420p";

/** The child's extra stdio pipes: one per stream (an encoder process writes fd 3). */
export const PIPE = { video: 3, audio: 4, encoded: 3 } as const;

/**
 * A tee output that writes each packet's framecrc line and then its bytes (in `format`) to the
 * same pipe. The tee muxer writes slave by slave in this order, each flushed per packet, so the
 * reader learns a packet's size, pts and flags before its data (src/media/packet-cutter.ts).
 */
export function framedPipe(format: "h264" | "s16le" | "rawvideo", fd: number): string {
  return `[f=framecrc]pipe\\:${fd}|[f=${format}:onfail=abort]pipe\\:${fd}`;
}

/** Smallest H.264 level (Table A-1) whose frame size and macroblock rate fit. */
export function h264Level(width: number, height: number, fps: number): string {
  const mbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const rate = mbs * fps;
  const levels: [string, number, number][] = [
    ["3.1", 3_600, 108_000],
    ["3.2", 5_120, 216_000],
    ["4", 8_192, 245_760],
    ["4.2", 8_704, 522_240],
    ["5.1", 36_864, 983_040],
    ["5.2", 36_864, 2_073_600],
  ];
  return (levels.find(([, maxFs, maxMbps]) => mbs <= maxFs && rate <= maxMbps) ?? levels[levels.length - 1]!)[0];
}

function inputArgs(plan: MediaPlan): { args: string[]; videoMap: string; audioMap: string; live: boolean } {
  const { source, os, fps, width, height } = plan;
  const sizeArg = `${width}x${height}`;
  switch (source.kind) {
    case "test": {
      const args: string[] = [];
      // testsrc2 draws moving patterns; its running timecode (pts) is the burnt-in clock.
      if (plan.video) args.push("-re", "-f", "lavfi", "-i", `testsrc2=size=${sizeArg}:rate=${fps}`);
      // A 440 Hz tone that beeps once a second (a sync reference a person can hear).
      if (plan.audio) args.push("-re", "-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:sample_rate=48000");
      return { args, videoMap: "0:v:0", audioMap: plan.video ? "1:a:0" : "0:a:0", live: false };
    }
    case "file":
      return {
        args: ["-re", ...(source.loop ? ["-stream_loop", "-1"] : []), "-i", source.path],
        videoMap: "0:v:0",
        audioMap: "0:a:0",
        live: false,
      };
    case "camera":
    case "screen": {
      if (os === "darwin") {
        // avfoundation opens video and audio as one input, so both share its clock.
        const video = plan.video ? (plan.videoDevice ?? (source.kind === "screen" ? "Capture screen 0" : "0")) : "none";
        const audio = plan.audio ? (plan.audioDevice ?? "0") : "none";
        const args = ["-thread_queue_size", "512", "-f", "avfoundation", "-framerate", String(fps)];
        if (source.kind === "camera" && plan.video) args.push("-video_size", sizeArg);
        if (source.kind === "screen") args.push("-capture_cursor", "1");
        args.push("-i", `${video}:${audio}`);
        return { args, videoMap: "0:v:0", audioMap: "0:a:0", live: true };
      }
      // Linux: separate video and audio inputs stamped from the same wall clock, so their
      // timestamps are comparable (with -copyts) and lip sync holds.
      const args: string[] = [];
      // A thread per input only where there are two: ffmpeg 5.1 reads a lone input on its own
      // loop, but gives it a thread once -thread_queue_size is set, and its loop then polls the
      // threads' queues with a 10 ms sleep between empty polls. Measured on x11grab: grab → pipe
      // p50 5.3 ms alone, 10.3 ms with the queue (10.9 ms with a second input, which has it anyway).
      const queue = plan.video && plan.audio ? ["-thread_queue_size", "512"] : [];
      const clock = ["-use_wallclock_as_timestamps", "1", ...queue];
      if (plan.video) {
        if (source.kind === "camera") args.push(...clock, "-f", "v4l2", "-framerate", String(fps), "-video_size", sizeArg, "-i", plan.videoDevice ?? "/dev/video0");
        else args.push(...clock, "-f", "x11grab", "-framerate", String(fps), "-draw_mouse", "1", "-i", plan.videoDevice ?? plan.display ?? ":0.0");
      }
      if (plan.audio) args.push(...clock, ...linuxAudioInput(plan.audioDevice));
      return { args, videoMap: "0:v:0", audioMap: plan.video ? "1:a:0" : "0:a:0", live: true };
    }
  }
}

/** `pulse:NAME` or `alsa:NAME`; a bare name is a PulseAudio source (PipeWire serves it too). */
function linuxAudioInput(device: string | undefined): string[] {
  if (device?.startsWith("alsa:")) return ["-f", "alsa", "-i", device.slice(5)];
  const name = device?.startsWith("pulse:") ? device.slice(6) : (device ?? "default");
  return ["-f", "pulse", "-i", name];
}

export function encoderArgs(plan: Pick<MediaPlan, "encoder" | "videoBitrate" | "fps" | "keyframeIntervalSeconds" | "width" | "height"> & { pixelFormat?: RawFormat }): string[] {
  const b = String(plan.videoBitrate);
  const gop = String(Math.max(1, Math.round(plan.fps * plan.keyframeIntervalSeconds)));
  const rate = ["-b:v", b, "-maxrate", b];
  // A one-second VBV keeps the rate honest without starving keyframes.
  const vbv = ["-bufsize", b];
  // A fixed GOP, whatever the encoder's scene-cut logic thinks.
  const gopArgs = ["-g", gop, "-keyint_min", gop, "-force_key_frames", `expr:gte(t,n_forced*${plan.keyframeIntervalSeconds})`];
  const level = h264Level(plan.width, plan.height, plan.fps);
  switch (plan.encoder) {
    case "x264":
      // Constrained Baseline: baseline profile, no B-frames; zerolatency drops lookahead and
      // frame threading; repeat-headers puts SPS/PPS before every IDR.
      return ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline", "-level:v", level, "-pix_fmt", plan.pixelFormat ?? "yuv420p", ...rate, ...vbv, ...gopArgs, "-sc_threshold", "0", "-bf", "0", "-x264-params", "repeat-headers=1"];
    case "nvenc":
      return ["-c:v", "h264_nvenc", "-preset", "p4", "-tune", "ll", "-profile:v", "baseline", "-level:v", level, "-pix_fmt", "yuv420p", "-rc", "cbr", ...rate, ...vbv, ...gopArgs, "-bf", "0", "-forced-idr", "1", "-zerolatency", "1", "-delay", "0"];
    case "vaapi":
      return ["-c:v", "h264_vaapi", "-profile:v", "constrained_baseline", "-level:v", level, "-rc_mode", "CBR", ...rate, ...vbv, ...gopArgs, "-bf", "0"];
    case "videotoolbox":
      return ["-c:v", "h264_videotoolbox", "-realtime", "1", "-prio_speed", "1", "-profile:v", "baseline", "-level:v", level, "-pix_fmt", "yuv420p", ...rate, ...gopArgs, "-bf", "0", "-allow_sw", "0"];
  }
}

/**
 * Sources other than the test pattern are scaled and letterboxed to the requested size, unless
 * the source is known to have that size already: the chain costs about 5 % of a core at 720p30
 * even when it changes nothing, and a frame of latency through its buffers.
 */
function fitFilters(plan: Pick<MediaPlan, "width" | "height" | "source" | "inputSize">): string[] {
  const { width: w, height: h } = plan;
  if (plan.source.kind === "test") return [];
  if (plan.inputSize?.width === w && plan.inputSize.height === h) return [];
  return [`scale=${w}:${h}:force_original_aspect_ratio=decrease`, `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`, "setsar=1"];
}

/**
 * ffmpeg's rate filter (-r) only where a file's frames come at another rate than asked, or at
 * one ffmpeg does not state. To drop or repeat a frame it must see the next one's stamp, and a
 * live source's wall-clock stamps never fall on its grid. The test pattern is drawn at the rate
 * asked; a live device is opened at it (-framerate) and stamps each frame as it is captured; a
 * source faster than asked is thinned by the encoder's feed (video-encoder.ts). Measured on the
 * screen bench here: glass to glass p50 98-99 ms without it, 113-114 ms with it (two runs each;
 * runs differ by a 60 Hz refresh or two, so this is a hint, not a figure).
 */
function rateArgs(plan: Pick<MediaPlan, "source" | "fps" | "inputFps">): string[] {
  if (plan.source.kind !== "file") return [];
  if (plan.inputFps !== undefined && Math.abs(plan.inputFps - plan.fps) < 0.01) return [];
  return ["-r", String(plan.fps)];
}

/**
 * A wall-clock-stamped source's frames keep their own stamps, to the microsecond, and each goes
 * out once. Otherwise ffmpeg puts them on the 1/fps grid of the raw output's time base (a
 * capture instant then reads up to half a frame off, by however the grid falls: x11grab's grab →
 * pipe read 5.7 and 25.0 ms in two runs on the grid, 10.9 and 11.1 ms with its own stamps) and,
 * at a constant rate, repeats or drops frames to fill that grid.
 */
function wallClockVideo(wallClock: boolean): string[] {
  return wallClock ? ["-fps_mode", "passthrough", "-enc_time_base", "1:1000000"] : [];
}

/**
 * Full-range 4:2:0 (MJPEG's) goes to x264 as it is, which marks the range in the stream's VUI
 * (video_full_range_flag, H.264 E.2.1) for the receiver's decoder to honour. Converting it to
 * limited range first costs about 5 % of a core at 720p30 in the capture (a 720p30 MJPEG file
 * decoded to a pipe: 13 % without, 18 % with). Only where nothing else touches the frames: a
 * fit chain or another encoder converts as before.
 */
export function rawFormat(plan: Pick<MediaPlan, "encoder" | "width" | "height" | "source" | "inputSize" | "inputPixelFormat">): RawFormat {
  return plan.encoder === "x264" && plan.inputPixelFormat === "yuvj420p" && fitFilters(plan).length === 0 ? "yuvj420p" : "yuv420p";
}

/** What an encoder takes: the raw format for x264, yuv420p for the others, NV12 uploaded to the GPU for VAAPI. */
function encoderInput(encoder: Encoder, raw: RawFormat = "yuv420p"): string[] {
  if (encoder === "vaapi") return ["format=nv12", "hwupload"];
  return [`format=${encoder === "x264" ? raw : "yuv420p"}`];
}

export function videoFilter(plan: Pick<MediaPlan, "encoder" | "width" | "height" | "source" | "inputSize">): string {
  return [...fitFilters(plan), ...encoderInput(plan.encoder)].join(",");
}

/**
 * The capture process: raw yuv420p frames at the requested size and rate (framed on fd 3) for
 * the encoder processes (encoderProcessArgs), which can be restarted at a new setting; and PCM.
 */
export function buildFfmpegArgs(plan: MediaPlan): string[] {
  if (!plan.video && !plan.audio) throw new RangeError("nothing to capture: both video and audio are off");
  const input = inputArgs(plan);
  const args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"];
  if (input.live) args.push("-fflags", "nobuffer");
  args.push(...input.args);
  // Linux live inputs are stamped from the wall clock as each packet is captured; -copyts keeps
  // those stamps, so the capture clock is the capture instant itself (src/media/capture.ts).
  const wallClock = input.live && plan.os === "linux";
  if (wallClock) args.push("-copyts");
  if (plan.video) {
    const raw = rawFormat(plan);
    // One thread for the rawvideo encoder: ffmpeg gives it frame threads by default, and a
    // frame-threaded encoder hands each frame out only once the next one has come in, a whole
    // frame interval later (measured on x11grab: stamp → pipe p50 34.4 ms by default, 1.5 ms
    // with one thread). Copying a frame out needs no second thread.
    args.push("-map", input.videoMap, "-vf", [...fitFilters(plan), `format=${raw}`].join(","), ...rateArgs(plan), ...wallClockVideo(wallClock), "-c:v", "rawvideo", "-pix_fmt", raw, "-threads", "1");
    args.push("-flush_packets", "1", "-f", "tee", framedPipe("rawvideo", PIPE.video));
  }
  if (plan.audio) {
    // ffmpeg resamples and remixes whatever the source has (a 24 kHz mono microphone, a 44.1 kHz
    // file) to 48 kHz stereo; async=1 stretches or pads so audio time keeps up with the clock.
    // 960-sample chunks are exactly one 20 ms Opus frame: each is written the moment its last
    // sample exists, which is when the encoder could start on it anyway (smaller chunks would
    // only add pipe reads and Worker messages, not lower latency).
    const filters = [input.live ? "aresample=async=1" : "aresample", "aformat=sample_fmts=s16:sample_rates=48000:channel_layouts=stereo", "asetnsamples=n=960:p=0"];
    args.push("-map", input.audioMap, "-af", filters.join(","), "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2");
    args.push("-flush_packets", "1", "-f", "tee", framedPipe("s16le", PIPE.audio));
  }
  return args;
}

export interface EncoderProcessPlan {
  encoder: Encoder;
  /** The raw frames' size and format (the capture's). */
  inputWidth: number;
  inputPixelFormat?: RawFormat;
  inputHeight: number;
  /** What this encoder makes of them. */
  width: number;
  height: number;
  fps: number;
  videoBitrate: number;
  keyframeIntervalSeconds: number;
  vaapiDevice?: string;
}

/**
 * One encoder process: raw yuv420p frames on stdin (one per `fps` tick, numbered by ffmpeg from
 * 0), H.264 out on fd 3 framed like the capture's (framecrc line, then the access unit). It
 * starts with an IDR, as every fresh encoder does, which is what splicing relies on.
 */
export function encoderProcessArgs(plan: EncoderProcessPlan): string[] {
  const args = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"];
  if (plan.encoder === "vaapi") args.push("-vaapi_device", plan.vaapiDevice ?? "/dev/dri/renderD128");
  const raw = plan.inputPixelFormat ?? "yuv420p";
  args.push("-f", "rawvideo", "-pix_fmt", raw, "-video_size", `${plan.inputWidth}x${plan.inputHeight}`, "-framerate", String(plan.fps), "-i", "pipe:0");
  const filters: string[] = [];
  if (plan.width !== plan.inputWidth || plan.height !== plan.inputHeight) filters.push(`scale=${plan.width}:${plan.height}`);
  filters.push(...encoderInput(plan.encoder, raw));
  args.push("-map", "0:v:0", "-vf", filters.join(","), ...encoderArgs({ ...plan, pixelFormat: raw }), "-fps_mode", "passthrough");
  args.push("-flush_packets", "1", "-f", "tee", framedPipe("h264", PIPE.encoded));
  return args;
}

/** A three-frame encode of a synthetic picture: does this encoder really work here? */
export function probeArgs(encoder: Encoder, vaapiDevice?: string): string[] {
  const plan = { encoder, videoBitrate: 500_000, fps: 30, keyframeIntervalSeconds: 1, width: 256, height: 144 };
  const pre = encoder === "vaapi" ? ["-vaapi_device", vaapiDevice ?? "/dev/dri/renderD128"] : [];
  return ["-hide_banner", "-nostdin", "-loglevel", "error", ...pre, "-f", "lavfi", "-i", "color=c=gray:s=256x144:r=30", "-frames:v", "3", "-vf", videoFilter({ ...plan, source: { kind: "test" } }), ...encoderArgs(plan), "-f", "null", "-"];
}
