/**
 * Reconnect delays: exponential with full jitter, capped, reset after a connection that lasted.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 *
 * const backoff = new Backoff({ baseMs: 250, maxMs: 8000, random: () => 1 });
 * if (backoff.next() !== 250 || backoff.next() !== 500) throw new Error("doubles");
 * backoff.reset();
 * if (backoff.next() !== 250) throw new Error("starts over");
 * ```
 *
 * @module
 */

/** How a {@linkcode Backoff} grows. */
export interface BackoffOptions {
  /** First delay, in milliseconds. */
  baseMs?: number;
  /** Largest delay, in milliseconds. */
  maxMs?: number;
  /** A number in [0, 1); the delay is a random fraction of the current ceiling (never below half). */
  random?: () => number;
}

/** Delays between reconnect attempts. */
export class Backoff {
  readonly #base: number;
  readonly #max: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#base = options.baseMs ?? 250;
    this.#max = options.maxMs ?? 10_000;
    this.#random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.#max, this.#base * 2 ** this.#attempt);
    this.#attempt++;
    // Half fixed, half random: spreads a crowd of clients without ever retrying at once.
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  /** Starts over (after a connection that worked). */
  reset(): void {
    this.#attempt = 0;
  }
}
