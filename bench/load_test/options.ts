/**
 * The flags of `deno task load`, named as `lk load-test` names them where they mean the same:
 * who publishes what, how many only watch, the layout every receiver shows (which decides its
 * VIEWPORT and LAYER_PREFERENCE), simulcast, the join rate, how long to measure, the transport.
 * Parsing is pure: a mistake is a message, not an exit.
 *
 * @example
 * ```ts
 * import { parseLoadOptions } from "./options.ts";
 *
 * const o = parseLoadOptions([
 *   "--url", "http://127.0.0.1:8080,http://127.0.0.1:8081", "--video-publishers", "1",
 *   "--subscribers", "999", "--layout", "speaker", "--simulcast",
 * ]);
 * if (!o.ok || o.options.urls.length !== 2 || o.options.participants !== 1000) {
 *   throw new Error(JSON.stringify(o));
 * }
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { validateId } from "../../lib/protocol/ids.ts";

/** What a receiver shows: a grid of N×N small tiles, or the speaker large with a strip. */
export type Layout = "3x3" | "4x4" | "5x5" | "speaker";

/** Everything `deno task load` was asked to do. */
export interface LoadOptions {
  /** Servers (http:// or ws://); participant i goes to `urls[i % urls.length]`. */
  urls: string[];
  room: string;
  /** Participants publishing a camera (they also publish audio when `audioPublishers` covers them). */
  videoPublishers: number;
  /** Participants publishing a microphone: the first ones are the video publishers. */
  audioPublishers: number;
  /** Participants publishing nothing. */
  subscribers: number;
  /** Everyone: max(video, audio publishers) + subscribers. */
  participants: number;
  layout: Layout;
  /** Cameras publish three layers (else one). */
  simulcast: boolean;
  /** Joins per second, over all workers. */
  numPerSecond: number;
  /** How long to measure once everyone joined, in ms. */
  durationMs: number;
  transport: "ws" | "wt";
  /** Load-generator processes. */
  workers: number;
  /** How many audio publishers speak at once (the rest send near-silence). */
  speakers: number;
  /** Signs tokens for servers that need them (or the JWT_SECRET variable). */
  jwtSecret?: string;
  /** Print the final figures as one JSON object on stdout (for scripts). */
  json: boolean;
  quiet: boolean;
}

/** The `--help` text. */
export const LOAD_HELP = `deno task load [flags]

Synthetic participants speaking the wire protocol join one meeting, publish and receive as a
page would (VIEWPORT and LAYER_PREFERENCE from the layout, LAYER_HINT honoured), spread over
worker processes. Prints joins/s, time to first media, delivered packets/s by class, send to
receive latency, loss by class and server CPU and memory, live and as a final table.

  --url <urls>               server(s), comma-separated            [default: http://127.0.0.1:8080]
  --room <id>                the meeting                             [default: load-<random>]
  --video-publishers <n>     participants publishing a camera                       [default: 1]
  --audio-publishers <n>     participants publishing a microphone (the first ones)  [default: 1]
  --subscribers <n>          participants publishing nothing                        [default: 9]
  --layout <3x3|4x4|5x5|speaker>  what every receiver shows                    [default: speaker]
  --simulcast                cameras publish three layers (320x180, 640x360, 1280x720)
  --num-per-second <n>       joins per second                                      [default: 20]
  --duration <s>             seconds to measure after the last join                [default: 10]
  --transport <ws|wt>        WebSocket or WebTransport                             [default: ws]
  --workers <n>              load-generator processes                               [default: 2]
  --speakers <n>             audio publishers speaking at once                      [default: 1]
  --jwt-secret <secret>      sign participants' tokens (else JWT_SECRET; open servers need none)
  --json                     print the final figures as JSON on stdout
  --quiet                    no live lines
`;

/** The outcome of {@linkcode parseLoadOptions}. */
export type ParsedLoad = { ok: true; options: LoadOptions } | { ok: false; error: string };

function count(name: string, raw: string, min: number, max: number): number | string {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    return `--${name} must be a whole number from ${min} to ${max}, got "${raw}"`;
  }
  return n;
}

/** Parses the command line (without the task name). */
export function parseLoadOptions(args: string[], env: Record<string, string> = {}): ParsedLoad {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string", default: "http://127.0.0.1:8080" },
        room: { type: "string" },
        "video-publishers": { type: "string", default: "1" },
        "audio-publishers": { type: "string", default: "1" },
        subscribers: { type: "string", default: "9" },
        layout: { type: "string", default: "speaker" },
        simulcast: { type: "boolean", default: false },
        "num-per-second": { type: "string", default: "20" },
        duration: { type: "string", default: "10" },
        transport: { type: "string", default: "ws" },
        workers: { type: "string", default: "2" },
        speakers: { type: "string", default: "1" },
        "jwt-secret": { type: "string" },
        json: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const v = parsed.values;
  const urls = v.url.split(",").map((u) => u.trim()).filter((u) => u !== "");
  if (urls.length === 0) return { ok: false, error: "--url needs at least one server" };
  for (const url of urls) {
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(url);
    } catch {
      return { ok: false, error: `--url "${url}" is not a URL` };
    }
    if (!["http:", "https:", "ws:", "wss:"].includes(parsedUrl.protocol)) {
      return { ok: false, error: `--url "${url}" must be http(s):// or ws(s)://` };
    }
  }
  const room = v.room ?? `load-${crypto.randomUUID().slice(0, 8)}`;
  const roomCheck = validateId("meeting id", room);
  if (!roomCheck.ok) return { ok: false, error: `--room: ${roomCheck.reason}` };
  const numbers: [string, string, number, number][] = [
    ["video-publishers", v["video-publishers"], 0, 10_000],
    ["audio-publishers", v["audio-publishers"], 0, 10_000],
    ["subscribers", v.subscribers, 0, 100_000],
    ["num-per-second", v["num-per-second"], 1, 10_000],
    ["duration", v.duration, 1, 3600],
    ["workers", v.workers, 1, 64],
    ["speakers", v.speakers, 0, 100],
  ];
  const n: number[] = [];
  for (const [name, raw, min, max] of numbers) {
    const r = count(name, raw, min, max);
    if (typeof r === "string") return { ok: false, error: r };
    n.push(r);
  }
  const [video, audio, subscribers, numPerSecond, duration, workers, speakers] = n;
  const participants = Math.max(video, audio) + subscribers;
  if (participants < 2) {
    return { ok: false, error: "At least two participants are needed: someone has to receive" };
  }
  if (!["3x3", "4x4", "5x5", "speaker"].includes(v.layout)) {
    return { ok: false, error: `--layout must be 3x3, 4x4, 5x5 or speaker, got "${v.layout}"` };
  }
  if (v.transport !== "ws" && v.transport !== "wt") {
    return { ok: false, error: `--transport must be ws or wt, got "${v.transport}"` };
  }
  const secret = v["jwt-secret"] ?? env.JWT_SECRET;
  return {
    ok: true,
    options: {
      urls,
      room,
      videoPublishers: video,
      audioPublishers: audio,
      subscribers,
      participants,
      layout: v.layout as Layout,
      simulcast: v.simulcast,
      numPerSecond,
      durationMs: duration * 1000,
      transport: v.transport,
      workers: Math.min(workers, participants),
      speakers: Math.min(speakers, audio),
      jwtSecret: secret === "" ? undefined : secret,
      json: v.json,
      quiet: v.quiet,
    },
  };
}
