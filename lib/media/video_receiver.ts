/**
 * One sender's video stream (camera or screen) on its way to a tile: a jitter buffer per
 * simulcast layer → `VideoDecoder` → the tile's canvas. Of the layers arriving (the base, and at
 * most the one asked for) the best is decoded; the decoder changes layer at that layer's key
 * frame, asking the sender for one, and falls back to the best still arriving when a layer stops
 * (`LayerChoice`). Asks the sender (only that one) for a key frame when a gap cannot be repaired,
 * at most once a second. A stream whose tile is off screen is not decoded;
 * when it shows again it waits for, and asks for, a key frame. A stream whose tile has not mounted
 * yet is decoded anyway and its newest picture is drawn when the canvas arrives.
 *
 * Browser only.
 *
 * @module
 */
import type { MediaPacket } from "../protocol/packets.ts";
import { webCodecFor } from "./codecs.ts";
import { JitterBuffer } from "./jitter_buffer.ts";
import { RateMeter } from "./rate_meter.ts";
import { LayerChoice } from "./simulcast.ts";

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
  /** The simulcast layer decoded (-1: none yet). */
  layer: number;
}

/** Figures of a stream that has received nothing. */
export const EMPTY_STREAM_STATS: Readonly<StreamStats> = {
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
  layer: -1,
};

interface Frame {
  sequence: number;
  key: boolean;
  layer: number;
  media: MediaPacket;
}

/** A stream off screen this long gives its decoder back, in ms. */
const RELEASE_HIDDEN_DECODER_MS = 5000;

/** Least time between two key-frame requests of one stream, in ms. */
const KEYFRAME_REQUEST_INTERVAL_MS = 1000;

/** Receives one sender's camera or screen. */
export class VideoReceiver {
  /** One jitter buffer per layer (layers are numbered independently). */
  readonly jitters = new Map<number, JitterBuffer<Frame>>();
  readonly layers = new LayerChoice();
  readonly meter = new RateMeter(2000);
  /** Frames drawn (the fps shown: of the layer decoded, not of every layer arriving). */
  readonly #rendered = new RateMeter(2000);
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

  /**
   * `requestKeyframe` asks the stream's sender for a key frame of a layer (the caller knows
   * whom).
   */
  constructor(readonly requestKeyframe: (layer: number) => void) {}

  #jitter(layer: number): JitterBuffer<Frame> {
    let jitter = this.jitters.get(layer);
    if (jitter === undefined) {
      jitter = new JitterBuffer<Frame>({ maxWaitMs: 80 });
      this.jitters.set(layer, jitter);
    }
    return jitter;
  }

  #resetAll(): void {
    for (const jitter of this.jitters.values()) jitter.reset();
    this.layers.reset();
  }

  /** Takes one media packet of the stream, of simulcast layer `layer`. */
  push(media: MediaPacket, now: number, layer = 0): void {
    this.meter.add(now, media.data.length);
    if (this.hidden) {
      // Off screen: skip decoding; a key frame is asked for when it shows again.
      if (this.layers.current !== undefined) this.#resetAll();
      return;
    }
    this.layers.seen(layer, now);
    const frame = {
      sequence: Number(media.videoMetadata?.sequence ?? 0n),
      key: media.frameType === "key",
      layer,
      media,
    };
    this.#decodeAll(this.#jitter(layer).push(frame, now), now);
    this.#maybeAskForKey(now);
  }

  /** Decodes what the jitter buffers released since (call every 20 ms or so). */
  poll(now: number): void {
    if (this.hidden) return;
    for (const jitter of this.jitters.values()) this.#decodeAll(jitter.poll(now), now);
    this.#maybeAskForKey(now);
  }

  #maybeAskForKey(now: number): void {
    // A better layer arrives than the one decoded: its key frame lets us switch.
    const better = this.layers.wantsKey(now);
    if (better !== undefined) {
      this.keyframeRequests++;
      this.requestKeyframe(better);
      return;
    }
    const current = this.layers.current ?? this.layers.target(now);
    if (current === undefined || !this.jitters.get(current)?.keyframeNeeded) return;
    if (now - this.lastKeyRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    this.lastKeyRequest = now;
    this.keyframeRequests++;
    this.requestKeyframe(current);
  }

  #decodeAll(frames: Frame[], now: number): void {
    for (const f of frames) {
      // Frames of the layer decoded go on; a key frame of a better layer switches to it.
      if (this.layers.released(f.layer, f.key, now) || this.layers.accepts(f.layer)) {
        this.#decode(f);
      }
    }
  }

  #decode(frame: Frame): void {
    const codec = webCodecFor(frame.media.videoMetadata?.codec ?? 0);
    if (codec === undefined) return;
    if (this.decoder === undefined || this.decoder.state === "closed" || codec !== this.codec) {
      if (!frame.key) {
        this.jitters.get(frame.layer)?.reset();
        return;
      }
      this.#newDecoder(codec);
    }
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
    this.#resetAll();
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

  /**
   * Shows the stream on `canvas`, or stops decoding it (`undefined`: the tile is off screen or
   * gone). Showing a stream that was hidden waits for, and asks for, a key frame; a picture
   * decoded before the canvas arrived is drawn at once.
   */
  show(canvas: HTMLCanvasElement | undefined): void {
    const hidden = canvas === undefined;
    if (this.canvas === canvas && this.hidden === hidden) return;
    const wasHidden = this.hidden;
    this.canvas = canvas;
    this.hidden = hidden;
    this.ctx = null;
    clearTimeout(this.#releaseTimer);
    if (hidden) {
      // Off screen for a while: give the decoder back (paging through a meeting of hundreds
      // must not keep hundreds of decoders); showing it again makes a fresh one.
      this.#releaseTimer = setTimeout(() => this.#releaseDecoder(), RELEASE_HIDDEN_DECODER_MS);
    }
    if (canvas !== undefined && wasHidden) this.#resetAll();
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
      this.#rendered.add(performance.now(), 0);
      this.width = image.displayWidth;
      this.height = image.displayHeight;
    }
    image.close();
  }

  /** Figures for the diagnostics panel. */
  stats(now: number): StreamStats {
    const { kbps } = this.meter.read(now);
    let lost = 0;
    let discarded = 0;
    for (const jitter of this.jitters.values()) {
      lost += jitter.stats.lost;
      discarded += jitter.stats.discarded;
    }
    return {
      fps: this.#rendered.read(now).fps,
      kbps,
      framesDecoded: this.framesDecoded,
      framesRendered: this.framesRendered,
      lost,
      discarded,
      decodeErrors: this.decodeErrors,
      keyframeRequests: this.keyframeRequests,
      width: this.width,
      height: this.height,
      layer: this.layers.current ?? -1,
    };
  }

  #releaseTimer: ReturnType<typeof setTimeout> | undefined;

  #releaseDecoder(): void {
    if (!this.hidden) return;
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = undefined;
  }

  /** Whether a decoder is open (warm, or decoding). */
  get hasDecoder(): boolean {
    return this.decoder !== undefined && this.decoder.state !== "closed";
  }

  close(): void {
    clearTimeout(this.#releaseTimer);
    this.#waiting?.close();
    this.#waiting = undefined;
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
  }
}
