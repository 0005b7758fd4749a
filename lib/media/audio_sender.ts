/**
 * Microphone → `AudioEncoder` (Opus, 20 ms frames) → media packets, with the speaking flag
 * computed from the captured level, and each packet labelled with that level in the clear (as
 * RFC 6464 does for RTP) so the relay can rank speakers without reading the audio. Muting stops encoding (nothing is sent) but keeps the
 * track, so unmuting is instant.
 *
 * Browser only.
 *
 * @module
 */
import { MediaType } from "../protocol/packets.ts";
import { audioFrames, canCaptureAudio } from "./audio_capture.ts";
import { OPUS } from "./codecs.ts";
import { levelDbov, rms, SpeakingDetector } from "./speaking.ts";
import type { SendMedia } from "./video_sender.ts";

/** How to run an {@linkcode AudioSender}. */
export interface AudioSenderOptions {
  track: MediaStreamTrack;
  send: SendMedia;
  /** Called when the speaking flag changes. */
  onSpeaking?: (speaking: boolean) => void;
  /** The stream's sequence counter, shared by successive senders (device switch). */
  sequence?: { next: number };
  /** Called once when the encoder keeps failing and sending stops. */
  onFailure?: (message: string) => void;
}

/** Encoder failures in a row after which the sender gives up. */
const MAX_ENCODER_FAILURES = 3;

/** Sends one microphone track. */
export class AudioSender {
  readonly options: AudioSenderOptions;
  readonly #speaking = new SpeakingDetector();
  #encoder: AudioEncoder | undefined;
  #reader: ReadableStreamDefaultReader<AudioData> | undefined;
  #sequence: { next: number };
  #stopped = false;
  #failures = 0;
  #format = "";
  #rate: number = OPUS.sampleRate;
  #channels: number = OPUS.numberOfChannels;
  #captureTimes = new Map<number, number>();
  /** When false, nothing is encoded or sent. */
  enabled = true;
  /** The last captured level (RMS, 0..1), for a meter. */
  level = 0;
  readonly stats = { framesEncoded: 0, bytes: 0, encodeErrors: 0 };

  constructor(options: AudioSenderOptions) {
    this.options = options;
    this.#sequence = options.sequence ?? { next: 0 };
  }

  /**
   * Starts pulling and encoding (lib/media/audio_capture.ts: a track processor, or an AudioWorklet
   * where there is none); false when this browser cannot capture audio frames.
   */
  start(): boolean {
    if (!canCaptureAudio()) return false;
    this.#reader = audioFrames(this.options.track).getReader();
    this.#pump(this.#reader).catch(() => {});
    return true;
  }

  // Configured from the first captured chunk: a microphone may not give the 48 kHz mono asked
  // for, and Opus takes other rates and channel counts as they come.
  #newEncoder(sampleRate: number, channels: number): AudioEncoder | undefined {
    const encoder = new AudioEncoder({
      output: (chunk) => {
        this.#failures = 0;
        this.#output(chunk);
      },
      error: () => {
        this.stats.encodeErrors++;
        this.#encoder = undefined;
        this.#format = "";
        if (++this.#failures === MAX_ENCODER_FAILURES) {
          this.options.onFailure?.(
            "Your microphone's audio cannot be encoded; others cannot hear you.",
          );
        }
      },
    });
    this.#rate = sampleRate;
    this.#channels = channels;
    try {
      encoder.configure({
        codec: OPUS.codec,
        sampleRate,
        numberOfChannels: channels,
        bitrate: 32_000,
        opus: { frameDuration: OPUS.frameMs * 1000, complexity: 5, usedtx: false },
      } as AudioEncoderConfig);
    } catch {
      this.stats.encodeErrors++;
      this.#failures++;
      return undefined;
    }
    return encoder;
  }

  async #pump(reader: ReadableStreamDefaultReader<AudioData>): Promise<void> {
    let samples = new Float32Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.#stopped) {
        value?.close();
        return;
      }
      const now = performance.now();
      if (samples.length !== value.numberOfFrames) samples = new Float32Array(value.numberOfFrames);
      try {
        value.copyTo(samples, { planeIndex: 0, format: "f32-planar" });
        this.level = rms(samples);
      } catch {
        this.level = 0;
      }
      if (!this.enabled) {
        if (this.#speaking.speaking) {
          this.#speaking.reset();
          this.options.onSpeaking?.(false);
        }
        value.close();
        continue;
      }
      if (this.#speaking.update(this.level, now)) {
        this.options.onSpeaking?.(this.#speaking.speaking);
      }
      const format = `${value.sampleRate}/${value.numberOfChannels}`;
      if (
        (this.#encoder === undefined || format !== this.#format) &&
        this.#failures < MAX_ENCODER_FAILURES
      ) {
        if (this.#encoder && this.#encoder.state !== "closed") this.#encoder.close();
        this.#encoder = this.#newEncoder(value.sampleRate, value.numberOfChannels);
        this.#format = format;
      }
      const encoder = this.#encoder;
      if (encoder && encoder.state === "configured") {
        this.#captureTimes.set(value.timestamp, performance.timeOrigin + now);
        if (this.#captureTimes.size > 200) {
          this.#captureTimes.delete(this.#captureTimes.keys().next().value!);
        }
        try {
          encoder.encode(value);
        } catch {
          this.stats.encodeErrors++;
        }
      }
      value.close();
    }
  }

  #output(chunk: EncodedAudioChunk): void {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    // Opus frames span several captured chunks; the nearest earlier capture time is close enough.
    let captured = Date.now();
    for (const [ts, wall] of this.#captureTimes) {
      if (ts <= chunk.timestamp) captured = wall;
      else break;
    }
    const sent = this.options.send({
      mediaType: MediaType.AUDIO,
      data,
      frameType: "key",
      timestamp: captured,
      duration: OPUS.frameMs,
      audioMetadata: {
        audioFormat: "opus",
        audioNumberOfChannels: this.#channels,
        audioNumberOfFrames: (this.#rate * OPUS.frameMs) / 1000,
        audioSampleRate: this.#rate,
        sequence: BigInt(this.#sequence.next++),
      },
    }, { audioLevel: levelDbov(this.level) });
    if (sent) {
      this.stats.framesEncoded++;
      this.stats.bytes += data.length;
    }
  }

  /** Whether the microphone is being heard as speech. */
  get speaking(): boolean {
    return this.#speaking.speaking;
  }

  stop(): void {
    this.#stopped = true;
    this.#reader?.cancel().catch(() => {});
    if (this.#encoder && this.#encoder.state !== "closed") this.#encoder.close();
    this.#encoder = undefined;
  }
}
