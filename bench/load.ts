/**
 * The load generator and the receive-side meter of the relay benchmark. Every participant sends
 * video and audio at a steady rate; one interval timer serves all of them, sending in each tick
 * whatever each participant is due by then (so timer jitter changes burst sizes, not rates).
 *
 * @module
 */
import {
  audioTemplate,
  isVideoMedia,
  KEYFRAME_INTERVAL_FRAMES,
  type PacketTemplate,
  readMediaSendTime,
  videoTemplate,
} from "./media_packets.ts";
import { LatencyHistogram } from "./stats.ts";

/** One synthetic participant as the generator sees it. */
export interface Sender {
  /** The participant's user id, also written into its packets. */
  readonly userId: string;
  /** Sends one serialized PacketWrapper; `bytes` is reused after the call returns. */
  send(bytes: Uint8Array): void;
  /** Sends an audio packet the way the transport carries audio (default: `send`). */
  sendAudio?(bytes: Uint8Array): void;
}

/** Packets per second of one participant at multiplier 1. */
export interface BaseRate {
  /** Video frames per second (every 30th a key frame). */
  videoPerSecond: number;
  /** Audio packets per second. */
  audioPerSecond: number;
}

/** What one step sent. */
export interface SendResult {
  /** Video packets sent by all participants together. */
  video: number;
  /** Audio packets sent by all participants together. */
  audio: number;
  /** How long sending took, from the first tick to the last. */
  elapsedMs: number;
  /**
   * The longest a tick came later than planned: how long this process's event loop was busy
   * elsewhere (receiving, collecting garbage), which also delays every receive it measures.
   */
  maxTickLagMs: number;
}

const TICK_MS = 5;

interface Stream {
  sender: Sender;
  key: PacketTemplate;
  delta: PacketTemplate;
  audio: PacketTemplate;
  // A per-participant phase in [0, 1) so that participants do not all send in the same tick.
  phase: number;
  videoSequence: number;
  audioSequence: number;
}

/** Drives every participant of a target. */
export class LoadGenerator {
  readonly #streams: Stream[];
  readonly #rate: BaseRate;

  /** Pre-encodes the packets of every sender; `rate` is the load at multiplier 1. */
  constructor(senders: Sender[], rate: BaseRate) {
    this.#rate = rate;
    this.#streams = senders.map((sender, i) => ({
      sender,
      key: videoTemplate(sender.userId, true),
      delta: videoTemplate(sender.userId, false),
      audio: audioTemplate(sender.userId),
      phase: (i * 0.618034) % 1,
      videoSequence: 0,
      audioSequence: 0,
    }));
  }

  /** Packets per second all participants send together at `multiplier`. */
  offeredPerSecond(multiplier: number): number {
    return this.#streams.length * (this.#rate.videoPerSecond + this.#rate.audioPerSecond) *
      multiplier;
  }

  /** Sends at `multiplier` times the base rate for `durationMs`, then resolves. */
  run(multiplier: number, durationMs: number): Promise<SendResult> {
    const videoPerMs = (this.#rate.videoPerSecond * multiplier) / 1000;
    const audioPerMs = (this.#rate.audioPerSecond * multiplier) / 1000;
    const sentVideo = new Array<number>(this.#streams.length).fill(0);
    const sentAudio = new Array<number>(this.#streams.length).fill(0);
    const result: SendResult = { video: 0, audio: 0, elapsedMs: 0, maxTickLagMs: 0 };
    const start = performance.now();
    let lastTick = start;
    const { promise, resolve } = Promise.withResolvers<SendResult>();
    const tick = () => {
      const now = performance.now();
      result.maxTickLagMs = Math.max(result.maxTickLagMs, now - lastTick - TICK_MS);
      lastTick = now;
      const elapsed = Math.min(now - start, durationMs);
      for (let i = 0; i < this.#streams.length; i++) {
        const s = this.#streams[i];
        const dueVideo = Math.floor(elapsed * videoPerMs + s.phase);
        const dueAudio = Math.floor(elapsed * audioPerMs + s.phase);
        for (; sentVideo[i] < dueVideo; sentVideo[i]++) {
          const sequence = s.videoSequence++;
          const t = sequence % KEYFRAME_INTERVAL_FRAMES === 0 ? s.key : s.delta;
          s.sender.send(t.stamp(performance.now(), sequence));
          result.video++;
        }
        for (; sentAudio[i] < dueAudio; sentAudio[i]++) {
          const audio = s.audio.stamp(performance.now(), s.audioSequence++);
          if (s.sender.sendAudio) s.sender.sendAudio(audio);
          else s.sender.send(audio);
          result.audio++;
        }
      }
      if (elapsed >= durationMs) {
        clearInterval(timer);
        result.elapsedMs = performance.now() - start;
        resolve(result);
      }
    };
    const timer = setInterval(tick, TICK_MS);
    return promise;
  }
}

/**
 * Counts what receivers get during one step and how late it is. Packets sent before the current
 * step began (stragglers of an earlier one) are counted apart and not measured.
 */
export class StepMeter {
  /** Send→receive latency of this step's deliveries. */
  readonly latency = new LatencyHistogram();
  /** Video deliveries of this step. */
  video = 0;
  /** Audio deliveries of this step. */
  audio = 0;
  /** Deliveries of packets sent before this step began. */
  stale = 0;
  #stepStartMs = Number.POSITIVE_INFINITY;

  /** Deliveries of this step so far. */
  get received(): number {
    return this.video + this.audio;
  }

  /** Starts a new step: everything sent from now on belongs to it. */
  begin(nowMs: number): void {
    this.latency.reset();
    this.video = 0;
    this.audio = 0;
    this.stale = 0;
    this.#stepStartMs = nowMs;
  }

  /** Records a serialized MediaPacket that reached a receiver at `atMs`. */
  onMedia(media: Uint8Array, atMs: number): void {
    const sentMs = readMediaSendTime(media);
    if (sentMs === undefined) return;
    if (sentMs < this.#stepStartMs) {
      this.stale++;
      return;
    }
    if (isVideoMedia(media)) this.video++;
    else this.audio++;
    this.latency.record(atMs - sentMs);
  }

  /** Waits until `expected` deliveries arrived or `timeoutMs` passed. */
  async drain(expected: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.received < expected && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
