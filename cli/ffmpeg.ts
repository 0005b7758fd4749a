/**
 * ffmpeg as the streamer's capture and encoder: the command lines (VP9/VP8 in realtime mode to
 * IVF, Opus to Ogg, both flushed per packet on a pipe), running them, and listing devices.
 *
 * Settings measured with Debian's ffmpeg (docs/PROTOCOL.md, "ffmpeg"): VP9 needs `-deadline realtime -cpu-used 8
 * -row-mt 1` (its default mode runs at 1x real time); `-lag-in-frames 0 -auto-alt-ref 0` keep
 * it from looking ahead or hiding frames; `-flush_packets 1` or the pipe is block-buffered; Ogg
 * pages of 20 ms (`-page_duration 20000`) or they hold a second of audio.
 *
 * @module
 */
import type { StreamOptions } from "./stream_options.ts";
import { simulcastLayers } from "../lib/media/simulcast.ts";

/** No banner, errors only, never read the terminal. */
const QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin"];

/** One video output of the encoder: a simulcast layer. */
export interface VideoLayerOutput {
  layer: number;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

/**
 * The video layers the streamer sends: with `--simulcast`, a low layer that fits 320x180 at
 * (at most) 7 fps and the full picture at the asked size, rate and bitrate (layer 1) — the first
 * and last rungs of the browser's ladder; otherwise the one picture. A picture no larger than
 * the low layer sends one layer either way.
 */
export function videoLayers(o: StreamOptions): VideoLayerOutput[] {
  const top = { width: o.width, height: o.height, fps: o.fps, bitrateKbps: o.bitrateKbps };
  if (!o.simulcast) return [{ layer: 0, ...top }];
  const ladder = simulcastLayers(o.width, o.height, 2);
  if (ladder.length < 2) return [{ layer: 0, ...top }];
  const low = ladder[0];
  return [
    {
      layer: 0,
      width: low.width,
      height: low.height,
      fps: Math.min(o.fps, low.framerate),
      bitrateKbps: Math.min(o.bitrateKbps, Math.round(low.bitrate / 1000)),
    },
    { layer: 1, ...top },
  ];
}

/**
 * The video encoder's command line (without the program). One layer goes to stdout; with
 * simulcast, layer 0 goes to `lowLayerPath` (a FIFO the caller reads) and the top layer to
 * stdout, both from one decode of the source (`split`).
 */
export function videoArgs(o: StreamOptions, lowLayerPath?: string): string[] {
  const size = `${o.width}x${o.height}`;
  const input: string[] = [];
  switch (o.source.kind) {
    case "camera":
      input.push(
        "-f",
        "v4l2",
        "-input_format",
        o.frameFormat === "NV12" ? "nv12" : "yuyv422",
        "-video_size",
        size,
        "-framerate",
        String(o.fps),
        "-i",
        o.source.device,
      ); // deno-fmt-ignore
      break;
    case "test-pattern":
      input.push("-re", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=${o.fps}`);
      break;
    case "file":
      input.push("-re", "-stream_loop", "-1", "-i", o.source.path);
      break;
  }
  const layers = videoLayers(o);
  if (layers.length === 1 || lowLayerPath === undefined) {
    return [...QUIET, ...input, ...vpxEncodeArgs(o), "pipe:1"];
  }
  const [low, top] = layers;
  const graph = `[0:v:0]split=2[a][b];` +
    `[a]scale=${low.width}:${low.height},fps=${low.fps}[low];` +
    `[b]scale=${top.width}:${top.height},fps=${top.fps}[top]`;
  return [
    ...QUIET,
    ...input,
    "-filter_complex",
    graph,
    "-map",
    "[low]",
    ...vpxCodecArgs(o, low.fps, low.bitrateKbps),
    "-y",
    lowLayerPath,
    "-map",
    "[top]",
    ...vpxCodecArgs(o, top.fps, top.bitrateKbps),
    "pipe:1",
  ];
}

/** What the video encoder needs to know (a subset of the streamer's options). */
export type VideoEncoding = Pick<
  StreamOptions,
  "codec" | "width" | "height" | "fps" | "bitrateKbps" | "cpuUsed" | "keyframeIntervalSeconds"
>;

/**
 * The encoding half of the video command line: first video stream, scaled, VP9 or VP8 in
 * realtime mode without look-ahead, a key frame every `keyframeIntervalSeconds`, constant
 * bitrate, IVF flushed per frame. Put an input before it and an output after it.
 */
export function vpxEncodeArgs(o: VideoEncoding): string[] {
  return [
    "-map",
    "0:v:0",
    "-vf",
    `scale=${o.width}:${o.height},fps=${o.fps}`,
    ...vpxCodecArgs(o, o.fps, o.bitrateKbps),
  ];
}

/** The codec and container half of one video output: at `fps`, `kbps`, IVF flushed per frame. */
function vpxCodecArgs(
  o: Pick<VideoEncoding, "codec" | "cpuUsed" | "keyframeIntervalSeconds">,
  fps: number,
  kbps: number,
): string[] {
  const gop = String(Math.max(1, Math.round(fps * o.keyframeIntervalSeconds)));
  const codec = o.codec === "vp9"
    ? ["-c:v", "libvpx-vp9", "-row-mt", "1", "-cpu-used", String(o.cpuUsed)]
    : ["-c:v", "libvpx", "-cpu-used", String(Math.min(16, o.cpuUsed * 2))];
  return [
    "-an",
    "-pix_fmt",
    "yuv420p",
    ...codec,
    "-deadline",
    "realtime",
    "-lag-in-frames",
    "0",
    "-auto-alt-ref",
    "0",
    "-error-resilient",
    "1",
    "-g",
    gop,
    "-keyint_min",
    gop,
    "-b:v",
    `${kbps}k`,
    "-maxrate",
    `${kbps}k`,
    "-bufsize",
    `${Math.max(1, kbps >> 1)}k`,
    "-f",
    "ivf",
    "-flush_packets",
    "1",
  ]; // deno-fmt-ignore
}

/**
 * The encoding half of the audio command line: Opus for speech at low delay, 20 ms frames,
 * mono 48 kHz, in Ogg pages of 20 ms flushed at once (default pages hold a second).
 */
export const OPUS_ENCODE_ARGS: readonly string[] = [
  "-vn",
  "-c:a",
  "libopus",
  "-application",
  "lowdelay",
  "-frame_duration",
  "20",
  "-b:a",
  "32k",
  "-ac",
  "1",
  "-ar",
  "48000",
  "-page_duration",
  "20000",
  "-f",
  "ogg",
  "-flush_packets",
  "1",
]; // deno-fmt-ignore

/** Sample rate of the level feed: plenty for a loudness, and cheap to read. */
export const LEVEL_SAMPLE_RATE = 8000;

/**
 * The audio encoder's command line, or undefined when there is nothing to capture. With
 * `levelPath`, ffmpeg also writes the sound as 16-bit mono PCM at {@linkcode LEVEL_SAMPLE_RATE}
 * into that FIFO, from which the streamer measures the level each Opus packet carries.
 */
export function audioArgs(o: StreamOptions, levelPath?: string): string[] | undefined {
  const input: string[] = [];
  if (o.source.kind === "test-pattern") {
    input.push("-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000");
  } else if (o.source.kind === "file") {
    input.push("-re", "-stream_loop", "-1", "-i", o.source.path, "-map", "0:a:0?");
  } else if (o.audioDevice !== undefined) {
    if (o.audioDevice.startsWith("pulse:")) {
      input.push("-f", "pulse", "-i", o.audioDevice.slice(6) || "default");
    } else {
      input.push("-f", "alsa", "-i", o.audioDevice);
    }
  } else {
    return undefined;
  }
  // A file may have no sound track (its audio ffmpeg then ends at once): no level feed for it.
  if (levelPath === undefined || o.source.kind === "file") {
    return [...QUIET, ...input, ...OPUS_ENCODE_ARGS, "pipe:1"];
  }
  // The level output comes first; each `-map` applies to the output that follows it.
  return [
    ...QUIET,
    ...input,
    ...["-map", "0:a:0", "-vn", "-ac", "1", "-ar", String(LEVEL_SAMPLE_RATE)],
    ...["-f", "s16le", "-flush_packets", "1", "-y", levelPath],
    ...["-map", "0:a:0", ...OPUS_ENCODE_ARGS, "pipe:1"],
  ];
}

/** Whether the streamer measures its audio level (not for files: see {@linkcode audioArgs}). */
export function measuresLevel(o: StreamOptions): boolean {
  return o.source.kind !== "file" && audioArgs(o) !== undefined;
}

/** ffmpeg could not be started at all. */
export class FfmpegMissingError extends Error {
  constructor(readonly path: string) {
    super(
      `ffmpeg was not found ("${path}"). Install it — on Debian or Raspberry Pi OS: ` +
        `sudo apt-get install ffmpeg — or point --ffmpeg at it.`,
    );
    this.name = "FfmpegMissingError";
  }
}

/** A running ffmpeg: its output as chunks, its end, and the last lines it wrote to stderr. */
export interface FfmpegRun {
  /** Resolves with the exit code when ffmpeg ends. */
  readonly done: Promise<number>;
  /** The last lines of stderr (errors). */
  stderrTail(): string;
  kill(): void;
}

/**
 * Starts ffmpeg and hands each stdout chunk to `onData`, and each chunk ffmpeg writes into one of
 * `fifos` (named pipes it was told to write to) to that FIFO's `onData`. Throws
 * {@linkcode FfmpegMissingError}.
 */
export function runFfmpeg(
  path: string,
  args: string[],
  onData: (chunk: Uint8Array) => void,
  fifos: { path: string; onData: (chunk: Uint8Array) => void }[] = [],
): FfmpegRun {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new FfmpegMissingError(path);
    throw error;
  }
  const tail: string[] = [];
  const stderr = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      tail.push(...decoder.decode(chunk).split("\n").filter((l) => l.trim() !== ""));
      if (tail.length > 20) tail.splice(0, tail.length - 20);
    }
  })();
  const stdout = (async () => {
    for await (const chunk of child.stdout) onData(chunk);
  })();
  // Opening a FIFO waits for its writer; ffmpeg opens its outputs once its input runs.
  const opened = fifos.map(() => false);
  const fifoReads = fifos.map(async (fifo, i) => {
    const file = await Deno.open(fifo.path, { read: true });
    opened[i] = true;
    // The stream closes the file at its end.
    for await (const chunk of file.readable) fifo.onData(chunk);
  });
  const done = (async () => {
    const status = await child.status;
    await Promise.allSettled([stdout, stderr]);
    // A FIFO ffmpeg never opened (it failed first) keeps our reader waiting: be its writer.
    for (const [i, fifo] of fifos.entries()) {
      if (opened[i]) continue;
      const writer = await Deno.open(fifo.path, { write: true }).catch(() => undefined);
      writer?.close();
    }
    await Promise.allSettled(fifoReads);
    return status.code;
  })();
  return {
    done,
    stderrTail: () => tail.join("\n"),
    kill() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
    },
  };
}

/** Cameras the kernel knows, as `/dev/videoN` with their names. */
export async function listCameras(): Promise<{ path: string; name: string }[]> {
  const out: { path: string; name: string }[] = [];
  try {
    for await (const entry of Deno.readDir("/sys/class/video4linux")) {
      const name = await Deno.readTextFile(`/sys/class/video4linux/${entry.name}/name`)
        .then((t) => t.trim(), () => "");
      out.push({ path: `/dev/${entry.name}`, name });
    }
  } catch {
    // No video4linux at all: no cameras.
  }
  return out.sort((a, b) => a.path.localeCompare(b.path, undefined, { numeric: true }));
}

/** ALSA capture devices from /proc/asound (and PulseAudio sources when `pactl` answers). */
export async function listAudioDevices(): Promise<string[]> {
  const out: string[] = [];
  try {
    const pcm = await Deno.readTextFile("/proc/asound/pcm");
    for (const line of pcm.split("\n")) {
      // "00-00: ALC257 Analog : ALC257 Analog : playback 1 : capture 1"
      const m = line.match(/^(\d+)-(\d+): ([^:]*):.*capture/);
      if (m) out.push(`hw:${Number(m[1])},${Number(m[2])}  (${m[3].trim()})`);
    }
  } catch {
    // No ALSA.
  }
  try {
    const pactl = await new Deno.Command("pactl", {
      args: ["list", "short", "sources"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (pactl.success) {
      for (const line of new TextDecoder().decode(pactl.stdout).split("\n")) {
        const name = line.split("\t")[1];
        if (name) out.push(`pulse:${name}`);
      }
    }
  } catch {
    // No PulseAudio.
  }
  return out;
}

/** What ffmpeg says about one camera's formats (it writes them to stderr). */
export async function listFormats(path: string, camera: string): Promise<string> {
  const out = await new Deno.Command(path, {
    args: ["-hide_banner", "-f", "v4l2", "-list_formats", "all", "-i", camera],
    stdout: "null",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l.includes("[video4linux2") || l.includes(camera)).join("\n");
}
