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

/** No banner, errors only, never read the terminal. */
const QUIET = ["-hide_banner", "-loglevel", "error", "-nostdin"];

/** The video encoder's command line (without the program). */
export function videoArgs(o: StreamOptions): string[] {
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
  return [...QUIET, ...input, ...vpxEncodeArgs(o), "pipe:1"];
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
  const gop = String(Math.max(1, Math.round(o.fps * o.keyframeIntervalSeconds)));
  const kbps = o.bitrateKbps;
  const codec = o.codec === "vp9"
    ? ["-c:v", "libvpx-vp9", "-row-mt", "1", "-cpu-used", String(o.cpuUsed)]
    : ["-c:v", "libvpx", "-cpu-used", String(Math.min(16, o.cpuUsed * 2))];
  return [
    "-map",
    "0:v:0",
    "-an",
    "-vf",
    `scale=${o.width}:${o.height},fps=${o.fps}`,
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

/** The audio encoder's command line, or undefined when there is nothing to capture. */
export function audioArgs(o: StreamOptions): string[] | undefined {
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
  return [...QUIET, ...input, ...OPUS_ENCODE_ARGS, "pipe:1"];
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

/** Starts ffmpeg and hands each stdout chunk to `onData`. Throws {@linkcode FfmpegMissingError}. */
export function runFfmpeg(
  path: string,
  args: string[],
  onData: (chunk: Uint8Array) => void,
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
  const done = (async () => {
    const status = await child.status;
    await Promise.allSettled([stdout, stderr]);
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
