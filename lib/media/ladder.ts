/**
 * The video quality ladder: the resolutions and bitrates a sender steps down through when the
 * relay says its receivers are congested, and back up when things stay calm.
 *
 * @example
 * ```ts
 * import { QualityLadder } from "./ladder.ts";
 *
 * const ladder = new QualityLadder({ captureHeight: 720 });
 * const heights = [ladder.current.height];
 * ladder.congested(0);
 * heights.push(ladder.current.height);
 * ladder.tick(30_000);
 * heights.push(ladder.current.height);
 * if (heights.join() !== "720,540,720") throw new Error(heights.join());
 * ```
 *
 * @module
 */

/** One rung. */
export interface Rung {
  height: number;
  bitrate: number;
  framerate: number;
}

/** Camera rungs, best first. Bitrates suit VP9 in realtime mode. */
export const CAMERA_LADDER: readonly Rung[] = [
  { height: 720, bitrate: 1_200_000, framerate: 30 },
  { height: 540, bitrate: 800_000, framerate: 30 },
  { height: 360, bitrate: 450_000, framerate: 30 },
  { height: 240, bitrate: 250_000, framerate: 24 },
  { height: 180, bitrate: 120_000, framerate: 15 },
];

/** Screen-share rungs: sharp text matters more than motion. */
export const SCREEN_LADDER: readonly Rung[] = [
  { height: 1080, bitrate: 1_500_000, framerate: 15 },
  { height: 720, bitrate: 900_000, framerate: 10 },
  { height: 540, bitrate: 500_000, framerate: 5 },
];

/** How a {@linkcode QualityLadder} behaves. */
export interface LadderOptions {
  rungs?: readonly Rung[];
  /** The capture height: rungs above it are skipped. */
  captureHeight: number;
  /** Calm needed before stepping up, in milliseconds. */
  upAfterMs?: number;
  /** Least time between two steps down, in milliseconds (one report covers a burst). */
  downEveryMs?: number;
}

/** Where a sender stands on its ladder. */
export class QualityLadder {
  readonly #rungs: readonly Rung[];
  readonly #upAfter: number;
  readonly #downEvery: number;
  #index: number;
  #top: number;
  #lastChange = -Infinity;
  #lastCongestion = -Infinity;

  constructor(options: LadderOptions) {
    const rungs = [...(options.rungs ?? CAMERA_LADDER)];
    let top = rungs.findIndex((r) => r.height <= options.captureHeight);
    if (top < 0) top = rungs.length - 1;
    // A capture between two rungs (480 between 540 and 360) gets a rung of its own, its
    // bitrate scaled by pixels from the rung below, so the top quality is what the camera gives.
    const below = rungs[top];
    if (top > 0 && below.height < options.captureHeight) {
      const scale = (options.captureHeight / below.height) ** 2;
      rungs.splice(top, 0, {
        height: options.captureHeight,
        bitrate: Math.min(rungs[top - 1].bitrate, Math.round(below.bitrate * scale)),
        framerate: rungs[top - 1].framerate,
      });
    }
    this.#rungs = rungs;
    this.#top = top;
    this.#index = top;
    this.#upAfter = options.upAfterMs ?? 15_000;
    this.#downEvery = options.downEveryMs ?? 2_000;
  }

  /** The rung in use. */
  get current(): Rung {
    return this.#rungs[this.#index];
  }

  /** Steps down on a congestion report; true when the rung changed. */
  congested(nowMs: number): boolean {
    this.#lastCongestion = nowMs;
    if (nowMs - this.#lastChange < this.#downEvery) return false;
    if (this.#index >= this.#rungs.length - 1) return false;
    this.#index++;
    this.#lastChange = nowMs;
    return true;
  }

  /** Steps up after a calm spell; call it now and then. True when the rung changed. */
  tick(nowMs: number): boolean {
    if (this.#index <= this.#top) return false;
    if (nowMs - Math.max(this.#lastCongestion, this.#lastChange) < this.#upAfter) return false;
    this.#index--;
    this.#lastChange = nowMs;
    return true;
  }
}

/** The encoded size for a source of `width`x`height` at rung height `height` (even numbers). */
export function scaledSize(
  width: number,
  height: number,
  rungHeight: number,
): { width: number; height: number } {
  if (height <= rungHeight) return { width: width & ~1, height: height & ~1 };
  const w = Math.round((width * rungHeight) / height);
  return { width: w & ~1, height: rungHeight & ~1 };
}
