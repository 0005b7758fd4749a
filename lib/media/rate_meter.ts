/**
 * Per-stream receive figures over a sliding window: frames per second, kilobits per second,
 * and counters (drops, decode errors) that only grow.
 *
 * @example
 * ```ts
 * import { RateMeter } from "./rate_meter.ts";
 *
 * const meter = new RateMeter(1000);
 * for (let t = 0; t < 1000; t += 50) meter.add(t, 1250); // 20 frames of 1250 bytes in 1 s
 * const { fps, kbps } = meter.read(1000);
 * if (fps !== 20 || kbps !== 200) throw new Error(`${fps} fps, ${kbps} kbps`);
 * ```
 *
 * @module
 */

/** A window of (time, bytes) samples. */
export class RateMeter {
  readonly #windowMs: number;
  #times: number[] = [];
  #bytes: number[] = [];
  #head = 0;
  /** Everything ever added. */
  total = 0;
  totalBytes = 0;

  constructor(windowMs = 2000) {
    this.#windowMs = windowMs;
  }

  /** Records one unit (a frame) of `bytes` at `nowMs`. */
  add(nowMs: number, bytes: number): void {
    this.#times.push(nowMs);
    this.#bytes.push(bytes);
    this.total++;
    this.totalBytes += bytes;
    this.#trim(nowMs);
  }

  /** Frames per second and kilobits per second over the window ending at `nowMs`. */
  read(nowMs: number): { fps: number; kbps: number } {
    this.#trim(nowMs);
    let bytes = 0;
    for (let i = this.#head; i < this.#bytes.length; i++) bytes += this.#bytes[i];
    const seconds = this.#windowMs / 1000;
    const count = this.#times.length - this.#head;
    return {
      fps: Math.round((count / seconds) * 10) / 10,
      kbps: Math.round((bytes * 8) / 1000 / seconds),
    };
  }

  #trim(nowMs: number): void {
    const from = nowMs - this.#windowMs;
    while (this.#head < this.#times.length && this.#times[this.#head] < from) this.#head++;
    if (this.#head > 256 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#bytes = this.#bytes.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** Percentiles of a set of samples (nearest rank); NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
