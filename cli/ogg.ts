/**
 * Ogg, the container ffmpeg writes Opus into on a pipe: pages ("OggS", version 0, flags, granule
 * position, stream serial, page sequence, CRC-32, segment table, body) whose segments join into
 * packets — for Opus, an OpusHead, an OpusTags, then one audio packet per frame.
 * {@linkcode OggReader} takes bytes as they come, checks each page's CRC and sequence, and hands
 * out whole packets; malformed input throws an {@linkcode OggError} that says what is wrong.
 *
 * @example
 * ```ts
 * import { OggReader, oggPage } from "./ogg.ts";
 *
 * const page = oggPage({ serial: 1, sequence: 0, granule: 0n, packets: [new Uint8Array([1, 2])] });
 * const packets = new OggReader().push(page);
 * if (packets.length !== 1 || packets[0].data.join() !== "1,2") throw new Error();
 * ```
 *
 * @module
 */
import { ByteQueue } from "./byte_queue.ts";
import { concatBytes } from "../lib/protocol/bytes.ts";

/** One packet, with what its page said. */
export interface OggPacket {
  data: Uint8Array;
  /** The granule position of the page the packet ends on. */
  granule: bigint;
  serial: number;
}

/** The input is not Ogg, or is broken. */
export class OggError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OggError";
  }
}

const HEADER_BYTES = 27;
/** Largest packet accepted (Opus packets are at most a few kB). */
export const MAX_OGG_PACKET_BYTES = 1024 * 1024;
const FLAG_CONTINUED = 0x01;

/** Reads Ogg pages from a byte stream. */
export class OggReader {
  readonly #queue = new ByteQueue();
  #partial: Uint8Array[] = [];
  #partialBytes = 0;
  #sequence = new Map<number, number>();

  /** Adds bytes; returns the packets now complete. Throws {@linkcode OggError}. */
  push(chunk: Uint8Array): OggPacket[] {
    this.#queue.push(chunk);
    const packets: OggPacket[] = [];
    for (;;) {
      const head = this.#queue.peek(HEADER_BYTES);
      if (head === undefined) return packets;
      if (head[0] !== 0x4f || head[1] !== 0x67 || head[2] !== 0x67 || head[3] !== 0x53) {
        throw new OggError('Not an Ogg page: the capture pattern "OggS" is missing');
      }
      if (head[4] !== 0) throw new OggError(`Unsupported Ogg version ${head[4]}`);
      const segments = head[26];
      const table = this.#queue.peek(HEADER_BYTES + segments);
      if (table === undefined) return packets;
      let bodyBytes = 0;
      for (let i = 0; i < segments; i++) bodyBytes += table[HEADER_BYTES + i];
      const pageBytes = HEADER_BYTES + segments + bodyBytes;
      if (this.#queue.length < pageBytes) return packets;
      const page = this.#queue.take(pageBytes)!.slice();
      this.#readPage(page, segments, packets);
    }
  }

  #readPage(page: Uint8Array, segments: number, packets: OggPacket[]): void {
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const flags = page[5];
    const granule = view.getBigInt64(6, true);
    const serial = view.getUint32(14, true);
    const sequence = view.getUint32(18, true);
    const crc = view.getUint32(22, true);
    view.setUint32(22, 0, true);
    const actual = crc32(page);
    if (actual !== crc) {
      throw new OggError(
        `Ogg page ${sequence} is corrupt: CRC ${hex32(crc)} in the page, ${hex32(actual)} computed`,
      );
    }
    const expected = this.#sequence.get(serial);
    if (expected !== undefined && sequence !== expected) {
      throw new OggError(`Ogg page ${expected} of stream ${serial} is missing (got ${sequence})`);
    }
    this.#sequence.set(serial, sequence + 1);
    if ((flags & FLAG_CONTINUED) === 0 && this.#partial.length > 0) {
      throw new OggError("An Ogg packet was cut off: the next page does not continue it");
    }
    let at = HEADER_BYTES + segments;
    for (let i = 0; i < segments; i++) {
      const size = page[HEADER_BYTES + i];
      this.#partial.push(page.subarray(at, at + size));
      this.#partialBytes += size;
      at += size;
      if (this.#partialBytes > MAX_OGG_PACKET_BYTES) {
        throw new OggError(`An Ogg packet is larger than ${MAX_OGG_PACKET_BYTES} bytes`);
      }
      if (size < 255) {
        packets.push({ data: concatBytes(this.#partial, this.#partialBytes), granule, serial });
        this.#partial = [];
        this.#partialBytes = 0;
      }
    }
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial value 0). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]) & 0xff]) >>> 0;
  }
  return crc;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** Builds one Ogg page holding whole `packets` (for tests and tools). */
export function oggPage(
  page: {
    serial: number;
    sequence: number;
    granule: bigint;
    packets: Uint8Array[];
    flags?: number;
  },
): Uint8Array {
  const lacing: number[] = [];
  for (const p of page.packets) {
    let n = p.length;
    while (n >= 255) {
      lacing.push(255);
      n -= 255;
    }
    lacing.push(n);
  }
  if (lacing.length > 255) throw new Error("Too many segments for one page");
  const body = page.packets.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(HEADER_BYTES + lacing.length + body);
  const view = new DataView(out.buffer);
  out.set([0x4f, 0x67, 0x67, 0x53, 0, page.flags ?? 0]);
  view.setBigInt64(6, page.granule, true);
  view.setUint32(14, page.serial, true);
  view.setUint32(18, page.sequence, true);
  out[26] = lacing.length;
  out.set(lacing, HEADER_BYTES);
  let at = HEADER_BYTES + lacing.length;
  for (const p of page.packets) {
    out.set(p, at);
    at += p.length;
  }
  view.setUint32(22, crc32(out), true);
  return out;
}
