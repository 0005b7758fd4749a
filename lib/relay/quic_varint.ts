/**
 * QUIC variable-length integers (RFC 9000 §16), which WebTransport over HTTP/3 uses for its
 * stream headers: the top two bits of the first byte give the length (1, 2, 4 or 8 bytes).
 *
 * @example
 * ```ts
 * import { encodeQuicVarint, readQuicVarint } from "./quic_varint.ts";
 *
 * const bytes = encodeQuicVarint(0x54);
 * const read = readQuicVarint(bytes, 0);
 * if (read === undefined || read.value !== 0x54n || read.next !== 2) throw new Error();
 * ```
 *
 * @module
 */

/** Encodes `value` (0 to 2^62 - 1) in the shortest form. */
export function encodeQuicVarint(value: number | bigint): Uint8Array {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << 62n) throw new RangeError(`Cannot encode ${v} as a QUIC varint`);
  if (v < 64n) return new Uint8Array([Number(v)]);
  if (v < 16384n) return new Uint8Array([0x40 | Number(v >> 8n), Number(v & 0xffn)]);
  if (v < 1n << 30n) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, Number(v) | 0x80000000);
    return out;
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v | (3n << 62n));
  return out;
}

/** Reads a varint at `offset`; undefined when `bytes` ends before it does. */
export function readQuicVarint(
  bytes: Uint8Array,
  offset: number,
): { value: bigint; next: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const length = 1 << (bytes[offset] >> 6);
  if (offset + length > bytes.length) return undefined;
  let value = BigInt(bytes[offset] & 0x3f);
  for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(bytes[offset + i]);
  return { value, next: offset + length };
}
