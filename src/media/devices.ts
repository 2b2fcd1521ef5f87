import type { Os } from "./ffmpeg-args.ts";
import { runFfmpeg } from "./ffmpeg-run.ts";

export interface Device {
  /** What to pass to --video-device / --audio-device. */
  id: string;
  name: string;
  isDefault?: boolean;
}

export interface DeviceList {
  cameras: Device[];
  microphones: Device[];
  screens: Device[];
}

/** `ffmpeg -f avfoundation -list_devices true -i ""` (macOS) writes both lists to stderr. */
export function parseAvfoundationList(text: string): DeviceList {
  const out: DeviceList = { cameras: [], microphones: [], screens: [] };
  let section: "video" | "audio" | undefined;
  for (const line of text.split("\n")) {
    if (/AVFoundation video devices:/.test(line)) section = "video";
    else if (/AVFoundation audio devices:/.test(line)) section = "audio";
    else {
      const m = /\]\s*\[(\d+)\]\s*(.+?)\s*$/.exec(line);
      if (!m || !section) continue;
      const device = { id: m[1]!, name: m[2]! };
      if (section === "audio") out.microphones.push(device);
      else if (/^Capture screen/i.test(device.name)) out.screens.push({ id: device.name, name: device.name });
      else out.cameras.push(device);
    }
  }
  return out;
}

/** `ffmpeg -sources FORMAT` (libavdevice get_device_list): `* id [description]` per line. */
export function parseSourcesList(text: string): Device[] {
  const out: Device[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\*?)\s*(\S+)\s+\[(.*)\]\s*$/.exec(line);
    if (m) out.push({ id: m[2]!, name: m[3]!, ...(m[1] === "*" ? { isDefault: true } : {}) });
  }
  return out;
}

async function capture(ffmpeg: string, args: string[]): Promise<string> {
  return (await runFfmpeg(ffmpeg, args)).output;
}

export async function listDevices(ffmpeg: string, os: Os, env: Record<string, string | undefined> = process.env): Promise<DeviceList> {
  if (os === "darwin") return parseAvfoundationList(await capture(ffmpeg, ["-hide_banner", "-f", "avfoundation", "-list_devices", "true", "-i", ""]));
  const [v4l2, pulse, alsa] = await Promise.all(["v4l2", "pulse", "alsa"].map((f) => capture(ffmpeg, ["-hide_banner", "-sources", f])));
  const microphones = [
    ...parseSourcesList(pulse!).filter((d) => !d.id.endsWith(".monitor")).map((d) => ({ ...d, id: `pulse:${d.id}` })),
    ...parseSourcesList(alsa!).map((d) => ({ ...d, id: `alsa:${d.id}`, isDefault: false })),
  ];
  const display = env.DISPLAY;
  return {
    cameras: parseSourcesList(v4l2!),
    microphones,
    screens: display ? [{ id: display, name: `X11 display ${display}` }] : [],
  };
}

export function formatDeviceList(list: DeviceList): string {
  const section = (title: string, flag: string, items: Device[], none: string) =>
    [`${title} (${flag}):`, ...(items.length === 0 ? [`  ${none}`] : items.map((d) => `  ${d.isDefault ? "*" : " "} ${d.id.padEnd(28)} ${d.name}`))].join("\n");
  return [
    section("cameras", "--video-device", list.cameras, "none found"),
    section("microphones", "--audio-device", list.microphones, "none found"),
    section("screens", "--source screen --video-device", list.screens, "none found (no display)"),
  ].join("\n");
}
