/**
 * The headless streamer: puts a camera, ffmpeg's test pattern or a video file into a meeting,
 * the way a browser would (same packets, heartbeats, reconnects). For a Raspberry Pi or a
 * server with no screen, and as our own load generator (`--count N`).
 *
 * ```sh
 * deno run -A cli/stream.ts stream --url http://localhost:8080 --user-id pi-cam \
 *   --meeting-id standup --debug-send-test-pattern --resolution 640x480 --fps 30
 * deno run -A cli/stream.ts info --list-cameras
 * ```
 *
 * `--help` lists every flag with its default and the exit statuses.
 *
 * @module
 */
import { JoinError, type RoomState } from "../lib/client/mod.ts";
import { CloseCode } from "../lib/protocol/close_codes.ts";
import { Encoders, FfmpegFailedError } from "./encoders.ts";
import { FfmpegMissingError, listAudioDevices, listCameras, listFormats } from "./ffmpeg.ts";
import { parseCommandLine, type StreamOptions, USAGE_EXIT } from "./stream_options.ts";
import { Streamer } from "./streamer.ts";

/** Exit statuses (also in `--help`). */
export const EXIT = {
  ok: 0,
  usage: USAGE_EXIT,
  ffmpeg: 3,
  notFound: 4,
  refused: 5,
  ended: 6,
  unreachable: 7,
} as const;

class Exit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const err = (line: string) => console.error(line);

async function main(args: string[]): Promise<number> {
  const parsed = parseCommandLine(args);
  if (!parsed.ok) {
    err(`error: ${parsed.error}\n(run with --help for the flags)`);
    return EXIT.usage;
  }
  if (parsed.command === "help") {
    console.log(parsed.text);
    return EXIT.ok;
  }
  if (parsed.command === "info") {
    switch (parsed.request.kind) {
      case "cameras": {
        const cameras = await listCameras();
        console.log(
          cameras.length
            ? cameras.map((c, i) => `${i}: ${c.path}  ${c.name}`).join("\n")
            : "No cameras found (no /sys/class/video4linux devices).",
        );
        return EXIT.ok;
      }
      case "audio-devices": {
        const devices = await listAudioDevices();
        console.log(devices.length ? devices.join("\n") : "No audio capture devices found.");
        return EXIT.ok;
      }
      case "formats":
        console.log(await listFormats("ffmpeg", parsed.request.camera));
        return EXIT.ok;
    }
  }
  try {
    return await stream(parsed.options);
  } catch (error) {
    if (error instanceof Exit) {
      err(`error: ${error.message}`);
      return error.code;
    }
    throw error;
  }
}

async function checkSource(o: StreamOptions): Promise<void> {
  if (o.source.kind === "camera") {
    const exists = await Deno.stat(o.source.device).then(() => true, () => false);
    if (!exists) {
      const cameras = await listCameras();
      throw new Exit(
        EXIT.notFound,
        `No camera at ${o.source.device}. ` +
          (cameras.length
            ? `Cameras here:\n${cameras.map((c, i) => `  ${i}: ${c.path}  ${c.name}`).join("\n")}`
            : "This machine has no cameras (try --debug-send-test-pattern)."),
      );
    }
  } else if (o.source.kind === "file") {
    const info = await Deno.stat(o.source.path).catch(() => undefined);
    if (!info?.isFile) throw new Exit(EXIT.notFound, `No such file: ${o.source.path}`);
  }
}

async function checkFfmpeg(path: string): Promise<void> {
  try {
    const out = await new Deno.Command(path, { args: ["-version"], stdout: "null", stderr: "null" })
      .output();
    if (!out.success) throw new Exit(EXIT.ffmpeg, `${path} -version failed`);
  } catch (error) {
    if (error instanceof Exit) throw error;
    throw new Exit(EXIT.ffmpeg, new FfmpegMissingError(path).message);
  }
}

function exitFor(state: Extract<RoomState, { kind: "ended" }>): number {
  if (state.code === CloseCode.MEETING_ENDED || state.code === CloseCode.FORBIDDEN) {
    return EXIT.ended;
  }
  if (state.code === CloseCode.NORMAL) return EXIT.ok;
  return EXIT.unreachable;
}

