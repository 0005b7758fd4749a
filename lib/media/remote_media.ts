/**
 * Everyone else's media in a meeting: routes each media packet to its sender's
 * {@linkcode VideoReceiver} (camera or screen) or {@linkcode AudioReceiver}, polls the video
 * jitter buffers every 20 ms, attaches tiles' canvases, and forgets senders who leave.
 *
 * Browser only.
 *
 * @module
 */
import { type MediaPacket, MediaType } from "../protocol/packets.ts";
import type { MediaEnvelope, Participant } from "../client/mod.ts";
import { AudioReceiver, type AudioStats } from "./audio_receiver.ts";
import type { AudioPlayout } from "./audio_playout.ts";
import { EMPTY_STREAM_STATS, type StreamStats, VideoReceiver } from "./video_receiver.ts";

/** Receive figures of one sender, for the diagnostics panel. */
export interface ReceiveStats {
  sessionId: string;
  name: string;
  video: StreamStats;
  screen: StreamStats;
  audio: AudioStats;
}

/** Decoders opened ahead of anyone's first frame, at most (a page of the grid, about). */
const MAX_WARM_DECODERS = 16;

/** How often the video jitter buffers are polled, in ms. */
const POLL_INTERVAL_MS = 20;

/** Everyone's incoming media. */
export class RemoteMedia {
  readonly #video = new Map<string, VideoReceiver>();
  readonly #audio = new Map<string, AudioReceiver>();
  readonly #canvases = new Map<string, HTMLCanvasElement | undefined>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly playout: AudioPlayout,
    readonly requestKeyframe: (participant: Participant, mediaType: number, layer: number) => void,
  ) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      for (const receiver of this.#video.values()) receiver.poll(now);
    }, POLL_INTERVAL_MS);
  }

  /** Routes a media packet from `participant` (its envelope says the simulcast layer). */
  onMedia(participant: Participant, media: MediaPacket, envelope?: MediaEnvelope): void {
    const now = performance.now();
    switch (media.mediaType) {
      case MediaType.VIDEO:
      case MediaType.SCREEN:
        return this.#videoReceiver(participant, media.mediaType)
          .push(media, now, envelope?.layer ?? 0);
      case MediaType.AUDIO: {
        let receiver = this.#audio.get(participant.sessionId);
        if (receiver === undefined) {
          receiver = new AudioReceiver(participant.sessionId, this.playout);
          this.#audio.set(participant.sessionId, receiver);
        }
        return receiver.push(media, now);
      }
    }
  }

  /**
   * A new participant: get their camera's decoder going before their first frame arrives — for
   * the first few only (a meeting of hundreds would otherwise open hundreds of decoders; later
   * tiles get theirs with their first key frame).
   */
  expect(participant: Participant, codec: string): void {
    let open = 0;
    for (const receiver of this.#video.values()) if (receiver.hasDecoder) open++;
    if (open >= MAX_WARM_DECODERS) return;
    this.#videoReceiver(participant, MediaType.VIDEO).warm(codec);
  }

  #videoReceiver(participant: Participant, mediaType: number): VideoReceiver {
    const key = `${participant.sessionId}:${mediaType}`;
    let receiver = this.#video.get(key);
    if (receiver === undefined) {
      receiver = new VideoReceiver((layer) => this.requestKeyframe(participant, mediaType, layer));
      receiver.canvas = this.#canvases.get(key);
      receiver.hidden = this.#canvases.has(key) && receiver.canvas === undefined;
      this.#video.set(key, receiver);
    }
    return receiver;
  }

  /**
   * Shows a sender's stream (VIDEO or SCREEN) on `canvas`, or stops decoding it (`undefined`:
   * the tile is off screen or gone).
   */
  attach(sessionId: string, mediaType: number, canvas: HTMLCanvasElement | undefined): void {
    const key = `${sessionId}:${mediaType}`;
    this.#canvases.set(key, canvas);
    this.#video.get(key)?.show(canvas);
  }

  /** Forgets a sender who left. */
  remove(sessionId: string): void {
    for (const [key, receiver] of this.#video) {
      if (key.startsWith(`${sessionId}:`)) {
        receiver.close();
        this.#video.delete(key);
      }
    }
    for (const key of [...this.#canvases.keys()]) {
      if (key.startsWith(`${sessionId}:`)) this.#canvases.delete(key);
    }
    this.#audio.get(sessionId)?.close();
    this.#audio.delete(sessionId);
  }

  /** Figures per sender. */
  stats(participants: readonly Participant[]): ReceiveStats[] {
    const now = performance.now();
    return participants.map((p) => ({
      sessionId: p.sessionId,
      name: p.displayName,
      video: this.#video.get(`${p.sessionId}:${MediaType.VIDEO}`)?.stats(now) ?? EMPTY_STREAM_STATS,
      screen: this.#video.get(`${p.sessionId}:${MediaType.SCREEN}`)?.stats(now) ??
        EMPTY_STREAM_STATS,
      audio: this.#audio.get(p.sessionId)?.stats(now) ??
        { frames: 0, kbps: 0, decodeErrors: 0 },
    }));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const receiver of this.#video.values()) receiver.close();
    for (const receiver of this.#audio.values()) receiver.close();
    this.#video.clear();
    this.#audio.clear();
  }
}
