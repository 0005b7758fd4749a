/**
 * Camera or screen → `VideoEncoder`s (VP9, VP8 where VP9 is missing) in realtime mode → media
 * packets. A camera publishes simulcast — one encoder per layer of the ladder, each at its own
 * size and frame rate, fed the same captured frames — and stops the layers nobody watches. Key
 * frames come every few seconds per layer and when a receiver asks for one; congestion steps a
 * single-layer sender down the quality ladder and turns a simulcast sender's top layer off for a
 * while. Frames are skipped, never queued, when an encoder or the connection falls behind.
 *
 * Browser only (WebCodecs, MediaStreamTrackProcessor or a canvas fallback).
 *
 * @module
 */
import { MediaType } from "../protocol/packets.ts";
import { VP8_CODEC, VP9_CODEC, wireCodecFor } from "./codecs.ts";
import { CAMERA_LADDER, QualityLadder, type Rung, scaledSize, SCREEN_LADDER } from "./ladder.ts";
import {
  defaultLayerCount,
  type LayerSpec,
  MAX_SIMULCAST_LAYERS,
  simulcastLayers,
} from "./simulcast.ts";
import type { MediaPacket } from "../protocol/packets.ts";

/** Where encoded frames go, labelled with their simulcast layer: false when not sent. */
export type SendMedia = (
  media: Omit<MediaPacket, "userId">,
  options?: { layer?: number; audioLevel?: number },
) => boolean;

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
  /**
   * The stream's sequence counters, one per layer, shared by successive senders of one stream
   * (a device switch continues them).
   */
  sequences?: number[];
  /** Period of unrequested key frames, in milliseconds. */
  keyIntervalMs?: number;
  /** Preferred codec: "vp9" (default) or "vp8". */
  codec?: "vp9" | "vp8";
  /**
   * Simulcast layers of a camera, 1 to 3 (default: what the machine's cores afford,
   * `defaultLayerCount`). A screen always sends one.
   */
  layers?: number;
}

interface TrackProcessorCtor {
  new (init: { track: MediaStreamTrack }): { readable: ReadableStream<VideoFrame> };
}

/** Figures of one layer's encoder, for the diagnostics panel. */
export interface LayerStats {
  layer: number;
  width: number;
  height: number;
  framesEncoded: number;
  keyFrames: number;
  bytes: number;
  /** False while no receiver wants it (LAYER_HINT) or congestion capped it. */
  active: boolean;
}

/** Least time between two honoured key-frame requests of one layer, in ms. */
const KEY_REQUEST_INTERVAL_MS = 300;
/** How long congestion keeps the top layer off before trying it again, in ms. */
const CONGESTION_HOLD_MS = 15_000;
/** Least time between two congestion steps, in ms. */
const CONGESTION_STEP_MS = 2000;

// One encode of the stream: a layer of a simulcast camera, or the only one.
class LayerEncoder {
  encoder: VideoEncoder | undefined;
  configured = "";
  keyWanted = true;
  lastKeyMs = -Infinity;
  nextDueMs = -Infinity;
  active = true;
  readonly captureTimes = new Map<number, number>();
  readonly stats: LayerStats;

  constructor(readonly layer: number) {
    this.stats = {
      layer,
      width: 0,
      height: 0,
      framesEncoded: 0,
      keyFrames: 0,
      bytes: 0,
      active: true,
    };
  }

  close(): void {
    if (this.encoder && this.encoder.state !== "closed") this.encoder.close();
    this.encoder = undefined;
  }
}

/**
 * Sends one video track: a camera as one to three simulcast layers (independent encodes of
 * videocall-rs's ladder, each packet labelled with its layer), a screen as one. Layers that
 * LAYER_HINT says nobody watches are not encoded; the base layer always is.
 */
