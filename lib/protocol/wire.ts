/**
 * Hot-path helpers for the relay: building a {@linkcode PacketWrapper} from a pre-encoded
 * identity and a payload in one allocation, without going through the generic codec.
 *
 * @example Stamp a payload with a sender's identity
 * ```ts
 * import { encodeIdentity, encodeStampedPacket } from "./wire.ts";
 * import { decodePacketWrapper } from "./codec.ts";
 * import { PacketType } from "./packets.ts";
 *
 * const identity = encodeIdentity("alice", 7n);
 * const bytes = encodeStampedPacket(0, PacketType.MEDIA, identity, new Uint8Array([1, 2]));
 * const decoded = decodePacketWrapper(bytes);
 * if (!decoded.ok || decoded.value.sessionId !== 7n) throw new Error("not stamped");
 * ```
 *
 * @module
 */
import type { PacketWrapper } from "./packets.ts";

const encoder = new TextEncoder();

/** Number of bytes `value` takes as a protobuf varint. */
export function varintLength(value: number | bigint): number {
  if (typeof value === "number" && value >= 0 && value < 0x80000000) {
    return value < 0x80
      ? 1
      : value < 0x4000
      ? 2
      : value < 0x200000
      ? 3
      : value < 0x10000000
      ? 4
      : 5;
  }
  let v = BigInt.asUintN(64, BigInt(value));
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** Writes `value` as a protobuf varint at `offset`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number | bigint): number {
  if (typeof value === "number" && value < 0x80000000 && value >= 0) {
    let v = value;
    while (v >= 0x80) {
      buf[offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[offset++] = v;
    return offset;
  }
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    buf[offset++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[offset++] = Number(v);
  return offset;
}

/**
 * Pre-encodes the `user_id` (field 2) and `session_id` (field 4) of a PacketWrapper, so that
 * every packet of one session is stamped by copying these bytes.
 */
export function encodeIdentity(userId: string | Uint8Array, sessionId: bigint): Uint8Array {
  const user = typeof userId === "string" ? encoder.encode(userId) : userId;
  const size = (user.length > 0 ? 1 + varintLength(user.length) + user.length : 0) +
    (sessionId !== 0n ? 1 + varintLength(sessionId) : 0);
  const out = new Uint8Array(size);
  let o = 0;
  if (user.length > 0) {
    out[o++] = (2 << 3) | 2;
    o = writeVarint(out, o, user.length);
    out.set(user, o);
    o += user.length;
  }
  if (sessionId !== 0n) {
    out[o++] = 4 << 3;
    o = writeVarint(out, o, sessionId);
  }
  return out;
}

/** The clear fields a relayed MEDIA packet keeps on its wrapper (each 0 when absent). */
export interface ClearMediaFields {
  /** Simulcast layer (wrapper field 5). */
  layer?: number;
  /** Media kind (field 6). */
  kind?: number;
  /** Audio level plus one (field 100). */
  audioLevel?: number;
}

/**
 * Serializes a PacketWrapper of `packetType` carrying `identity` (from
 * {@linkcode encodeIdentity}) and `data`, after `prefixBytes` bytes left free for the caller
 * (the relay puts its bus header there). A MEDIA packet's clear fields (simulcast layer, media
 * kind, audio level) travel on when not 0. Returns the whole buffer.
 */
export function encodeStampedPacket(
  prefixBytes: number,
  packetType: number,
  identity: Uint8Array,
  data: Uint8Array,
  clear: ClearMediaFields = {},
): Uint8Array {
  const layer = clear.layer ?? 0;
  const kind = clear.kind ?? 0;
  const level = clear.audioLevel ?? 0;
  const typeLength = packetType !== 0 ? 1 + varintLength(packetType) : 0;
  const dataLength = data.length > 0 ? 1 + varintLength(data.length) + data.length : 0;
  const layerLength = layer !== 0 ? 1 + varintLength(layer) : 0;
  const kindLength = kind !== 0 ? 1 + varintLength(kind) : 0;
  const levelLength = level !== 0 ? 2 + varintLength(level) : 0;
  const out = new Uint8Array(
    prefixBytes + typeLength + identity.length + dataLength + layerLength + kindLength +
      levelLength,
  );
  let o = prefixBytes;
  if (packetType !== 0) {
    out[o++] = 1 << 3;
    o = writeVarint(out, o, packetType);
  }
  out.set(identity, o);
  o += identity.length;
  if (data.length > 0) {
    out[o++] = (3 << 3) | 2;
    o = writeVarint(out, o, data.length);
    out.set(data, o);
    o += data.length;
  }
  if (layer !== 0) {
    out[o++] = 5 << 3;
    o = writeVarint(out, o, layer);
  }
  if (kind !== 0) {
    out[o++] = 6 << 3;
    o = writeVarint(out, o, kind);
  }
  if (level !== 0) {
    // Field 100, varint: the tag itself is a two-byte varint (100 << 3 = 800).
    o = writeVarint(out, o, 100 << 3);
    writeVarint(out, o, level);
  }
  return out;
}

/** Serializes a whole {@linkcode PacketWrapper} with the fast encoder. */
export function encodeWrapperFast(packet: PacketWrapper): Uint8Array {
  return encodeStampedPacket(
    0,
    packet.packetType,
    encodeIdentity(packet.userId, packet.sessionId),
    packet.data,
    { layer: packet.simulcastLayerId, kind: packet.mediaKind, audioLevel: packet.audioLevel },
  );
}
