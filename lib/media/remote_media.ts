/**
 * Everyone else's media: per sender and stream, a jitter buffer → `VideoDecoder` → the tile's
 * canvas, and `AudioDecoder` → {@linkcode AudioPlayout}. Asks the sender (only that one) for a
 * key frame when a gap cannot be repaired. A stream whose tile is not visible is not decoded;
 * when it becomes visible again it asks for a key frame.
 *
 * Browser only.
 *
 * @module
 */
import { type MediaPacket, MediaType } from "../protocol/packets.ts";
import type { Peer } from "./call.ts";
import { OPUS, webCodecFor } from "./codecs.ts";
import { JitterBuffer } from "./jitter_buffer.ts";
import { RateMeter } from "./rate_meter.ts";
import type { AudioPlayout } from "./audio_playout.ts";

/** Receive figures of one sender, for the diagnostics panel. */
export interface ReceiveStats {
  sessionId: string;
  name: string;
  video: StreamStats;
  screen: StreamStats;
  audio: { frames: number; kbps: number; decodeErrors: number };
}

/** Receive figures of one video stream. */
export interface StreamStats {
  fps: number;
  kbps: number;
  framesDecoded: number;
  framesRendered: number;
  lost: number;
  discarded: number;
  decodeErrors: number;
  keyframeRequests: number;
  width: number;
  height: number;
  /** `performance.now()` when the first frame was drawn, or 0. */
  firstRenderedAt: number;
  /** `performance.now()` of the first packet, and of the first key frame handed to the decoder. */
  firstPacketAt: number;
  firstKeyAt: number;
  /** `performance.now()` when the tile's canvas was first attached, or 0. */
  attachedAt: number;
}

interface Frame {
  sequence: number;
  key: boolean;
  media: MediaPacket;
}

const KEYFRAME_REQUEST_INTERVAL_MS = 1000;
/** Most capture-to-render samples kept per stream (for the benchmark). */
const MAX_LATENCY_SAMPLES = 2000;

class VideoStream {
  readonly jitter = new JitterBuffer<Frame>({ maxWaitMs: 80 });
  readonly meter = new RateMeter(2000);
  decoder: VideoDecoder | undefined;
  codec = "";
  canvas: HTMLCanvasElement | undefined;
  /**
   * True once the tile said it is off screen. A stream whose tile has not appeared yet is
   * decoded anyway, so a new participant's first key frame is not thrown away.
   */
  hidden = false;
  ctx: CanvasRenderingContext2D | null = null;
  framesDecoded = 0;
  framesRendered = 0;
  decodeErrors = 0;
  keyframeRequests = 0;
  lastKeyRequest = -Infinity;
  width = 0;
  height = 0;
  firstRenderedAt = 0;
  firstPacketAt = 0;
  firstKeyAt = 0;
  attachedAt = 0;
  /** Capture-to-render times in milliseconds (the sender's capture clock is the wall clock). */
  latencies: number[] = [];

  constructor(readonly peer: Peer, readonly mediaType: number, readonly owner: RemoteMedia) {}

  push(media: MediaPacket, now: number): void {
    this.meter.add(now, media.data.length);
    if (this.firstPacketAt === 0) this.firstPacketAt = now;
    if (this.hidden) {
      // Off screen: skip decoding; a key frame is asked for when it shows again.
      if (!this.jitter.keyframeNeeded) this.jitter.reset();
      return;
    }
    const frame = {
      sequence: Number(media.videoMetadata?.sequence ?? 0n),
      key: media.frameType === "key",
      media,
    };
    this.#decodeAll(this.jitter.push(frame, now));
    this.#maybeAskForKey(now);
  }

  poll(now: number): void {
    if (this.hidden) return;
    this.#decodeAll(this.jitter.poll(now));
    this.#maybeAskForKey(now);
  }

  #maybeAskForKey(now: number): void {
    if (!this.jitter.keyframeNeeded) return;
    if (now - this.lastKeyRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyRequest = now;
    this.keyframeRequests++;
    this.owner.requestKeyframe(this.peer, this.mediaType);
  }

