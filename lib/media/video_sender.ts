/**
 * Camera or screen → `VideoEncoder` (VP9, VP8 where VP9 is missing) in realtime mode → media
 * packets. Key frames come every few seconds and when a receiver asks; the resolution and
 * bitrate step down the quality ladder when the relay reports congestion. Frames are skipped,
 * never queued, when the encoder or the connection falls behind.
 *
 * Browser only (WebCodecs, MediaStreamTrackProcessor or a canvas fallback).
 *
 * @module
 */
import { MediaType } from "../protocol/packets.ts";
import { VP8_CODEC, VP9_CODEC, wireCodecFor } from "./codecs.ts";
import { CAMERA_LADDER, QualityLadder, type Rung, scaledSize, SCREEN_LADDER } from "./ladder.ts";
import type { MediaPacket } from "../protocol/packets.ts";

/** Where encoded frames go: false when they could not be sent. */
export type SendMedia = (media: Omit<MediaPacket, "userId">) => boolean;

/** How to run a {@linkcode VideoSender}. */
export interface VideoSenderOptions {
  track: MediaStreamTrack;
  /** VIDEO (camera) or SCREEN. */
  mediaType: number;
  send: SendMedia;
  /** The connection's backlog in bytes; frames are skipped while it is above `maxBacklog`. */
  backlog: () => number;
  /** Default 512 KiB. */
  maxBacklog?: number;
  /** The stream's sequence counter, shared by successive senders of one stream (device switch). */
  sequence?: { next: number };
  /** Period of unrequested key frames, in milliseconds. */
  keyIntervalMs?: number;
  /** Preferred codec: "vp9" (default) or "vp8". */
  codec?: "vp9" | "vp8";
}

interface TrackProcessorCtor {
  new (init: { track: MediaStreamTrack }): { readable: ReadableStream<VideoFrame> };
}

/** Sends one video track. */
export class VideoSender {
  readonly options: VideoSenderOptions;
  readonly #ladder: QualityLadder;
  #encoder: VideoEncoder | undefined;
  #codec = VP9_CODEC;
  #configured = "";
  #sequence: { next: number };
  #lastKeyMs = -Infinity;
  #keyWanted = true;
  #stopped = false;
  #captureTimes = new Map<number, number>();
  #reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  #fallbackTimer: ReturnType<typeof setInterval> | undefined;
  /** Figures for the diagnostics panel. */
  readonly stats = {
    framesEncoded: 0,
    framesSkipped: 0,
    keyFrames: 0,
    keyFramesRequested: 0,
    keyFramesAsked: 0,
    configures: 0,
    bytes: 0,
    encodeErrors: 0,
  };

