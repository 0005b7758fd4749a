/**
 * A fixed-size latency histogram for the load benchmarks: recording is one array increment, so
 * millions of samples per step cost no allocation, and percentiles are exact to the bucket width
 * (10 µs below 100 ms, 1 ms from there up to 10 s; slower samples land in the last bucket).
 *
 * @example
 * ```ts
 * import { LatencyHistogram } from "./stats.ts";
 *
 * const h = new LatencyHistogram();
 * for (let i = 1; i <= 100; i++) h.record(i / 10);
 * if (Math.abs(h.percentile(0.5) - 5) > 0.02) throw new Error("p50 should be 5 ms");
 * ```
 *
 * @module
 */

const FINE_BUCKET_MS = 0.01;
const FINE_LIMIT_MS = 100;
const COARSE_BUCKET_MS = 1;
const COARSE_LIMIT_MS = 10_000;
const FINE_BUCKETS = Math.round(FINE_LIMIT_MS / FINE_BUCKET_MS);
const COARSE_BUCKETS = Math.round((COARSE_LIMIT_MS - FINE_LIMIT_MS) / COARSE_BUCKET_MS);

/** A histogram's samples in a form that travels as JSON (see {@linkcode LatencyHistogram.add}). */
export interface HistogramSnapshot {
  /** [bucket index, samples] of the non-empty buckets. */
  buckets: [number, number][];
  count: number;
  sumMs: number;
  maxMs: number;
}

/** Counts latency samples in buckets and answers percentiles. */
export class LatencyHistogram {
  readonly #buckets = new Uint32Array(FINE_BUCKETS + COARSE_BUCKETS);
  #count = 0;
  #sumMs = 0;
  #maxMs = 0;

  /** Samples recorded since the last {@linkcode reset}. */
  get count(): number {
    return this.#count;
  }

  /** The largest sample, in milliseconds (0 when empty). */
  get maxMs(): number {
    return this.#maxMs;
  }

  /** The mean sample, in milliseconds (0 when empty). */
  get meanMs(): number {
    return this.#count === 0 ? 0 : this.#sumMs / this.#count;
  }

  /** Adds one sample; negative values (clock noise) count as 0. */
  record(ms: number): void {
    const v = ms > 0 ? ms : 0;
    const index = v < FINE_LIMIT_MS ? Math.floor(v / FINE_BUCKET_MS) : FINE_BUCKETS +
      Math.min(Math.floor((v - FINE_LIMIT_MS) / COARSE_BUCKET_MS), COARSE_BUCKETS - 1);
    this.#buckets[index]++;
    this.#count++;
    this.#sumMs += v;
    if (v > this.#maxMs) this.#maxMs = v;
  }

  /**
   * The sample at quantile `q` (0 < q ≤ 1), as the upper edge of its bucket, in milliseconds;
   * 0 when empty.
   */
  percentile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= rank) {
        const edge = i < FINE_BUCKETS
          ? (i + 1) * FINE_BUCKET_MS
          : FINE_LIMIT_MS + (i - FINE_BUCKETS + 1) * COARSE_BUCKET_MS;
        return Math.min(edge, this.#maxMs);
      }
    }
    return this.#maxMs;
  }

  /** The samples in a compact form to send elsewhere: non-empty buckets and totals. */
  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = [];
    for (let i = 0; i < this.#buckets.length; i++) {
      if (this.#buckets[i] !== 0) buckets.push([i, this.#buckets[i]]);
    }
    return { buckets, count: this.#count, sumMs: this.#sumMs, maxMs: this.#maxMs };
  }

  /** Adds the samples of a {@linkcode snapshot} (of another histogram) to these. */
  add(snapshot: HistogramSnapshot): void {
    for (const [i, n] of snapshot.buckets) {
      if (i >= 0 && i < this.#buckets.length) this.#buckets[i] += n;
    }
    this.#count += snapshot.count;
    this.#sumMs += snapshot.sumMs;
    if (snapshot.maxMs > this.#maxMs) this.#maxMs = snapshot.maxMs;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#buckets.fill(0);
    this.#count = 0;
    this.#sumMs = 0;
    this.#maxMs = 0;
  }
}
