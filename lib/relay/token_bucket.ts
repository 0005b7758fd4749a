/**
 * A token bucket: `rate` tokens per second, at most `burst` stored.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 *
 * const bucket = new TokenBucket(2, 2, 0);
 * const taken = [bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(500)];
 * if (taken.join() !== "true,true,false,true") throw new Error(taken.join());
 * ```
 *
 * @module
 */
export class TokenBucket {
  readonly #ratePerMs: number;
  readonly #burst: number;
  #tokens: number;
  #lastMs: number;

  /**
   * @param rate Tokens added per second.
   * @param burst Most tokens stored; the bucket starts full.
   * @param nowMs The current time in milliseconds.
   */
  constructor(rate: number, burst: number, nowMs: number) {
    this.#ratePerMs = rate / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  /**
   * Takes `count` tokens (default one) at time `nowMs`; returns false, taking none, when fewer
   * are left.
   */
  take(nowMs: number, count = 1): boolean {
    const elapsed = nowMs - this.#lastMs;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#ratePerMs);
      this.#lastMs = nowMs;
    }
    if (this.#tokens < count) return false;
    this.#tokens -= count;
    return true;
  }
}