  constructor(options: VideoSenderOptions) {
    this.options = options;
    this.#sequence = options.sequence ?? { next: 0 };
    const settings = options.track.getSettings();
    this.#ladder = new QualityLadder({
      rungs: options.mediaType === MediaType.SCREEN ? SCREEN_LADDER : CAMERA_LADDER,
      captureHeight: settings.height ?? 720,
    });
  }

  /** The rung in use. */
  get rung(): Rung {
    return this.#ladder.current;
  }

  /** The WebCodecs codec in use. */
  get codec(): string {
    return this.#codec;
  }

  /** Picks the codec and starts pulling frames. */
  async start(): Promise<void> {
    this.#codec = await pickCodec(this.options.codec ?? "vp9");
    this.#encoder = this.#newEncoder();
    const Processor = (globalThis as { MediaStreamTrackProcessor?: TrackProcessorCtor })
      .MediaStreamTrackProcessor;
    if (Processor !== undefined) {
      this.#reader = new Processor({ track: this.options.track }).readable.getReader();
      this.#pump(this.#reader).catch(() => {});
    } else {
      this.#startCanvasFallback();
    }
  }

  #newEncoder(): VideoEncoder {
    return new VideoEncoder({
      output: (chunk, metadata) => this.#output(chunk, metadata),
      // A failed encoder is closed for good: count it and make a fresh one.
      error: () => {
        this.stats.encodeErrors++;
        this.#configured = "";
        this.#keyWanted = true;
        this.#encoder = this.#stopped ? undefined : this.#newEncoder();
      },
    });
  }

  async #pump(reader: ReadableStreamDefaultReader<VideoFrame>): Promise<void> {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.#stopped) {
        value?.close();
        return;
      }
      this.#encode(value);
    }
  }

  // Browsers without MediaStreamTrackProcessor (Firefox): draw the track into a canvas.
  #startCanvasFallback(): void {
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([this.options.track]);
    video.play().catch(() => {});
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d")!;
    const fps = this.options.track.getSettings().frameRate ?? 30;
    this.#fallbackTimer = setInterval(() => {
      if (video.videoWidth === 0) return;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      this.#encode(new VideoFrame(canvas, { timestamp: Math.round(performance.now() * 1000) }));
    }, 1000 / fps);
  }

  #encode(frame: VideoFrame): void {
    const encoder = this.#encoder;
    const now = performance.now();
    if (this.#ladder.tick(now)) this.#keyWanted = true;
    const busy = encoder === undefined || encoder.state === "closed" ||
      encoder.encodeQueueSize > 2 ||
      this.options.backlog() > (this.options.maxBacklog ?? 512 * 1024);
    if (busy) {
      this.stats.framesSkipped++;
      frame.close();
      return;
    }
    const rung = this.#ladder.current;
    const size = scaledSize(frame.displayWidth, frame.displayHeight, rung.height);
    const config = `${this.#codec} ${size.width}x${size.height} ${rung.bitrate}`;
    if (config !== this.#configured) {
      try {
        encoder.configure({
          codec: this.#codec,
          width: Math.max(2, size.width),
          height: Math.max(2, size.height),
          bitrate: rung.bitrate,
          framerate: rung.framerate,
          latencyMode: "realtime",
          // Constant, as WebRTC does: libvpx's VBR mode adds key frames on every scene cut
          // (measured: 7 key frames in 60 VP9 frames of the test pattern), which costs bitrate.
          bitrateMode: "constant",
        });
      } catch {
        this.stats.encodeErrors++;
        frame.close();
        return;
      }
      this.#configured = config;
      this.stats.configures++;
      this.#keyWanted = true;
    }
    const keyEvery = this.options.keyIntervalMs ?? 3000;
    const keyFrame = this.#keyWanted || now - this.#lastKeyMs >= keyEvery;
    if (keyFrame) {
      this.stats.keyFramesAsked++;
      this.#keyWanted = false;
      this.#lastKeyMs = now;
    }
    // Capture time on the wall clock, carried in the packet for capture-to-render latency.
    this.#captureTimes.set(frame.timestamp, performance.timeOrigin + now);
    if (this.#captureTimes.size > 120) {
      const first = this.#captureTimes.keys().next().value!;
      this.#captureTimes.delete(first);
    }
    try {
      encoder.encode(frame, { keyFrame });
    } catch {
      this.stats.encodeErrors++;
    }
    frame.close();
  }

  #output(chunk: EncodedVideoChunk, _metadata?: EncodedVideoChunkMetadata): void {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const captured = this.#captureTimes.get(chunk.timestamp) ?? Date.now();
    this.#captureTimes.delete(chunk.timestamp);
    const key = chunk.type === "key";
    const sent = this.options.send({
      mediaType: this.options.mediaType,
      data,
      frameType: key ? "key" : "delta",
      timestamp: captured,
      duration: (chunk.duration ?? 0) / 1000,
      videoMetadata: {
        sequence: BigInt(this.#sequence.next++),
        codec: wireCodecFor(this.#codec),
      },
    });
    if (!sent) {
      // Not connected: the next frame after reconnecting must be a key frame.
      this.#keyWanted = true;
      return;
    }
    this.stats.framesEncoded++;
    this.stats.bytes += data.length;
    if (key) this.stats.keyFrames++;
  }

  /** A receiver asked for a key frame (at most one every 300 ms is honoured). */
  requestKeyframe(): void {
    this.stats.keyFramesRequested++;
    if (performance.now() - this.#lastKeyMs > 300) this.#keyWanted = true;
  }

  /** A key frame next, whatever the rate limit (a new encryption key was handed out). */
  forceKeyframe(): void {
    this.#keyWanted = true;
  }

  /** The relay reported congested receivers: one step down. */
  congested(): void {
    if (this.#ladder.congested(performance.now())) this.#keyWanted = true;
  }

  /** Stops pulling and encoding; the track itself stays the caller's. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#fallbackTimer);
    this.#reader?.cancel().catch(() => {});
    if (this.#encoder && this.#encoder.state !== "closed") this.#encoder.close();
    this.#encoder = undefined;
  }
}

async function pickCodec(preferred: "vp9" | "vp8"): Promise<string> {
  const order = preferred === "vp9" ? [VP9_CODEC, VP8_CODEC] : [VP8_CODEC, VP9_CODEC];
  for (const codec of order) {
    try {
      const support = await VideoEncoder.isConfigSupported({
        codec,
        width: 640,
        height: 480,
        latencyMode: "realtime",
      });
      if (support.supported) return codec;
    } catch {
      // Try the next one.
    }
  }
  return VP8_CODEC;
}
