/**
 * One sender's audio: `AudioDecoder` (Opus) → {@linkcode AudioPlayout}. Late and duplicate
 * packets are dropped by sequence number; a sender far behind its last number restarted its
 * numbering and is taken as it comes.
 *
 * Browser only.
 *
 * @module
 */
import type { MediaPacket } from "../protocol/packets.ts";
import { OPUS } from "./codecs.ts";
import { RateMeter } from "./rate_meter.ts";
import type { AudioPlayout } from "./audio_playout.ts";

/** Receive figures of one audio stream. */
export interface AudioStats {
  frames: number;
  kbps: number;
  decodeErrors: number;
}

/** How far behind the last sequence number a packet means a restart, not a late packet. */
const RESTART_GAP = 50;

/** Receives one sender's microphone. */
export class AudioReceiver {
  readonly meter = new RateMeter(2000);
  decoder: AudioDecoder | undefined;
  frames = 0;
  decodeErrors = 0;
  lastSequence = -1;

  /** `key` names the sender's playout buffer in `playout`. */
  constructor(readonly key: string, readonly playout: AudioPlayout) {}

  /** Takes one media packet of the stream. */
  push(media: MediaPacket, now: number): void {
    this.meter.add(now, media.data.length);
    const seq = Number(media.audioMetadata?.sequence ?? -1n);
    if (seq >= 0 && seq <= this.lastSequence && this.lastSequence - seq < RESTART_GAP) return;
    this.lastSequence = seq;
    if (this.decoder === undefined || this.decoder.state === "closed") {
      this.decoder = new AudioDecoder({
        output: (data) => this.#play(data),
        error: () => {
          this.decodeErrors++;
          this.decoder = undefined;
        },
      });
      const meta = media.audioMetadata;
      this.decoder.configure({
        codec: OPUS.codec,
        sampleRate: meta?.audioSampleRate || OPUS.sampleRate,
        numberOfChannels: meta?.audioNumberOfChannels || OPUS.numberOfChannels,
      });
    }
    try {
      this.decoder.decode(
        new EncodedAudioChunk({
          type: "key",
          timestamp: Math.round(media.timestamp * 1000),
          data: media.data,
        }),
      );
    } catch {
      this.decodeErrors++;
    }
  }

  #play(data: AudioData): void {
    this.frames++;
    const samples = new Float32Array(data.numberOfFrames);
    try {
      data.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
      this.playout.push(this.key, resample(samples, data.sampleRate, OPUS.sampleRate));
    } catch {
      this.decodeErrors++;
    }
    data.close();
  }

  /** Figures for the diagnostics panel. */
  stats(now: number): AudioStats {
    return {
      frames: this.frames,
      kbps: this.meter.read(now).kbps,
      decodeErrors: this.decodeErrors,
    };
  }

  close(): void {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.playout.remove(this.key);
  }
}

/**
 * Linear resampling to the playout rate (only for senders that do not send 48 kHz).
 *
 * @example
 * ```ts
 * import { resample } from "./audio_receiver.ts";
 *
 * const up = resample(new Float32Array([0, 1]), 24_000, 48_000);
 * if (up.length !== 4 || up[1] !== 0.5) throw new Error(String(up));
 * ```
 */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to || from <= 0) return samples;
  const out = new Float32Array(Math.round((samples.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, samples.length - 1);
    const t = x - i0;
    out[i] = samples[i0] * (1 - t) + samples[i1] * t;
  }
  return out;
}