  #decodeAll(frames: Frame[]): void {
    for (const f of frames) this.#decode(f);
  }

  #decode(frame: Frame): void {
    const codec = webCodecFor(frame.media.videoMetadata?.codec ?? 0);
    if (codec === undefined) return;
    if (this.decoder === undefined || this.decoder.state === "closed" || codec !== this.codec) {
      if (!frame.key) {
        this.jitter.reset();
        return;
      }
      this.#newDecoder(codec);
    }
    if (frame.key && this.firstKeyAt === 0) this.firstKeyAt = performance.now();
    try {
      this.decoder!.decode(
        new EncodedVideoChunk({
          type: frame.key ? "key" : "delta",
          // Microseconds of the sender's wall clock at capture, carried to the decoded frame.
          timestamp: Math.round(frame.media.timestamp * 1000),
          data: frame.media.data,
        }),
      );
    } catch {
      this.#failed();
    }
  }

  /** Creates the decoder ahead of the first frame (its start-up is the slow part of a join). */
  warm(codec: string): void {
    if (this.decoder === undefined) this.#newDecoder(codec);
  }

  #newDecoder(codec: string): void {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.codec = codec;
    this.decoder = new VideoDecoder({
      output: (image) => this.#render(image),
      error: () => this.#failed(),
    });
    this.decoder.configure({ codec, optimizeForLatency: true });
  }

  #failed(): void {
    this.decodeErrors++;
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = undefined;
    this.jitter.reset();
  }

  #render(image: VideoFrame): void {
    this.framesDecoded++;
    if (this.canvas === undefined) {
      // The tile is not there yet: keep the newest picture to draw the moment it is.
      this.#waiting?.close();
      this.#waiting = image;
      return;
    }
    this.#draw(image);
  }

  #waiting: VideoFrame | undefined;

  /** Draws the picture decoded before the canvas arrived, if any. */
  drawWaiting(): void {
    const image = this.#waiting;
    this.#waiting = undefined;
    if (image !== undefined && this.canvas !== undefined) this.#draw(image);
    else image?.close();
  }

  #draw(image: VideoFrame): void {
    const canvas = this.canvas;
    if (canvas !== undefined) {
      if (canvas.width !== image.displayWidth || canvas.height !== image.displayHeight) {
        canvas.width = image.displayWidth;
        canvas.height = image.displayHeight;
        this.ctx = null;
      }
      this.ctx ??= canvas.getContext("2d", { alpha: false });
      this.ctx?.drawImage(image, 0, 0);
      this.framesRendered++;
      if (this.firstRenderedAt === 0) this.firstRenderedAt = performance.now();
      this.width = image.displayWidth;
      this.height = image.displayHeight;
      const latency = performance.timeOrigin + performance.now() - image.timestamp / 1000;
      if (this.latencies.length < MAX_LATENCY_SAMPLES) this.latencies.push(latency);
    }
    image.close();
  }

  stats(now: number): StreamStats {
    const { fps, kbps } = this.meter.read(now);
    return {
      fps,
      kbps,
      framesDecoded: this.framesDecoded,
      framesRendered: this.framesRendered,
      lost: this.jitter.stats.lost,
      discarded: this.jitter.stats.discarded,
      decodeErrors: this.decodeErrors,
      keyframeRequests: this.keyframeRequests,
      width: this.width,
      height: this.height,
      firstRenderedAt: this.firstRenderedAt,
      firstPacketAt: this.firstPacketAt,
      firstKeyAt: this.firstKeyAt,
      attachedAt: this.attachedAt,
    };
  }

  close(): void {
    this.#waiting?.close();
    this.#waiting = undefined;
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
  }
}

class AudioStream {
  readonly meter = new RateMeter(2000);
  decoder: AudioDecoder | undefined;
  frames = 0;
  decodeErrors = 0;
  lastSequence = -1;

  constructor(readonly key: string, readonly playout: AudioPlayout) {}

  push(media: MediaPacket, now: number): void {
    this.meter.add(now, media.data.length);
    const seq = Number(media.audioMetadata?.sequence ?? -1n);
    // Late or duplicate; far behind means the sender started its numbering over.
    if (seq >= 0 && seq <= this.lastSequence && this.lastSequence - seq < 50) return;
    this.lastSequence = seq;
    if (this.decoder === undefined || this.decoder.state === "closed") {
      this.decoder = new AudioDecoder({
        output: (data) => this.#play(data),
        error: () => {
          this.decodeErrors++;
          this.decoder = undefined;
        },
      });
      const meta = media.audioMetadata;
      this.decoder.configure({
        codec: OPUS.codec,
        sampleRate: meta?.audioSampleRate || OPUS.sampleRate,
        numberOfChannels: meta?.audioNumberOfChannels || OPUS.numberOfChannels,
      });
    }
    try {
      this.decoder.decode(
        new EncodedAudioChunk({
          type: "key",
          timestamp: Math.round(media.timestamp * 1000),
          data: media.data,
        }),
      );
    } catch {
      this.decodeErrors++;
    }
  }

  #play(data: AudioData): void {
    this.frames++;
    const samples = new Float32Array(data.numberOfFrames);
    try {
      data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
      this.playout.push(this.key, resample(samples, data.sampleRate, OPUS.sampleRate));
    } catch {
      this.decodeErrors++;
    }
    data.close();
  }

  close(): void {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.playout.remove(this.key);
  }
}

