/**
 * Who is speaking: a level detector with hysteresis, so the indicator neither flickers between
 * words nor lights up for a cough. Fed with audio levels (RMS of each captured chunk).
 *
 * @example
 * ```ts
 * import { SpeakingDetector } from "./speaking.ts";
 *
 * const d = new SpeakingDetector();
 * let t = 0;
 * for (; t < 300; t += 10) d.update(0.2, t);
 * if (!d.speaking) throw new Error("speech starts");
 * for (; t < 500; t += 10) d.update(0, t);
 * if (!d.speaking) throw new Error("a pause between words keeps it on");
 * for (; t < 1500; t += 10) d.update(0, t);
 * if (d.speaking) throw new Error("silence ends it");
 * ```
 *
 * @module
 */

/** Root mean square of samples. */
export function rms(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/**
 * A level as RFC 6464 carries it: -dBov of the RMS (0 is full scale, 127 silence or quieter),
 * rounded to whole decibels.
 *
 * @example
 * ```ts
 * import { levelDbov } from "./speaking.ts";
 *
 * if (levelDbov(1) !== 0 || levelDbov(0.1) !== 20 || levelDbov(0) !== 127) throw new Error();
 * ```
 */
export function levelDbov(rmsLevel: number): number {
  if (!(rmsLevel > 0)) return 127;
  return Math.max(0, Math.min(127, Math.round(-20 * Math.log10(Math.min(1, rmsLevel)))));
}

/** Thresholds of a {@linkcode SpeakingDetector}. */
export interface SpeakingOptions {
  /** RMS above which a chunk counts as voice (full scale is 1). */
  threshold?: number;
  /** Voice needed before the flag goes on, in milliseconds. */
  attackMs?: number;
  /** Silence needed before the flag goes off, in milliseconds. */
  releaseMs?: number;
}

/** The speaking flag of one microphone. */
export class SpeakingDetector {
  readonly #threshold: number;
  readonly #attack: number;
  readonly #release: number;
  #voiceSince = -1;
  #lastVoice = -Infinity;
  speaking = false;

  constructor(options: SpeakingOptions = {}) {
    this.#threshold = options.threshold ?? 0.02;
    this.#attack = options.attackMs ?? 100;
    this.#release = options.releaseMs ?? 700;
  }

  /** Feeds one chunk's level; returns true when the flag changed. */
  update(level: number, nowMs: number): boolean {
    const before = this.speaking;
    if (level >= this.#threshold) {
      if (this.#voiceSince < 0) this.#voiceSince = nowMs;
      this.#lastVoice = nowMs;
      if (nowMs - this.#voiceSince >= this.#attack) this.speaking = true;
    } else {
      if (nowMs - this.#lastVoice > 200) this.#voiceSince = -1;
      if (nowMs - this.#lastVoice >= this.#release) this.speaking = false;
    }
    return before !== this.speaking;
  }

  /** Forgets everything (microphone muted). */
  reset(): void {
    this.#voiceSince = -1;
    this.#lastVoice = -Infinity;
    this.speaking = false;
  }
}
