/**
 * `whipcast publish` run from source with the hooks tests need that no flag offers: the
 * wrapping counters started just below their wraps, so an hours-long run's wraps come in
 * seconds. Exits with whipcast's own exit status; logs JSON on stderr like the binary.
 *
 *   bun test/helpers/publish-from-source.ts '{"url":"…","source":"file.mkv","duration":30,"counterStart":{…}}'
 */
import { EXIT_OK, EXIT_STATUS } from "../../src/cli/exit-codes.ts";
import { Logger } from "../../src/cli/log.ts";
import { type PublishFlags, resolvePublishOptions } from "../../src/cli/options.ts";
import { startPublish } from "../../src/cli/publish.ts";
import type { CounterStart } from "../../src/protocol.ts";

const input = JSON.parse(process.argv[2] ?? "{}") as { url: string; source: string; duration: number; counterStart?: CounterStart };
const flags: PublishFlags = {
  url: input.url, source: input.source, duration: String(input.duration), size: "1280x720", fps: "30", "video-bitrate": "2500k", "min-video-bitrate": "150k", adapt: true,
  "stats-interval": "0", "keyframe-interval": "2", encoder: "x264", "audio-bitrate": "128k", audio: true, video: true, loop: false, "connect-timeout": "10", reconnect: true,
  log: "json", quiet: false, verbose: false,
};
const log = new Logger("json", "normal");
const run = startPublish(resolvePublishOptions(flags, [], {}), log, input.counterStart ? { counterStart: input.counterStart } : {});
process.on("SIGTERM", () => run.stop("SIGTERM"));
const error = await run.done;
if (error) log.error(error.message);
process.exit(error ? EXIT_STATUS[error.code] : EXIT_OK);