/** Everyone's incoming media. */
export class RemoteMedia {
  readonly #video = new Map<string, VideoStream>();
  readonly #audio = new Map<string, AudioStream>();
  readonly #canvases = new Map<string, HTMLCanvasElement | undefined>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly playout: AudioPlayout,
    readonly requestKeyframe: (peer: Peer, mediaType: number) => void,
  ) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      for (const s of this.#video.values()) s.poll(now);
    }, 20);
  }

  /** Routes a media packet from `peer`. */
  onMedia(peer: Peer, media: MediaPacket): void {
    const now = performance.now();
    switch (media.mediaType) {
      case MediaType.VIDEO:
      case MediaType.SCREEN:
        return this.#videoStream(peer, media.mediaType).push(media, now);
      case MediaType.AUDIO: {
        let stream = this.#audio.get(peer.sessionId);
        if (stream === undefined) {
          stream = new AudioStream(peer.sessionId, this.playout);
          this.#audio.set(peer.sessionId, stream);
        }
        return stream.push(media, now);
      }
    }
  }

  /** A new participant: get their camera's decoder going before their first frame arrives. */
  expect(peer: Peer, codec: string): void {
    this.#videoStream(peer, MediaType.VIDEO).warm(codec);
  }

  #videoStream(peer: Peer, mediaType: number): VideoStream {
    const key = `${peer.sessionId}:${mediaType}`;
    let stream = this.#video.get(key);
    if (stream === undefined) {
      stream = new VideoStream(peer, mediaType, this);
      stream.canvas = this.#canvases.get(key);
      stream.hidden = this.#canvases.has(key) && stream.canvas === undefined;
      this.#video.set(key, stream);
    }
    return stream;
  }

  /**
   * Shows a sender's stream (VIDEO or SCREEN) on `canvas`, or stops decoding it (`undefined`:
   * the tile is off screen or gone).
   */
  attach(sessionId: string, mediaType: number, canvas: HTMLCanvasElement | undefined): void {
    const key = `${sessionId}:${mediaType}`;
    this.#canvases.set(key, canvas);
    const stream = this.#video.get(key);
    if (stream === undefined || stream.canvas === canvas) return;
    const wasHidden = stream.hidden;
    if (canvas !== undefined && stream.attachedAt === 0) stream.attachedAt = performance.now();
    stream.canvas = canvas;
    stream.hidden = canvas === undefined;
    stream.ctx = null;
    if (canvas !== undefined && wasHidden) stream.jitter.reset(); // wait for, and ask for, a key
    stream.drawWaiting();
  }

  /** Forgets a sender who left. */
  remove(sessionId: string): void {
    for (const [key, stream] of this.#video) {
      if (key.startsWith(`${sessionId}:`)) {
        stream.close();
        this.#video.delete(key);
      }
    }
    this.#audio.get(sessionId)?.close();
    this.#audio.delete(sessionId);
  }

  /** Figures per sender. */
  stats(peers: Peer[]): ReceiveStats[] {
    const now = performance.now();
    const empty: StreamStats = {
      fps: 0,
      kbps: 0,
      framesDecoded: 0,
      framesRendered: 0,
      lost: 0,
      discarded: 0,
      decodeErrors: 0,
      keyframeRequests: 0,
      width: 0,
      height: 0,
      firstRenderedAt: 0,
      firstPacketAt: 0,
      firstKeyAt: 0,
      attachedAt: 0,
    };
    return peers.map((p) => {
      const audio = this.#audio.get(p.sessionId);
      return {
        sessionId: p.sessionId,
        name: p.displayName,
        video: this.#video.get(`${p.sessionId}:${MediaType.VIDEO}`)?.stats(now) ?? empty,
        screen: this.#video.get(`${p.sessionId}:${MediaType.SCREEN}`)?.stats(now) ?? empty,
        audio: {
          frames: audio?.frames ?? 0,
          kbps: audio?.meter.read(now).kbps ?? 0,
          decodeErrors: audio?.decodeErrors ?? 0,
        },
      };
    });
  }

  /** Capture-to-render samples of every camera stream, in milliseconds (then cleared). */
  takeLatencies(): number[] {
    const out: number[] = [];
    for (const s of this.#video.values()) {
      out.push(...s.latencies);
      s.latencies = [];
    }
    return out;
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#video.values()) s.close();
    for (const s of this.#audio.values()) s.close();
    this.#video.clear();
    this.#audio.clear();
  }
}

/** Linear resampling to the playout rate (only for senders that do not send 48 kHz). */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to || from <= 0) return samples;
  const out = new Float32Array(Math.round((samples.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, samples.length - 1);
    const t = x - i0;
    out[i] = samples[i0] * (1 - t) + samples[i1] * t;
  }
  return out;
}
