/**
 * Puts one sender's video frames back in order before they reach the decoder, and decides
 * what to do about frames that never come.
 *
 * WebTransport carries each frame on its own stream, so frames can overtake each other; the
 * relay may drop delta frames for a congested receiver. A decoder must see a key frame first
 * and then every frame in order, so the buffer:
 * - holds frames that arrive early until the missing ones come, for at most `maxWaitMs`
 *   (or `maxFrames` frames);
 * - gives up on a gap after that: it jumps to the next key frame if one is buffered, or
 *   drops deltas and asks for a key frame (`keyframeNeeded`); a key frame after a gap is
 *   decoded at once (it needs nothing before it);
 * - drops duplicates and frames older than what was already released, except a key frame far
 *   behind, which means the sender started its numbering over.
 *
 * @example
 * ```ts
 * import { JitterBuffer } from "./jitter_buffer.ts";
 *
 * const jb = new JitterBuffer<{ sequence: number; key: boolean }>();
 * jb.push({ sequence: 1, key: true }, 0);
 * const late = jb.push({ sequence: 3, key: false }, 5); // 2 is missing: held back
 * const ready = jb.push({ sequence: 2, key: false }, 10); // now 2 and 3 go out
 * if (late.length !== 0 || ready.map((f) => f.sequence).join() !== "2,3") throw new Error();
 * ```
 *
 * @module
 */

/** A key frame this far behind the expected sequence number means the sender started over. */
const RESTART_DISTANCE = 30;

/** What the buffer needs of a frame. */
export interface OrderedFrame {
  sequence: number;
  key: boolean;
}

/** Limits of a {@linkcode JitterBuffer}. */
export interface JitterBufferOptions {
  /** Longest a frame waits for a missing predecessor, in milliseconds. */
  maxWaitMs?: number;
  /** Most frames held back at once. */
  maxFrames?: number;
}

/** Counters of a {@linkcode JitterBuffer}. */
export interface JitterStats {
  /** Frames given to the decoder. */
  released: number;
  /** Frames that never arrived (sequence gaps given up on). */
  lost: number;
  /** Frames thrown away because they could not be decoded (deltas after a loss). */
  discarded: number;
  /** Duplicates and frames that came after their successors were released. */
  late: number;
  /** Frames that arrived out of order but in time. */
  reordered: number;
}

interface Held<T> {
  frame: T;
  arrivedMs: number;
}

/** One sender's frame buffer. */
export class JitterBuffer<T extends OrderedFrame> {
  readonly #maxWait: number;
  readonly #maxFrames: number;
  readonly #held = new Map<number, Held<T>>();
  /** The sequence number the decoder needs next; undefined until a key frame starts it. */
  #next: number | undefined;
  /** True while only a key frame can help. */
  #needKey = true;
  readonly stats: JitterStats = { released: 0, lost: 0, discarded: 0, late: 0, reordered: 0 };

  constructor(options: JitterBufferOptions = {}) {
    this.#maxWait = options.maxWaitMs ?? 80;
    this.#maxFrames = options.maxFrames ?? 30;
  }

  /** True when the decoder cannot go on without a key frame (ask the sender for one). */
  get keyframeNeeded(): boolean {
    return this.#needKey;
  }

  /** Frames waiting for a predecessor. */
  get size(): number {
    return this.#held.size;
  }

  /** Adds a frame; returns the frames that can be decoded now, in order. */
  push(frame: T, nowMs: number): T[] {
    const out: T[] = [];
    if (this.#needKey) {
      if (!frame.key) {
        this.stats.discarded++;
        return out;
      }
      // A key frame restarts the stream, whatever came before.
      this.#restartAt(frame.sequence);
    }
    let next = this.#next!;
    if (frame.key && frame.sequence < next - RESTART_DISTANCE) {
      // Far behind what we expect: the sender started over (a new camera, a restart).
      this.#restartAt(frame.sequence);
      next = frame.sequence;
    }
    if (frame.sequence < next || this.#held.has(frame.sequence)) {
      this.stats.late++;
      return out;
    }
    if (frame.sequence > next) {
      if (frame.key) {
        // A key frame needs nothing before it: decode it now rather than wait for the gap.
        this.stats.lost += this.#countMissing(frame.sequence);
        this.#restartAt(frame.sequence);
      } else {
        this.#held.set(frame.sequence, { frame, arrivedMs: nowMs });
        this.#expire(nowMs, out);
        return out;
      }
    }
    if (this.#held.size > 0) this.stats.reordered++;
    this.#release(frame, out);
    this.#drain(out);
    this.#expire(nowMs, out);
    return out;
  }

  /** Gives up on gaps that waited too long; call it on a timer. */
  poll(nowMs: number): T[] {
    const out: T[] = [];
    this.#expire(nowMs, out);
    return out;
  }

  /** Forgets everything and waits for a key frame (the decoder was reset). */
  reset(): void {
    this.stats.discarded += this.#held.size;
    this.#held.clear();
    this.#next = undefined;
    this.#needKey = true;
  }

  // Frames between the expected one and `sequence` that are not held.
  #countMissing(sequence: number): number {
    let missing = sequence - this.#next!;
    for (const seq of this.#held.keys()) if (seq < sequence) missing--;
    return missing;
  }

  #restartAt(sequence: number): void {
    for (const seq of this.#held.keys()) {
      if (seq < sequence) {
        this.#held.delete(seq);
        this.stats.discarded++;
      }
    }
    this.#next = sequence;
    this.#needKey = false;
  }

  #release(frame: T, out: T[]): void {
    out.push(frame);
    this.stats.released++;
    this.#next = frame.sequence + 1;
  }

  #drain(out: T[]): void {
    for (;;) {
      const held = this.#held.get(this.#next!);
      if (held === undefined) return;
      this.#held.delete(this.#next!);
      this.#release(held.frame, out);
    }
  }

  #expire(nowMs: number, out: T[]): void {
    while (this.#held.size > 0) {
      let oldest = Infinity;
      let first = Infinity;
      for (const [seq, held] of this.#held) {
        if (held.arrivedMs < oldest) oldest = held.arrivedMs;
        if (seq < first) first = seq;
      }
      if (nowMs - oldest < this.#maxWait && this.#held.size < this.#maxFrames) return;
      // The gap before `first` is lost. Resume at the first key frame at or after it, if any.
      let key: number | undefined;
      for (const [seq, held] of this.#held) {
        if (held.frame.key && (key === undefined || seq < key)) key = seq;
      }
      if (key === undefined) {
        this.stats.lost += first - this.#next!;
        this.stats.discarded += this.#held.size;
        this.#held.clear();
        this.#needKey = true;
        this.#next = undefined;
        return;
      }
      this.stats.lost += first - this.#next!;
      this.#restartAt(key);
      this.#drain(out);
    }
  }
}
