/**
 * Codec names on the wire (videocall-rs's VideoCodec enum) and in WebCodecs.
 *
 * @module
 */
import { VideoCodec } from "../protocol/packets.ts";

/** WebCodecs codec string for VP9 profile 0, level 1.0, 8 bit (what the wire enum names). */
export const VP9_CODEC = "vp09.00.10.08";
/** WebCodecs codec string for VP8. */
export const VP8_CODEC = "vp8";

/** The WebCodecs codec string for a wire codec value, or undefined if we cannot decode it. */
export function webCodecFor(codec: number): string | undefined {
  switch (codec) {
    case VideoCodec.VP9_PROFILE0_LEVEL10_8BIT:
      return VP9_CODEC;
    case VideoCodec.VP8:
    case VideoCodec.UNSPECIFIED: // videocall-rs's first clients sent VP8 without saying so
      return VP8_CODEC;
    default:
      return undefined;
  }
}

/** The wire codec value for a WebCodecs codec string. */
export function wireCodecFor(codec: string): number {
  return codec.startsWith("vp09") ? VideoCodec.VP9_PROFILE0_LEVEL10_8BIT : VideoCodec.VP8;
}

/** Opus at 48 kHz, mono, 20 ms frames: what every client sends. */
export const OPUS = { codec: "opus", sampleRate: 48_000, numberOfChannels: 1, frameMs: 20 };
