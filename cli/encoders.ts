/**
 * The streamer's media source: ffmpeg encoding video to IVF and audio to Ogg Opus, parsed into
 * frames and packets and handed to every listener (one per streamer with `--count`). With
 * `--simulcast` one ffmpeg encodes two layers: the top one on its stdout, the low one into a
 * named pipe. If ffmpeg dies while streaming it is started again; if it dies at once, the error
 * is final.
 *
 * @module
 */
import { isVp8KeyFrame, isVp9KeyFrame, IvfReader } from "./ivf.ts";
import { OggReader } from "./ogg.ts";
import {
  audioArgs,
  type FfmpegRun,
  LEVEL_SAMPLE_RATE,
  measuresLevel,
  runFfmpeg,
  videoArgs,
  videoLayers,
} from "./ffmpeg.ts";
import { levelDbov } from "../lib/media/speaking.ts";
import { concatBytes } from "../lib/protocol/bytes.ts";
import type { StreamOptions } from "./stream_options.ts";

/** One encoded video frame. */
export interface VideoFrameOut {
  data: Uint8Array;
  key: boolean;
  /** Frame index of its layer from the encoder's start (the layer's sequence number). */
  index: number;
  /** The simulcast layer (0 without simulcast). */
  layer: number;
  /** Wall clock when it came off the pipe, in ms. */
  atMs: number;
}

/** One Opus packet. */
export interface AudioPacketOut {
  data: Uint8Array;
  index: number;
  atMs: number;
  /** The sound's level in -dBov (0 loudest, 127 silence) when measured. */
  level?: number;
}

/** Samples per level reading: 20 ms, one Opus packet's worth. */
const LEVEL_WINDOW = (LEVEL_SAMPLE_RATE * 20) / 1000;

/** ffmpeg ended with an error right after starting (bad device, bad file, bad option). */
export class FfmpegFailedError extends Error {
  constructor(readonly what: string, readonly code: number, readonly stderr: string) {
    super(`ffmpeg (${what}) stopped with status ${code}${stderr ? `: ${stderr}` : ""}`);
    this.name = "FfmpegFailedError";
  }
}

/** ffmpeg runs shorter than this count as "failed at once". */
const EARLY_EXIT_MS = 2000;

/** The encoders of one process. */
export class Encoders {
  readonly options: StreamOptions;
  readonly video = new Set<(f: VideoFrameOut) => void>();
  readonly audio = new Set<(p: AudioPacketOut) => void>();
  readonly stats = { videoFrames: 0, videoBytes: 0, audioPackets: 0, restarts: 0 };
  #runs: FfmpegRun[] = [];
  #stopped = false;
  #videoIndex: number[] = [];
  #fifoDir: string | undefined;
  /** The last measured level, -dBov. */
  #level: number | undefined;
  #audioIndex = 0;
  /** Rejects when ffmpeg fails for good. */
  readonly failed: Promise<never>;
  #fail!: (error: Error) => void;

  constructor(options: StreamOptions) {
    this.options = options;
    this.failed = new Promise<never>((_, reject) => this.#fail = reject);
    this.failed.catch(() => {});
  }

  /** The simulcast layers sent (1 without simulcast). */
  get layers(): number {
    return videoLayers(this.options).length;
  }

  /** Starts ffmpeg. Throws FfmpegMissingError when it is not installed. */
  async start(): Promise<void> {
    const layers = this.layers;
    const lowLayer = layers > 1 ? await this.#fifo("layer0.ivf") : undefined;
    const levels = measuresLevel(this.options) ? await this.#fifo("level.pcm") : undefined;
    const parser = (layer: number) => {
      const reader = new IvfReader();
      const isKey = this.options.codec === "vp9" ? isVp9KeyFrame : isVp8KeyFrame;
      return (chunk: Uint8Array) => {
        for (const frame of reader.push(chunk)) {
          const index = this.#videoIndex[layer] ?? 0;
          this.#videoIndex[layer] = index + 1;
          const out: VideoFrameOut = {
            data: frame.data,
            key: isKey(frame.data),
            index,
            layer,
            atMs: Date.now(),
          };
          this.stats.videoFrames++;
          this.stats.videoBytes += frame.data.length;
          for (const listener of this.video) listener(out);
        }
      };
    };
    // The top layer on stdout; the low one (simulcast) through the FIFO.
    this.#run(
      "video",
      videoArgs(this.options, lowLayer),
      () => parser(layers - 1),
      lowLayer === undefined ? [] : [{ path: lowLayer, makeParser: () => parser(0) }],
    );
    const audio = audioArgs(this.options, levels);
    const levelFeed = levels === undefined
      ? []
      : [{ path: levels, makeParser: () => this.#levels() }];
    if (audio !== undefined) {
      this.#run("audio", audio, () => {
        const reader = new OggReader();
        let headers = 0;
        return (chunk) => {
          for (const packet of reader.push(chunk)) {
            // OpusHead and OpusTags come first: they describe the stream, they are not audio.
            if (headers < 2) {
              headers++;
              continue;
            }
            const out = {
              data: packet.data,
              index: this.#audioIndex++,
              atMs: Date.now(),
              level: this.#level,
            };
            this.stats.audioPackets++;
            for (const listener of this.audio) listener(out);
          }
        };
      }, levelFeed);
    }
  }

