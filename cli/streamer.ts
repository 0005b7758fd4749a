/**
 * One participant of the streamer: a client-library {@linkcode Room} (API join, WebTransport or
 * WebSocket, heartbeats, reconnect with backoff) that sends the shared encoders' frames as
 * MediaPackets,
 * exactly as the browser does — sequence numbers, capture timestamps, key/delta, codec.
 * After every (re)connect it waits for a key frame of each layer before sending that layer, so
 * receivers never start on a delta. With simulcast, a layer LAYER_HINT says nobody watches is
 * not sent (ffmpeg still encodes it: it cannot stop one output of a running encode).
 *
 * @module
 */
import WebSocketNode from "ws";
import { MediaType, Room, type RoomState, VideoCodec } from "../lib/client/mod.ts";
import type { AudioPacketOut, Encoders, VideoFrameOut } from "./encoders.ts";
import type { StreamOptions } from "./stream_options.ts";
import { videoLayers } from "./ffmpeg.ts";

/** A WebSocket with TCP_NODELAY (Deno's own leaves Nagle on: docs/PROTOCOL.md, "Deno"). */
function nodelayWebSocket(url: string): WebSocket {
  return new WebSocketNode(url, { perMessageDeflate: false }) as unknown as WebSocket;
}

/** Counters for the status line. */
export interface StreamerStats {
  framesSent: number;
  bytesSent: number;
  audioSent: number;
  /** Frames not sent: not connected, or waiting for a key frame after connecting. */
  framesDropped: number;
  keyframeRequests: number;
  congestion: number;
  /** Frames of a layer nobody watched (LAYER_HINT), not sent. */
  framesUnwanted: number;
}

/** One streaming participant. */
export class Streamer {
  readonly room: Room;
  readonly stats: StreamerStats = {
    framesSent: 0,
    bytesSent: 0,
    audioSent: 0,
    framesDropped: 0,
    keyframeRequests: 0,
    congestion: 0,
    framesUnwanted: 0,
  };
  /** Per layer: nothing is sent until its next key frame. */
  #waitingForKey: boolean[] = [];
  /** The highest layer anyone watches (LAYER_HINT). */
  #maxLayer = Infinity;
  /** Whether anybody shows our camera (LAYER_HINT): when nobody does, no video is sent. */
  #watched = true;
  #videoListener = (f: VideoFrameOut) => this.#video(f);
  #audioListener = (p: AudioPacketOut) => this.#audio(p);
  /** Frame duration per layer, in ms. */
  readonly #frameMs: number[];
  readonly #codec: number;

  constructor(
    readonly options: StreamOptions,
    readonly encoders: Encoders,
    userId: string,
    token: string | undefined,
    onState: (streamer: Streamer, state: RoomState) => void,
  ) {
    this.#frameMs = videoLayers(options).map((l) => 1000 / l.fps);
    this.#codec = options.codec === "vp9" ? VideoCodec.VP9_PROFILE0_LEVEL10_8BIT : VideoCodec.VP8;
    this.room = new Room({
      url: options.url.href,
      userId,
      meetingId: options.meetingId,
      displayName: options.count > 1 ? `${options.displayName} ${userId}` : options.displayName,
      token,
      transport: options.transport,
      e2ee: options.e2ee,
      maxReconnectAttempts: 10_000,
      trustAdvertisedCertificate: options.insecureSkipVerify,
      pickServer: !options.stayOnServer,
      webSocket: nodelayWebSocket,
    });
    this.room.on("state", (state) => {
      if (state.kind === "connected") this.#waitingForKey = [];
      onState(this, state);
    });
    // Answered by the next periodic key frame (--keyframe-interval): ffmpeg cannot be asked for
    // one, and restarting it would stall everyone's picture for longer.
    this.room.on("keyframeRequest", () => this.stats.keyframeRequests++);
    this.room.on("congestion", () => this.stats.congestion++);
    this.room.on("layerHint", (hint) => {
      this.#maxLayer = hint.video;
      this.#watched = hint.watched.video;
    });
    this.room.on("encryption", () => this.#showSafetyCode());
    this.room.local.videoEnabled = true;
    this.room.local.audioEnabled = encoders.hasAudio;
  }

  /** Joins and starts sending; resolves when the call ends, rejects with JoinError. */
  async run(): Promise<void> {
    this.encoders.video.add(this.#videoListener);
    this.encoders.audio.add(this.#audioListener);
    try {
      await this.room.connect();
      await this.room.done;
    } finally {
      this.encoders.video.delete(this.#videoListener);
      this.encoders.audio.delete(this.#audioListener);
    }
  }

  #video(frame: VideoFrameOut): void {
    const layer = frame.layer;
    if (!this.room.connected || this.room.state.kind === "waiting") {
      this.stats.framesDropped++;
      this.#waitingForKey = [];
      return;
    }
    if (!this.#watched || (layer > 0 && layer > this.#maxLayer)) {
      // Nobody watches this layer; when someone does again, it restarts at a key frame.
      this.stats.framesUnwanted++;
      this.#waitingForKey[layer] = true;
      return;
    }
    if ((this.#waitingForKey[layer] ?? true) && !frame.key) {
      this.stats.framesDropped++;
      return;
    }
    this.#waitingForKey[layer] = false;
    const sent = this.room.publish({
      mediaType: MediaType.VIDEO,
      data: frame.data,
      frameType: frame.key ? "key" : "delta",
      timestamp: frame.atMs,
      duration: this.#frameMs[layer] ?? 1000 / this.options.fps,
      videoMetadata: { sequence: BigInt(frame.index), codec: this.#codec },
    }, { layer });
    if (sent) {
      this.stats.framesSent++;
      this.stats.bytesSent += frame.data.length;
    } else {
      this.stats.framesDropped++;
      this.#waitingForKey[layer] = true;
    }
  }

  #audio(packet: AudioPacketOut): void {
    if (!this.room.connected || this.room.state.kind === "waiting") return;
    const sent = this.room.publish({
      mediaType: MediaType.AUDIO,
      data: packet.data,
      frameType: "key",
      timestamp: packet.atMs,
      duration: 20,
      audioMetadata: {
        audioFormat: "opus",
        audioNumberOfChannels: 1,
        audioNumberOfFrames: 960,
        audioSampleRate: 48_000,
        sequence: BigInt(packet.index),
      },
    }, { audioLevel: packet.level });
    if (sent) {
      this.stats.audioSent++;
      this.stats.bytesSent += packet.data.length;
    }
  }

  #lastCode: string | undefined;
  #showSafetyCode(): void {
    if (this.options.quiet || !this.room.encryption.enabled || this.options.count > 1) return;
    this.room.encryption.safetyCode().then((code) => {
      if (code === undefined || code === this.#lastCode) return;
      this.#lastCode = code;
      console.error(`safety code: ${code}  (end-to-end encrypted; compare it with the others')`);
    }, () => {});
  }

  /** Leaves the meeting. */
  async leave(): Promise<void> {
    await this.room.leave();
  }
}
