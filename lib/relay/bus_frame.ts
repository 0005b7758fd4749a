/**
 * The frame one relay instance publishes for the others on a participant subject: a fixed
 * header the receiving instance needs for fan-out, followed by the already stamped
 * PacketWrapper, which goes to clients byte for byte.
 *
 * ```
 * offset 0   u8   version (1)
 * offset 1   u8   packet class (see packet_class.ts)
 * offset 2   u64  sender session id, big-endian
 * offset 10  u64  target session id, big-endian (0 = everyone in the room but the sender)
 * offset 18  ...  PacketWrapper
 * ```
 *
 * @example
 * ```ts
 * import { BUS_HEADER_BYTES, readBusFrame, writeBusHeader } from "./bus_frame.ts";
 *
 * const frame = new Uint8Array(BUS_HEADER_BYTES + 2);
 * writeBusHeader(frame, 5, 9n, 0n);
 * const parsed = readBusFrame(frame);
 * if (parsed === undefined || parsed.sender !== 9n || parsed.packet.length !== 2) throw new Error();
 * ```
 *
 * @module
 */
import type { PacketClass } from "./packet_class.ts";

/** Size of the header before the PacketWrapper. */
export const BUS_HEADER_BYTES = 18;
const VERSION = 1;
const MAX_CLASS = 6;

/** A parsed frame; `packet` is a view into the frame. */
export interface BusFrame {
  cls: PacketClass;
  sender: bigint;
  target: bigint;
  packet: Uint8Array;
}

/** Writes the header into the first {@linkcode BUS_HEADER_BYTES} bytes of `frame`. */
export function writeBusHeader(
  frame: Uint8Array,
  cls: PacketClass,
  sender: bigint,
  target: bigint,
): void {
  const view = new DataView(frame.buffer, frame.byteOffset, BUS_HEADER_BYTES);
  view.setUint8(0, VERSION);
  view.setUint8(1, cls);
  view.setBigUint64(2, sender);
  view.setBigUint64(10, target);
}

/** Parses a frame, or returns undefined if it is not one of ours. */
export function readBusFrame(frame: Uint8Array): BusFrame | undefined {
  if (frame.length < BUS_HEADER_BYTES) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, BUS_HEADER_BYTES);
  const cls = view.getUint8(1);
  if (view.getUint8(0) !== VERSION || cls > MAX_CLASS) return undefined;
  return {
    cls: cls as PacketClass,
    sender: view.getBigUint64(2),
    target: view.getBigUint64(10),
    packet: frame.subarray(BUS_HEADER_BYTES),
  };
}