  // A FIFO in this run's own directory, made on first use.
  async #fifo(name: string): Promise<string> {
    this.#fifoDir ??= await Deno.makeTempDir({ prefix: "videocall-stream-" });
    const path = `${this.#fifoDir}/${name}`;
    const made = await new Deno.Command("mkfifo", { args: ["-m", "600", path] }).output();
    if (!made.success) throw new Error(`mkfifo ${path} failed`);
    return path;
  }

  // Reads the level feed (16-bit little-endian mono PCM): the RMS of every 20 ms becomes the
  // level the next Opus packets carry.
  #levels(): (chunk: Uint8Array) => void {
    let carry = new Uint8Array(0);
    let sum = 0;
    let n = 0;
    return (chunk) => {
      const bytes = carry.length === 0 ? chunk : concatBytes([carry, chunk]);
      const whole = bytes.length & ~1;
      const view = new DataView(bytes.buffer, bytes.byteOffset, whole);
      for (let i = 0; i < whole; i += 2) {
        const sample = view.getInt16(i, true) / 32768;
        sum += sample * sample;
        if (++n === LEVEL_WINDOW) {
          this.#level = levelDbov(Math.sqrt(sum / n));
          sum = 0;
          n = 0;
        }
      }
      carry = bytes.slice(whole);
    };
  }

  /** Whether audio is being sent. */
  get hasAudio(): boolean {
    return audioArgs(this.options) !== undefined;
  }

  #run(
    what: string,
    args: string[],
    makeParser: () => (chunk: Uint8Array) => void,
    fifos: { path: string; makeParser: () => (chunk: Uint8Array) => void }[] = [],
  ): void {
    const started = performance.now();
    let parseError: Error | undefined;
    // Each output's parser; broken output makes ffmpeg start again with fresh parsers.
    const guarded = (parse: (chunk: Uint8Array) => void) => (chunk: Uint8Array) => {
      if (parseError) return;
      try {
        parse(chunk);
      } catch (error) {
        parseError = error as Error;
        run.kill();
      }
    };
    const run = runFfmpeg(
      this.options.ffmpeg,
      args,
      guarded(makeParser()),
      fifos.map((f) => ({ path: f.path, onData: guarded(f.makeParser()) })),
    );
    this.#runs.push(run);
    run.done.then((code) => {
      this.#runs = this.#runs.filter((r) => r !== run);
      if (this.#stopped) return;
      // A file without a sound track: its audio ffmpeg ends at once, successfully. No audio.
      if (what === "audio" && code === 0 && this.options.source.kind === "file") return;
      if (performance.now() - started < EARLY_EXIT_MS && parseError === undefined) {
        this.#fail(new FfmpegFailedError(what, code, run.stderrTail()));
        return;
      }
      this.stats.restarts++;
      setTimeout(() => {
        if (!this.#stopped) this.#run(what, args, makeParser, fifos);
      }, 500);
    });
  }

  /** Stops ffmpeg and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const runs = this.#runs;
    for (const r of runs) r.kill();
    await Promise.allSettled(runs.map((r) => r.done));
    if (this.#fifoDir !== undefined) {
      await Deno.remove(this.#fifoDir, { recursive: true }).catch(() => {});
    }
  }
}
