import { describe, expect, test } from "bun:test";
import { parseArgs } from "citty";
import { publishArgs } from "../../src/cli/args.ts";
import { mergeConfig, parseConfig, withoutConfig } from "../../src/cli/config-file.ts";
import { UsageError } from "../../src/errors.ts";

describe("publish --config: one flag per line", () => {
  test("settings, booleans, quotes, comments; the URL from url =", () => {
    const text = ["# a show", "url = https://example.com/whip/show", "token-file = /home/me/.config/whipcast/token", "", "source = camera", "no-audio", "adapt = false", 'size = "1280x720"', "--fps = 25", "ice-server = stun:a:3478", "ice-server = stun:b:3478"].join("\n");
    expect(parseConfig(text, "show.conf", publishArgs)).toEqual({
      url: "https://example.com/whip/show",
      args: ["--token-file", "/home/me/.config/whipcast/token", "--source", "camera", "--no-audio", "--no-adapt", "--size", "1280x720", "--fps", "25", "--ice-server", "stun:a:3478", "--ice-server", "stun:b:3478"],
      keys: ["url", "token-file", "source", "audio", "adapt", "size", "fps", "ice-server"],
    });
  });

  test.each([
    ["fsp = 30", "show.conf line 1: unknown setting fsp (settings are publish's flags, as in whipcast publish --help)"],
    ["config = other.conf", "show.conf line 1: unknown setting config (settings are publish's flags, as in whipcast publish --help)"],
    ["fps =", "show.conf line 1: fps needs a value (fps = ...)"],
    ["url", "show.conf line 1: url needs a value (url = ...)"],
    ["# x\nloop = maybe", "show.conf line 2: loop must be true or false (got maybe)"],
  ])("%j → one line naming the file and line", (text, message) => {
    expect(() => parseConfig(text, "show.conf", publishArgs)).toThrow(new UsageError(message));
  });

  test("the command line wins: its flags replace the file's, negations included", () => {
    const file = parseConfig("source = camera\nno-audio\nfps = 25\nice-server = stun:a:3478", "f", publishArgs);
    const merged = mergeConfig(file, ["--config", "f", "--audio", "--fps", "30", "--source=test"], publishArgs);
    expect(merged).toEqual(["--ice-server", "stun:a:3478", "--audio", "--fps", "30", "--source=test"]);
    const parsed = parseArgs(merged, publishArgs) as Record<string, unknown>;
    expect({ audio: parsed.audio, fps: parsed.fps, source: parsed.source }).toEqual({ audio: true, fps: "30", source: "test" });
  });

  test("the file's settings stand where the command line is silent", () => {
    const file = parseConfig("no-audio\nfps = 25", "f", publishArgs);
    const parsed = parseArgs(mergeConfig(file, ["--config=f"], publishArgs), publishArgs) as Record<string, unknown>;
    expect({ audio: parsed.audio, fps: parsed.fps }).toEqual({ audio: false, fps: "25" });
    expect(withoutConfig(["--config", "f", "--x", "--config=g"])).toEqual(["--x"]);
  });
});