async function stream(o: StreamOptions): Promise<number> {
  let token = o.token;
  if (o.tokenFile !== undefined) {
    try {
      token = (await Deno.readTextFile(o.tokenFile)).trim();
    } catch (error) {
      throw new Exit(EXIT.usage, `Cannot read --token-file ${o.tokenFile}: ${error}`);
    }
  }
  await checkSource(o);
  await checkFfmpeg(o.ffmpeg);
  if (o.insecureSkipVerify) {
    err(
      `warning: --insecure-skip-verify: trusting whatever certificate hash ${o.url.origin}` +
        `/api/v1/webtransport advertises; anyone between you and it could pose as the server.`,
    );
  }
  const encoders = new Encoders(o);
  const states = new Map<Streamer, RoomState>();
  const streamers: Streamer[] = [];
  for (let i = 1; i <= o.count; i++) {
    const userId = o.count === 1 ? o.userId : `${o.userId}-${i}`;
    streamers.push(
      new Streamer(o, encoders, userId, token, (s, state) => {
        states.set(s, state);
        if (!o.quiet && state.kind === "reconnecting") {
          clearStatus();
          err(
            `${s.room.options.userId}: connection lost (${state.reason}); retrying in ${
              (state.inMs / 1000).toFixed(1)
            } s`,
          );
        }
      }),
    );
  }
  const status = new StatusLine(o, encoders, streamers, states);
  let signalled = false;
  const leaveAll = async () => {
    signalled = true;
    await Promise.allSettled(streamers.map((s) => s.leave()));
  };
  const onSignal = () => void leaveAll();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await encoders.start();
  } catch (error) {
    if (error instanceof FfmpegMissingError) throw new Exit(EXIT.ffmpeg, error.message);
    throw error;
  }
  status.start();
  try {
    const runs = Promise.all(streamers.map((s) => s.run()));
    await Promise.race([runs, encoders.failed]);
  } catch (error) {
    await leaveAll();
    if (error instanceof FfmpegFailedError) throw new Exit(EXIT.ffmpeg, error.message);
    if (error instanceof JoinError) {
      const code = error.status === 0
        ? EXIT.unreachable
        : error.status === 410 || error.code === "removed"
        ? EXIT.ended
        : EXIT.refused;
      throw new Exit(code, error.message);
    }
    throw error;
  } finally {
    status.stop();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await encoders.stop();
  }
  if (signalled) {
    if (!o.quiet) err("left the meeting");
    return EXIT.ok;
  }
  // Every call ended by itself: say why, with the status that fits.
  const ended = streamers.map((s) => s.room.state).find((s) => s.kind === "ended") as
    | Extract<RoomState, { kind: "ended" }>
    | undefined;
  if (ended === undefined) return EXIT.ok;
  err(ended.code === CloseCode.NORMAL ? "left the meeting" : `error: ${ended.reason}`);
  return exitFor(ended);
}

let statusShown = false;
function clearStatus(): void {
  if (statusShown) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
  statusShown = false;
}

/** The live status line on a terminal; a log line every 10 s otherwise; nothing with --quiet. */
class StatusLine {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = { frames: 0, bytes: 0, at: performance.now() };
  #ticks = 0;

  constructor(
    readonly o: StreamOptions,
    readonly encoders: Encoders,
    readonly streamers: Streamer[],
    readonly states: Map<Streamer, RoomState>,
  ) {}

  start(): void {
    if (this.o.quiet) return;
    const tty = Deno.stderr.isTerminal();
    this.#timer = setInterval(() => {
      this.#ticks++;
      if (!tty && this.#ticks % 10 !== 0) return;
      const line = this.#line();
      if (tty) {
        Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
        statusShown = true;
      } else {
        err(line);
      }
    }, 1000);
  }

  #line(): string {
    const now = performance.now();
    let frames = 0;
    let bytes = 0;
    let drops = 0;
    let reconnects = 0;
    let connected = 0;
    const rtts: number[] = [];
    const transports = new Set<string>();
    for (const s of this.streamers) {
      frames += s.stats.framesSent;
      bytes += s.stats.bytesSent;
      drops += s.stats.framesDropped;
      reconnects += s.room.reconnects;
      if (s.room.connected) connected++;
      if (s.room.rttMs !== undefined) rtts.push(s.room.rttMs);
      if (s.room.transport) transports.add(s.room.transport);
    }
    const seconds = (now - this.#last.at) / 1000;
    const fps = (frames - this.#last.frames) / seconds / this.streamers.length;
    const kbps = ((bytes - this.#last.bytes) * 8) / 1000 / seconds / this.streamers.length;
    this.#last = { frames, bytes, at: now };
    const rtt = rtts.length ? `${Math.round(rtts.reduce((a, b) => a + b) / rtts.length)} ms` : "—";
    const who = this.streamers.length === 1
      ? `${this.o.userId} → ${this.o.meetingId}`
      : `${connected}/${this.streamers.length} streamers → ${this.o.meetingId}`;
    return `${who} via ${[...transports].join("+") || "—"} | ${fps.toFixed(1)} fps | ` +
      `${Math.round(kbps)} kbps | RTT ${rtt} | drops ${drops} | reconnects ${reconnects}`;
  }

  stop(): void {
    clearInterval(this.#timer);
    clearStatus();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

export { main };
