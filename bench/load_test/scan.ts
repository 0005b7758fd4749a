/**
 * Reading what a load participant needs of a received packet without decoding it whole: the
 * wrapper's type, sender session and simulcast layer, and the media packet's type, capture
 * timestamp and sequence number. A participant of a 1,000-person meeting receives thousands of
 * packets a second; the full decoder (`lib/protocol/codec.ts`) would cost the generator more
 * than the server spends relaying them.
 *
 * @example
 * ```ts
 * import { scanMedia, scanWrapper } from "./scan.ts";
 * import { encodeMediaPacket, encodePacketWrapper } from "../../lib/protocol/codec.ts";
 *
 * const data = encodeMediaPacket({
 *   mediaType: 1, userId: new Uint8Array(0), data: new Uint8Array(3), frameType: "key",
 *   timestamp: 1234.5, duration: 33, videoMetadata: { sequence: 42n, codec: 2 },
 * });
 * const bytes = encodePacketWrapper({
 *   packetType: 3, userId: new Uint8Array(0), data, sessionId: 77n, simulcastLayerId: 2,
 * });
 * const w = scanWrapper(bytes)!;
 * const m = scanMedia(bytes, w.dataStart, w.dataEnd)!;
 * if (w.sessionId !== 77n || w.layer !== 2 || m.timestamp !== 1234.5 || m.sequence !== 42) {
 *   throw new Error(JSON.stringify({ ...w, sessionId: String(w.sessionId), ...m }));
 * }
 * ```
 *
 * @module
 */

/** What {@linkcode scanWrapper} reads. */
export interface WrapperScan {
  packetType: number;
  sessionId: bigint;
  layer: number;
  dataStart: number;
  dataEnd: number;
}

/** What {@linkcode scanMedia} reads. */
export interface MediaScan {
  mediaType: number;
  timestamp: number;
  /** The video or audio sequence number (-1 when absent). */
  sequence: number;
}

let view: DataView | undefined;

function varint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  return [-1, -1];
}

function bigVarint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i];
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [value, i + 1];
    shift += 7n;
  }
  return [-1n, -1];
}

// Skips a field's value of wire type `type` at `at`; -1 when malformed.
function skip(bytes: Uint8Array, at: number, type: number): number {
  switch (type) {
    case 0:
      return varint(bytes, at)[1];
    case 1:
      return at + 8 <= bytes.length ? at + 8 : -1;
    case 2: {
      const [length, next] = varint(bytes, at);
      return next < 0 || next + length > bytes.length ? -1 : next + length;
    }
    case 5:
      return at + 4 <= bytes.length ? at + 4 : -1;
    default:
      return -1;
  }
}

/** The wrapper's fields a load participant reads; undefined when malformed. */
export function scanWrapper(bytes: Uint8Array): WrapperScan | undefined {
  const out: WrapperScan = { packetType: 0, sessionId: 0n, layer: 0, dataStart: 0, dataEnd: 0 };
  let at = 0;
  while (at < bytes.length) {
    const [tag, next] = varint(bytes, at);
    if (next < 0) return undefined;
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 1 && type === 0) {
      [out.packetType, at] = varint(bytes, next);
    } else if (field === 4 && type === 0) {
      [out.sessionId, at] = bigVarint(bytes, next);
    } else if (field === 5 && type === 0) {
      [out.layer, at] = varint(bytes, next);
    } else if (field === 3 && type === 2) {
      const [length, start] = varint(bytes, next);
      if (start < 0 || start + length > bytes.length) return undefined;
      out.dataStart = start;
      out.dataEnd = start + length;
      at = out.dataEnd;
    } else {
      at = skip(bytes, next, type);
    }
    if (at < 0) return undefined;
  }
  return out;
}

/** The media packet's fields in `bytes[start, end)`; undefined when malformed. */
export function scanMedia(bytes: Uint8Array, start: number, end: number): MediaScan | undefined {
  const out: MediaScan = { mediaType: 0, timestamp: 0, sequence: -1 };
  let at = start;
  while (at < end) {
    const [tag, next] = varint(bytes, at);
    if (next < 0) return undefined;
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 1 && type === 0) {
      [out.mediaType, at] = varint(bytes, next);
    } else if (field === 5 && type === 1) {
      if (next + 8 > end) return undefined;
      if (view?.buffer !== bytes.buffer) view = new DataView(bytes.buffer);
      out.timestamp = view.getFloat64(bytes.byteOffset + next, true);
      at = next + 8;
    } else if ((field === 7 || field === 8) && type === 2) {
      // Audio (7) and video (8) metadata: the sequence is field 5 and field 1 inside.
      const [length, inner] = varint(bytes, next);
      if (inner < 0 || inner + length > end) return undefined;
      const wanted = field === 7 ? 5 : 1;
      let i = inner;
      while (i < inner + length) {
        const [t, n] = varint(bytes, i);
        if (n < 0) return undefined;
        if (Math.floor(t / 8) === wanted && (t & 7) === 0) {
          [out.sequence, i] = varint(bytes, n);
        } else {
          i = skip(bytes, n, t & 7);
        }
        if (i < 0) return undefined;
      }
      at = inner + length;
    } else {
      at = skip(bytes, next, type);
    }
    if (at < 0) return undefined;
  }
  return out;
}
