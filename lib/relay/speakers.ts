/**
 * Who is speaking in a room, from the audio level each audio packet carries in the clear
 * (`PacketWrapper.audio_level`, as RFC 6464 does for RTP: 0 is the loudest, 127 silence, in -dBov).
 * Keeps a smoothed loudness per sender, the `count` loudest active speakers, and the dominant
 * speaker — the loudest, kept until someone else is clearly louder, so the speaker view does not
 * flicker between two voices. Pure logic, no I/O.
 *
 * @example
 * ```ts
 * import { SpeakerRanking } from "./speakers.ts";
 *
 * const ranking = new SpeakerRanking(2);
 * for (let t = 0; t < 400; t += 20) {
 *   ranking.hear(1n, 20, t); // speaking
 *   ranking.hear(2n, 120, t); // near silence
 * }
 * const now = ranking.state(400);
 * if (now.dominant !== 1n || now.speakers.join() !== "1") throw new Error(JSON.stringify(now));
 * ```
 *
 * @module
 */

/** Loudness (127 - level) at or above which a sender counts as speaking. */
export const SPEAKING_LOUDNESS = 127 - 50;
/** A sender not heard for this long is dropped from the ranking, in ms. */
export const SPEAKER_TIMEOUT_MS = 1000;
/** How much louder (dB) a speaker must be to take over as the dominant one. */
export const DOMINANT_MARGIN_DB = 6;
/** Smoothing of the loudness per packet (20 ms of audio): about 200 ms to settle. */
const ALPHA = 0.1;
/** The ranking is recomputed at most this often; in between a louder newcomer still gets in. */
const RANK_INTERVAL_MS = 100;

/** The ranking's view of the room. */
export interface SpeakerState {
  /** The loudest active speakers, loudest first. */
  speakers: bigint[];
  /** Who spoke last as the loudest (kept through silences); undefined until someone spoke. */
  dominant: bigint | undefined;
}

interface Voice {
  loudness: number;
  lastMs: number;
}

/** Ranks the speakers of one room. */
export class SpeakerRanking {
  readonly #count: number;
  readonly #voices = new Map<bigint, Voice>();
  #dominant: bigint | undefined;
  #ranked = { atMs: -Infinity, top: [] as bigint[], floor: SPEAKING_LOUDNESS };

  /** `count`: how many loudest speakers are tracked (and heard, in large meetings). */
  constructor(count: number) {
    this.#count = count;
  }

  /**
   * Records one audio packet's level (undefined: the sender does not say). Returns whether the
   * packet is among the loudest now — in large meetings only those are forwarded; a sender that
   * does not say its level is always forwarded (fail open).
   */
  hear(source: bigint, level: number | undefined, nowMs: number): boolean {
    if (level === undefined) return true;
    const loudness = 127 - Math.max(0, Math.min(127, level));
    let voice = this.#voices.get(source);
    if (voice === undefined) {
      voice = { loudness, lastMs: nowMs };
      this.#voices.set(source, voice);
    } else {
      voice.loudness += ALPHA * (loudness - voice.loudness);
      voice.lastMs = nowMs;
    }
    if (voice.loudness < SPEAKING_LOUDNESS) return false;
    if (nowMs - this.#ranked.atMs >= RANK_INTERVAL_MS) this.#top(nowMs);
    return this.#ranked.top.includes(source) || voice.loudness > this.#ranked.floor;
  }

  /** Forgets a sender who left. */
  forget(source: bigint): void {
    this.#voices.delete(source);
    this.#ranked.atMs = -Infinity;
    if (this.#dominant === source) this.#dominant = undefined;
  }

  #top(nowMs: number): bigint[] {
    const active: [bigint, number][] = [];
    for (const [source, voice] of this.#voices) {
      if (nowMs - voice.lastMs > SPEAKER_TIMEOUT_MS) {
        this.#voices.delete(source);
        continue;
      }
      if (voice.loudness >= SPEAKING_LOUDNESS) active.push([source, voice.loudness]);
    }
    active.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = active.slice(0, this.#count);
    this.#ranked = {
      atMs: nowMs,
      top: top.map(([source]) => source),
      // A voice louder than the quietest of a full list would take its place.
      floor: top.length < this.#count ? SPEAKING_LOUDNESS : top[top.length - 1][1],
    };
    return this.#ranked.top;
  }

  /** The loudest active speakers and the dominant speaker now. */
  state(nowMs: number): SpeakerState {
    const speakers = this.#top(nowMs);
    const loudest = speakers[0];
    if (loudest !== undefined && loudest !== this.#dominant) {
      const current = this.#dominant === undefined ? undefined : this.#voices.get(this.#dominant);
      const candidate = this.#voices.get(loudest)!.loudness;
      if (
        current === undefined || current.loudness < SPEAKING_LOUDNESS ||
        candidate >= current.loudness + DOMINANT_MARGIN_DB
      ) {
        this.#dominant = loudest;
      }
    }
    return { speakers, dominant: this.#dominant };
  }
}
