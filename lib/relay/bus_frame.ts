/**
 * The frame one relay instance publishes for the others on a participant subject: a fixed
 * header with what the receiving instance needs for fan-out and selective forwarding, followed
 * by the already stamped PacketWrapper, which goes to clients byte for byte.
 *
 * ```
 * offset 0   u8   version (2; version 1 frames, without the last four fields, are still read)
 * offset 1   u8   packet class (see packet_class.ts)
 * offset 2   u64  sender session id, big-endian
 * offset 10  u64  target session id, big-endian (0 = everyone in the room but the sender)
 * offset 18  u8   media type of a MEDIA packet (0 otherwise)
 * offset 19  u8   simulcast layer
 * offset 20  u8   media kind (videocall-rs's MediaKind; 0 unspecified)
 * offset 21  u8   audio level plus one (0: not given)
 * offset 22  ...  PacketWrapper
 * ```
 *
 * @example
 * ```ts
 * import { BUS_HEADER_BYTES, readBusFrame, writeBusHeader } from "./bus_frame.ts";
 *
 * const frame = new Uint8Array(BUS_HEADER_BYTES + 2);
 * writeBusHeader(frame, 5, 9n, 0n, { mediaType: 1, layer: 2, kind: 1, audioLevel: 0 });
 * const parsed = readBusFrame(frame);
 * if (parsed === undefined || parsed.sender !== 9n || parsed.media.layer !== 2) throw new Error();
 * ```
 *
 * @module
 */
import type { PacketClass } from "./packet_class.ts";

/** Size of the header before the PacketWrapper. */
export const BUS_HEADER_BYTES = 22;
const VERSION = 2;
const V1_HEADER_BYTES = 18;
const MAX_CLASS = 6;

/** What forwarding decisions read of a MEDIA packet (all 0 for other packets). */
export interface MediaInfo {
  mediaType: number;
  layer: number;
  kind: number;
  /** Audio level plus one; 0 when the sender did not say. */
  audioLevel: number;
}

/** Media info of a packet that is not MEDIA (or of unknown media). */
export const NO_MEDIA: Readonly<MediaInfo> = { mediaType: 0, layer: 0, kind: 0, audioLevel: 0 };

/** A parsed frame; `packet` is a view into the frame. */
export interface BusFrame {
  cls: PacketClass;
  sender: bigint;
  target: bigint;
  media: MediaInfo;
  packet: Uint8Array;
}

/** Writes the header into the first {@linkcode BUS_HEADER_BYTES} bytes of `frame`. */
export function writeBusHeader(
  frame: Uint8Array,
  cls: PacketClass,
  sender: bigint,
  target: bigint,
  media: MediaInfo = NO_MEDIA,
): void {
  const view = new DataView(frame.buffer, frame.byteOffset, BUS_HEADER_BYTES);
  view.setUint8(0, VERSION);
  view.setUint8(1, cls);
  view.setBigUint64(2, sender);
  view.setBigUint64(10, target);
  view.setUint8(18, Math.min(255, media.mediaType));
  view.setUint8(19, Math.min(255, media.layer));
  view.setUint8(20, Math.min(255, media.kind));
  view.setUint8(21, Math.min(255, media.audioLevel));
}

/** Parses a frame, or returns undefined if it is not one of ours. */
export function readBusFrame(frame: Uint8Array): BusFrame | undefined {
  if (frame.length < V1_HEADER_BYTES) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
  const version = view.getUint8(0);
  const raw = view.getUint8(1);
  if (raw > MAX_CLASS) return undefined;
  const cls = raw as PacketClass;
  const sender = view.getBigUint64(2);
  const target = view.getBigUint64(10);
  if (version === 1) {
    return { cls, sender, target, media: NO_MEDIA, packet: frame.subarray(V1_HEADER_BYTES) };
  }
  if (version !== VERSION || frame.length < BUS_HEADER_BYTES) return undefined;
  return {
    cls,
    sender,
    target,
    media: {
      mediaType: view.getUint8(18),
      layer: view.getUint8(19),
      kind: view.getUint8(20),
      audioLevel: view.getUint8(21),
    },
    packet: frame.subarray(BUS_HEADER_BYTES),
  };
}