export class VideoSender {
  readonly options: VideoSenderOptions;
  readonly #ladder: QualityLadder;
  readonly #simulcast: number;
  readonly #layers: LayerEncoder[] = [];
  #codec = VP9_CODEC;
  #sequences: number[];
  #stopped = false;
  #reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  #fallbackTimer: ReturnType<typeof setInterval> | undefined;
  #fallbackVideo: HTMLVideoElement | undefined;
  /** The highest layer a receiver wants (LAYER_HINT); Infinity: all. */
  #hinted = Infinity;
  /** Whether anybody shows this stream (LAYER_HINT); when nobody does, nothing is encoded. */
  #watched = true;
  /** The highest layer congestion allows, and until when. */
  #cap = Infinity;
  #capUntilMs = 0;
  #cappedAtMs = -Infinity;
  #specsFor = "";
  #specs: LayerSpec[] = [];
  /** Figures for the diagnostics panel (all layers together). */
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
    this.#sequences = options.sequences ?? [];
    const settings = options.track.getSettings();
    this.#ladder = new QualityLadder({
      rungs: options.mediaType === MediaType.SCREEN ? SCREEN_LADDER : CAMERA_LADDER,
      captureHeight: settings.height ?? 720,
    });
    const wanted = options.layers ??
      defaultLayerCount(globalThis.navigator?.hardwareConcurrency);
    this.#simulcast = options.mediaType === MediaType.SCREEN
      ? 1
      : Math.max(1, Math.min(MAX_SIMULCAST_LAYERS, Math.floor(wanted)));
  }

  /** The rung in use (one-layer senders; the top layer's size otherwise). */
  get rung(): Rung {
    if (this.#simulcast === 1) return this.#ladder.current;
    const top = this.#specs.filter((s) => this.#layers[s.layer]?.active !== false).at(-1);
    return top
      ? { height: top.height, bitrate: top.bitrate, framerate: top.framerate }
      : this.#ladder.current;
  }

  /** The WebCodecs codec in use. */
  get codec(): string {
    return this.#codec;
  }

  /** Each layer's figures. */
  layerStats(): LayerStats[] {
    return this.#layers.filter((l) => l !== undefined).map((l) => ({ ...l.stats }));
  }

  /** Picks the codec and starts pulling frames. */
  async start(): Promise<void> {
    this.#codec = await pickCodec(this.options.codec ?? "vp9");
    const Processor = (globalThis as { MediaStreamTrackProcessor?: TrackProcessorCtor })
      .MediaStreamTrackProcessor;
    if (Processor !== undefined) {
      this.#reader = new Processor({ track: this.options.track }).readable.getReader();
      this.#pump(this.#reader).catch(() => {});
    } else {
      this.#startCanvasFallback();
    }
  }

  #layer(index: number): LayerEncoder {
    let layer = this.#layers[index];
    if (layer === undefined) {
      layer = new LayerEncoder(index);
      this.#layers[index] = layer;
    }
    if (layer.encoder === undefined || layer.encoder.state === "closed") {
      const current = layer;
      current.configured = "";
      current.keyWanted = true;
      current.encoder = new VideoEncoder({
        output: (chunk) => this.#output(current, chunk),
        // A failed encoder is closed for good: count it; the next frame makes a fresh one.
        error: () => {
          this.stats.encodeErrors++;
          current.encoder = undefined;
        },
      });
    }
    return layer;
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

  // Browsers without MediaStreamTrackProcessor (Firefox): a frame straight from a playing
  // <video> of the track each tick, or, where a browser refuses that, drawn through a canvas
  // (sized once per camera size: setting a canvas's size reallocates it).
  #startCanvasFallback(): void {
    const video = document.createElement("video");
    this.#fallbackVideo = video;
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([this.options.track]);
    video.play().catch(() => {});
    let canvas: HTMLCanvasElement | undefined;
    let ctx: CanvasRenderingContext2D | undefined;
    let direct = true;
    const grab = () => {
      if (video.videoWidth === 0 || this.#stopped) return;
      const timestamp = Math.round(performance.now() * 1000);
      if (direct) {
        let frame: VideoFrame | undefined;
        try {
          frame = new VideoFrame(video, { timestamp });
        } catch {
          direct = false; // this browser makes no frame of a <video>: the canvas from now on
        }
        if (frame !== undefined) return this.#encode(frame);
      }
      canvas ??= document.createElement("canvas");
      ctx ??= canvas.getContext("2d")!;
      if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
      }
      ctx.drawImage(video, 0, 0);
      this.#encode(new VideoFrame(canvas, { timestamp }));
    };
    // On a timer at the camera's rate. (requestVideoFrameCallback, tried in Firefox 153 on a
    // video outside the document, made it worse: into Chromium 182 ms p50 against 86 ms.)
    const fps = this.options.track.getSettings().frameRate ?? 30;
    this.#fallbackTimer = setInterval(grab, 1000 / fps);
  }

  // The encodes of a frame of this size: the simulcast ladder, or the quality ladder's rung.
  #layerSpecs(frame: VideoFrame): LayerSpec[] {
    const width = frame.displayWidth;
    const height = frame.displayHeight;
    if (this.#simulcast === 1) {
      const rung = this.#ladder.current;
      const size = scaledSize(width, height, rung.height);
      return [{
        layer: 0,
        width: Math.max(2, size.width),
        height: Math.max(2, size.height),
        framerate: rung.framerate,
        bitrate: rung.bitrate,
      }];
    }
    const key = `${width}x${height}`;
    if (key !== this.#specsFor) {
      this.#specsFor = key;
      this.#specs = simulcastLayers(width, height, this.#simulcast);
    }
    return this.#specs;
  }

  #encode(frame: VideoFrame): void {
    const now = performance.now();
    if (this.#simulcast === 1 && this.#ladder.tick(now)) {
      for (const layer of this.#layers) if (layer) layer.keyWanted = true;
    }
    if (this.#cap !== Infinity && now >= this.#capUntilMs) {
      this.#cap++;
      this.#capUntilMs = now + CONGESTION_HOLD_MS;
    }
    const backlog = this.options.backlog();
    const maxBacklog = this.options.maxBacklog ?? 512 * 1024;
    const specs = this.#layerSpecs(frame);
    if (this.#cap !== Infinity && this.#cap >= specs.length - 1) this.#cap = Infinity;
    // Capture time on the wall clock, carried in the packet for capture-to-render latency.
    const captured = performance.timeOrigin + now;
    for (const spec of specs) {
      const layer = this.#layer(spec.layer);
      const active = this.#watched &&
        (spec.layer === 0 || (spec.layer <= this.#hinted && spec.layer <= this.#cap));
      if (!active) {
        layer.active = layer.stats.active = false;
        continue;
      }
      if (!layer.active) {
        // Back on: receivers need a key frame to start from.
        layer.active = layer.stats.active = true;
        layer.keyWanted = true;
      }
      if (this.#simulcast > 1) {
        // Each layer at its own frame rate: skip frames until this one is due.
        if (now < layer.nextDueMs) continue;
        const interval = 1000 / spec.framerate;
        layer.nextDueMs = now - layer.nextDueMs > interval
          ? now + interval
          : layer.nextDueMs + interval;
      }
      // Backed up: the upper layers go first, then everything.
      const encoder = layer.encoder!;
      const busy = encoder.encodeQueueSize > 2 || backlog > maxBacklog ||
        (spec.layer > 0 && backlog > maxBacklog / 2);
      if (busy) {
        this.stats.framesSkipped++;
        continue;
      }
      this.#encodeLayer(layer, spec, frame, now, captured);
    }
    frame.close();
  }

  #encodeLayer(
    layer: LayerEncoder,
    spec: LayerSpec,
    frame: VideoFrame,
    now: number,
    captured: number,
  ): void {
    const encoder = layer.encoder!;
    const config = `${this.#codec} ${spec.width}x${spec.height} ${spec.bitrate} ${spec.framerate}`;
    if (config !== layer.configured) {
      try {
        encoder.configure({
          codec: this.#codec,
          width: spec.width,
          height: spec.height,
          bitrate: spec.bitrate,
          framerate: spec.framerate,
          latencyMode: "realtime",
          // Constant, as WebRTC does: libvpx's VBR mode adds key frames on every scene cut
          // (measured: 7 key frames in 60 VP9 frames of the test pattern), which costs bitrate.
          bitrateMode: "constant",
        });
      } catch {
        this.stats.encodeErrors++;
        return;
      }
      layer.configured = config;
      layer.stats.width = spec.width;
      layer.stats.height = spec.height;
      this.stats.configures++;
      layer.keyWanted = true;
    }
    const keyEvery = this.options.keyIntervalMs ?? 3000;
    const keyFrame = layer.keyWanted || now - layer.lastKeyMs >= keyEvery;
    if (keyFrame) {
      this.stats.keyFramesAsked++;
      layer.keyWanted = false;
      layer.lastKeyMs = now;
    }
    layer.captureTimes.set(frame.timestamp, captured);
    if (layer.captureTimes.size > 120) {
      layer.captureTimes.delete(layer.captureTimes.keys().next().value!);
    }
    try {
      encoder.encode(frame, { keyFrame });
    } catch {
      this.stats.encodeErrors++;
    }
  }

  #output(layer: LayerEncoder, chunk: EncodedVideoChunk): void {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const captured = layer.captureTimes.get(chunk.timestamp) ?? Date.now();
    layer.captureTimes.delete(chunk.timestamp);
    const key = chunk.type === "key";
    const sequence = this.#sequences[layer.layer] ?? 0;
    this.#sequences[layer.layer] = sequence + 1;
    const sent = this.options.send({
      mediaType: this.options.mediaType,
      data,
      frameType: key ? "key" : "delta",
      timestamp: captured,
      duration: (chunk.duration ?? 0) / 1000,
      videoMetadata: { sequence: BigInt(sequence), codec: wireCodecFor(this.#codec) },
    }, { layer: layer.layer });
    if (!sent) {
      // Not connected: the next frame after reconnecting must be a key frame.
      layer.keyWanted = true;
      return;
    }
    this.stats.framesEncoded++;
    this.stats.bytes += data.length;
    layer.stats.framesEncoded++;
    layer.stats.bytes += data.length;
    if (key) {
      this.stats.keyFrames++;
      layer.stats.keyFrames++;
    }
  }

  /**
   * A receiver asked for a key frame of `layer` (every layer when undefined); at most one every
   * 300 ms per layer is honoured.
   */
  requestKeyframe(layer?: number): void {
    this.stats.keyFramesRequested++;
    const now = performance.now();
    for (const l of this.#layers) {
      if (l === undefined || (layer !== undefined && l.layer !== layer)) continue;
      if (now - l.lastKeyMs > KEY_REQUEST_INTERVAL_MS) l.keyWanted = true;
    }
  }

  /** A key frame next on every layer, whatever the rate limit (a new encryption key). */
  forceKeyframe(): void {
    for (const l of this.#layers) if (l) l.keyWanted = true;
  }

  /**
   * The relay's LAYER_HINT: no receiver wants layers above `maxLayer` (Infinity: every layer).
   * Those stop being encoded until a hint raises it again; the base layer stops only while
   * nobody shows the stream at all (`watched` false).
   */
  setMaxLayer(maxLayer: number, watched = true): void {
    this.#hinted = maxLayer;
    this.#watched = watched;
  }

  /**
   * The relay reported congested receivers: one step down — the next rung of the quality ladder
   * for a single layer, the top layer off for a while for simulcast (its receivers fall back to
   * the next one down).
   */
  congested(): void {
    const now = performance.now();
    if (this.#simulcast === 1) {
      if (this.#ladder.congested(now)) this.forceKeyframe();
      return;
    }
    // One step per report burst: the reports of one episode come close together.
    if (now - this.#cappedAtMs < CONGESTION_STEP_MS) return;
    const current = Math.min(this.#cap, this.#hinted, this.#specs.length - 1);
    if (current <= 0) return;
    this.#cap = current - 1;
    this.#cappedAtMs = now;
    this.#capUntilMs = now + CONGESTION_HOLD_MS;
  }

  /** Stops pulling and encoding; the track itself stays the caller's. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#fallbackTimer);
    if (this.#fallbackVideo) {
      this.#fallbackVideo.pause();
      this.#fallbackVideo.srcObject = null;
      this.#fallbackVideo = undefined;
    }
    this.#reader?.cancel().catch(() => {});
    for (const layer of this.#layers) layer?.close();
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
