/**
 * Priority classes of relayed packets, which decide what a congested receiver loses first.
 *
 * @module
 */
import { MediaType, PacketType } from "../protocol/packets.ts";

/**
 * A relayed packet's class. Lower numbers are dropped first; {@linkcode PacketClass.CONTROL}
 * never is. Camera video goes before screen share, delta frames before key frames, and all
 * video before heartbeats and audio.
 */
export const PacketClass = {
  VIDEO_DELTA: 0,
  SCREEN_DELTA: 1,
  VIDEO_KEY: 2,
  SCREEN_KEY: 3,
  INFO: 4,
  AUDIO: 5,
  CONTROL: 6,
} as const;
/** A {@linkcode PacketClass} value. */
export type PacketClass = typeof PacketClass[keyof typeof PacketClass];

/** Prometheus label for each class, indexed by value. */
export const PACKET_CLASS_NAMES = [
  "video_delta",
  "screen_delta",
  "video_key",
  "screen_key",
  "info",
  "audio",
  "control",
] as const;

/** Whether losing a packet of this class breaks the frames that follow it. */
export function isVideo(cls: PacketClass): boolean {
  return cls <= PacketClass.SCREEN_KEY;
}

/** Whether this class is a delta frame (useless once an earlier frame of its stream is lost). */
export function isDelta(cls: PacketClass): boolean {
  return cls === PacketClass.VIDEO_DELTA || cls === PacketClass.SCREEN_DELTA;
}

/**
 * Classifies a packet from its wrapper type and, for MEDIA, its media type and frame type.
 *
 * @example
 * ```ts
 * import { classify, PacketClass } from "./packet_class.ts";
 * import { MediaType, PacketType } from "../protocol/packets.ts";
 *
 * if (classify(PacketType.MEDIA, MediaType.AUDIO, "") !== PacketClass.AUDIO) throw new Error();
 * ```
 */
export function classify(packetType: number, mediaType: number, frameType: string): PacketClass {
  if (packetType !== PacketType.MEDIA) {
    return packetType === PacketType.DIAGNOSTICS ? PacketClass.INFO : PacketClass.CONTROL;
  }
  switch (mediaType) {
    case MediaType.AUDIO:
      return PacketClass.AUDIO;
    case MediaType.VIDEO:
      return frameType === "key" ? PacketClass.VIDEO_KEY : PacketClass.VIDEO_DELTA;
    case MediaType.SCREEN:
      return frameType === "key" ? PacketClass.SCREEN_KEY : PacketClass.SCREEN_DELTA;
    default:
      return PacketClass.INFO;
  }
}

/**
 * The class of media sealed whole by a videocall-rs client, known only by its clear kind: video
 * counts as a key frame (dropped after deltas, and never taken to break a stream), audio as audio.
 *
 * @example
 * ```ts
 * import { classifySealed, PacketClass } from "./packet_class.ts";
 *
 * if (classifySealed(2) !== PacketClass.AUDIO) throw new Error();
 * ```
 */
export function classifySealed(kind: number): PacketClass {
  switch (kind) {
    case 2:
      return PacketClass.AUDIO;
    case 3:
      return PacketClass.SCREEN_KEY;
    default:
      return PacketClass.VIDEO_KEY;
  }
}
