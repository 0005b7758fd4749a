/**
 * The flags of `cli/stream.ts`: videocall-cli's, plus token, file source, codec, transport,
 * key-frame interval, count and quiet. Parsing is pure (unit-tested); every flag has a default
 * shown by `--help`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { validateId } from "../lib/protocol/ids.ts";

/** Exit status for bad flags. */
export const USAGE_EXIT = 2;

/** Where the picture (and sound) come from. */
export type Source =
  | { kind: "camera"; device: string }
  | { kind: "test-pattern" }
  | { kind: "file"; path: string };

/** What `stream` was asked to do. */
export interface StreamOptions {
  url: URL;
  userId: string;
  meetingId: string;
  displayName: string;
  source: Source;
  /** ALSA (`hw:1,0`, `default`) or PulseAudio (`pulse:<source>`) input; none for no microphone. */
  audioDevice?: string;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  frameFormat: "NV12" | "YUYV";
  cpuUsed: number;
  codec: "vp9" | "vp8";
  transport: "auto" | "webtransport" | "websocket";
  keyframeIntervalSeconds: number;
  insecureSkipVerify: boolean;
  /** Stay on the server `--url` names instead of choosing from its pool. */
  stayOnServer: boolean;
  /** Encrypt end to end (always on in meetings that require it). */
  e2ee: boolean;
  token?: string;
  tokenFile?: string;
  count: number;
  quiet: boolean;
  ffmpeg: string;
  /** Send two simulcast layers (a 320x180 one at up to 7 fps, and the full picture). */
  simulcast: boolean;
}

/** What `info` was asked to do. */
export type InfoRequest =
  | { kind: "cameras" }
  | { kind: "audio-devices" }
  | { kind: "formats"; camera: string };

/** The outcome of {@linkcode parseCommandLine}. */
export type Parsed =
  | { ok: true; command: "help"; text: string }
  | { ok: true; command: "stream"; options: StreamOptions }
  | { ok: true; command: "info"; request: InfoRequest }
  | { ok: false; error: string };

const DEFAULTS = {
  resolution: "1280x720",
  fps: "30",
  bitrate: "500",
  frameFormat: "NV12",
  cpuUsed: "8",
  codec: "vp9",
  transport: "auto",
  keyframeInterval: "1",
  count: "1",
  device: "0",
} as const;

/** The `--help` text. */
export const HELP = `deno run -A cli/stream.ts <command> [flags]

Puts a camera, a test pattern or a video file into a videocall meeting, encoded by ffmpeg.

Commands:
  stream   join a meeting and send video (and audio)
  info     list cameras, audio devices, or one camera's formats

stream flags:
  --url <url>                   the server: http(s)://host:port (WebTransport, WebSocket
                                fallback) or ws(s)://host:port (WebSocket only)   [required]
  --user-id <id>                who you are (letters, digits, _ and -)          [required]
  --meeting-id <id>             the meeting to join                             [required]
  --display-name <name>         the name others see                  [default: the user id]
  -v, --video-device-index <n>  camera index (/dev/video<n>) or a device path     [default: 0]
  -a, --audio-device <dev>      microphone: ALSA name (default, hw:1,0) or pulse:<source>
                                                                  [default: no microphone]
  -r, --resolution <WxH>        capture and send size                      [default: 1280x720]
  --fps <n>                     frames per second                                [default: 30]
  --bitrate-kbps <n>            video bitrate                                   [default: 500]
  --frame-format <NV12|YUYV>    camera pixel format                            [default: NV12]
  --vp9-cpu-used <0-8>          encoder speed (higher is faster, lower quality)   [default: 8]
  --codec <vp9|vp8>             video codec                                     [default: vp9]
  --keyframe-interval <s>       seconds between key frames; a key-frame request is answered
                                by the next one                                   [default: 1]
  --simulcast                   also send a small layer (fits 320x180, up to 7 fps) from the
                                same ffmpeg, so small tiles in large meetings cost little
  --debug-send-test-pattern     send ffmpeg's testsrc2 pattern and a 440 Hz tone, no devices
  --source <camera|file:path>   what to send; file:<path> loops a video file   [default: camera]
  --transport <auto|webtransport|websocket>                                    [default: auto]
  --insecure-skip-verify        trust the WebTransport certificate hash the server advertises
                                at /api/v1/webtransport (self-signed development servers)
  --stay-on-server              connect to the --url server itself, even when it lists a pool
                                of servers (by default the least loaded, fastest one is chosen,
                                and chosen again after a drop)
  --e2ee                        encrypt end to end (on by itself in meetings that require
                                it); prints the safety code to compare with the others'
  --token <token>               a token for servers or meetings that need one
  --token-file <path>           read the token from a file
  --count <n>                   run n streamers in this process (user ids <id>-1 .. <id>-n),
                                sharing one encoder: a load generator            [default: 1]
  --ffmpeg <path>               the ffmpeg to run                            [default: ffmpeg]
  --quiet                       no status line or periodic log lines

info flags:
  --list-cameras                cameras and their names
  --list-audio-devices          ALSA capture devices (and PulseAudio sources, if any)
  --list-formats <camera>       pixel formats and sizes of one camera (index or path)

Exit status: 0 after leaving (Ctrl-C, SIGTERM), 2 bad flags, 3 ffmpeg missing or failing,
4 camera or file not found, 5 refused (bad token, wrong password, locked), 6 the meeting ended
or a host removed you, 7 the server cannot be reached.
`;

function positiveInt(name: string, value: string, min: number, max: number): number | string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    return `${name} must be a whole number from ${min} to ${max}, got "${value}"`;
  }
  return n;
}

/** Parses `Deno.args`. */
export function parseCommandLine(args: string[]): Parsed {
  const [command, ...rest] = args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    return { ok: true, command: "help", text: HELP };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        url: { type: "string" },
        "user-id": { type: "string" },
        "meeting-id": { type: "string" },
        "display-name": { type: "string" },
        "video-device-index": { type: "string", short: "v" },
        "audio-device": { type: "string", short: "a" },
        resolution: { type: "string", short: "r" },
        fps: { type: "string" },
        "bitrate-kbps": { type: "string" },
        "frame-format": { type: "string" },
        "vp9-cpu-used": { type: "string" },
        codec: { type: "string" },
        "keyframe-interval": { type: "string" },
        "debug-send-test-pattern": { type: "boolean" },
        source: { type: "string" },
        transport: { type: "string" },
        "insecure-skip-verify": { type: "boolean" },
        "stay-on-server": { type: "boolean" },
        e2ee: { type: "boolean" },
        token: { type: "string" },
        "token-file": { type: "string" },
        count: { type: "string" },
        ffmpeg: { type: "string" },
        quiet: { type: "boolean" },
        simulcast: { type: "boolean" },
        "list-cameras": { type: "boolean" },
        "list-audio-devices": { type: "boolean" },
        "list-formats": { type: "string" },
      },
    });
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const v = parsed.values;
  if (v.help) return { ok: true, command: "help", text: HELP };
  if (command === "info") {
    if (v["list-cameras"]) return { ok: true, command: "info", request: { kind: "cameras" } };
    if (v["list-audio-devices"]) {
      return { ok: true, command: "info", request: { kind: "audio-devices" } };
    }
    if (v["list-formats"] !== undefined) {
      return {
        ok: true,
        command: "info",
        request: { kind: "formats", camera: cameraPath(v["list-formats"]) },
      };
    }
    return {
      ok: false,
      error: "info needs --list-cameras, --list-audio-devices or --list-formats",
    };
  }
  if (command !== "stream") {
    return { ok: false, error: `Unknown command "${command}": use stream or info (or --help)` };
  }
  if (!v.url) return { ok: false, error: "--url is required" };
  let url: URL;
  try {
    url = new URL(v.url);
  } catch {
    return { ok: false, error: `--url "${v.url}" is not a URL` };
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) {
    return { ok: false, error: `--url must start with http://, https://, ws:// or wss://` };
  }
  for (const [flag, value] of [["--user-id", v["user-id"]], ["--meeting-id", v["meeting-id"]]]) {
    if (!value) return { ok: false, error: `${flag} is required` };
    const check = validateId(flag === "--user-id" ? "user id" : "meeting id", value);
    if (!check.ok) return { ok: false, error: check.reason };
  }
  const resolution = (v.resolution ?? DEFAULTS.resolution).match(/^(\d{2,5})x(\d{2,5})$/);
  if (!resolution) return { ok: false, error: `--resolution must look like 1280x720` };
  const width = Number(resolution[1]);
  const height = Number(resolution[2]);
  if (width % 2 || height % 2 || width > 4096 || height > 4096) {
    return { ok: false, error: "--resolution needs even sizes up to 4096x4096" };
  }
  const numbers: [string, string, number, number][] = [
    ["--fps", v.fps ?? DEFAULTS.fps, 1, 120],
    ["--bitrate-kbps", v["bitrate-kbps"] ?? DEFAULTS.bitrate, 10, 50_000],
    ["--vp9-cpu-used", v["vp9-cpu-used"] ?? DEFAULTS.cpuUsed, 0, 8],
    ["--keyframe-interval", v["keyframe-interval"] ?? DEFAULTS.keyframeInterval, 1, 60],
    ["--count", v.count ?? DEFAULTS.count, 1, 1000],
  ];
  const n: number[] = [];
  for (const [name, value, min, max] of numbers) {
    const r = positiveInt(name, value, min, max);
    if (typeof r === "string") return { ok: false, error: r };
    n.push(r);
  }
  const [fps, bitrateKbps, cpuUsed, keyframeIntervalSeconds, count] = n;
  const frameFormat = (v["frame-format"] ?? DEFAULTS.frameFormat).toUpperCase();
  if (frameFormat !== "NV12" && frameFormat !== "YUYV") {
    return { ok: false, error: `--frame-format must be NV12 or YUYV, got "${v["frame-format"]}"` };
  }
  const codec = v.codec ?? DEFAULTS.codec;
  if (codec !== "vp9" && codec !== "vp8") {
    return { ok: false, error: `--codec must be vp9 or vp8, got "${codec}"` };
  }
  let transport = v.transport ?? DEFAULTS.transport;
  if (transport !== "auto" && transport !== "webtransport" && transport !== "websocket") {
    return { ok: false, error: `--transport must be auto, webtransport or websocket` };
  }
  if (url.protocol === "ws:" || url.protocol === "wss:") {
    if (transport === "webtransport") {
      return { ok: false, error: "a ws:// or wss:// --url cannot use WebTransport" };
    }
    transport = "websocket";
  }
  let source: Source;
  if (v["debug-send-test-pattern"]) {
    if (v.source !== undefined) {
      return { ok: false, error: "--debug-send-test-pattern and --source exclude each other" };
    }
    source = { kind: "test-pattern" };
  } else if (v.source === undefined || v.source === "camera") {
    source = { kind: "camera", device: cameraPath(v["video-device-index"] ?? DEFAULTS.device) };
  } else if (v.source.startsWith("file:") && v.source.length > 5) {
    source = { kind: "file", path: v.source.slice(5) };
  } else {
    return { ok: false, error: `--source must be camera or file:<path>, got "${v.source}"` };
  }
  if (v.token !== undefined && v["token-file"] !== undefined) {
    return { ok: false, error: "--token and --token-file exclude each other" };
  }
  if (count > 1 && (v.token !== undefined || v["token-file"] !== undefined)) {
    return { ok: false, error: "--count above 1 cannot use a token (a token names one user)" };
  }
  return {
    ok: true,
    command: "stream",
    options: {
      url,
      userId: v["user-id"]!,
      meetingId: v["meeting-id"]!,
      displayName: v["display-name"] ?? v["user-id"]!,
      source,
      audioDevice: v["audio-device"],
      width,
      height,
      fps,
      bitrateKbps,
      frameFormat,
      cpuUsed,
      codec,
      transport: transport as StreamOptions["transport"],
      keyframeIntervalSeconds,
      insecureSkipVerify: v["insecure-skip-verify"] ?? false,
      stayOnServer: v["stay-on-server"] ?? false,
      e2ee: v.e2ee ?? false,
      token: v.token,
      tokenFile: v["token-file"],
      count,
      quiet: v.quiet ?? false,
      ffmpeg: v.ffmpeg ?? "ffmpeg",
      simulcast: v.simulcast ?? false,
    },
  };
}

/** `0` → `/dev/video0`; a path stays a path. */
export function cameraPath(value: string): string {
  return /^\d+$/.test(value) ? `/dev/video${value}` : value;
}
