/**
 * IVF, the container ffmpeg writes VP8/VP9 into on a pipe: a 32-byte file header ("DKIF",
 * version 0, header size 32, the codec's FourCC, width, height, time base, frame count) and then
 * frames, each a 12-byte header (size, 64-bit timestamp, little-endian) and the frame's bytes.
 * {@linkcode IvfReader} takes the bytes as they come and hands out whole frames; malformed input
 * throws an {@linkcode IvfError} that says what is wrong.
 *
 * @example
 * ```ts
 * import { IvfReader } from "./ivf.ts";
 *
 * const header = new Uint8Array(32);
 * header.set([0x44, 0x4b, 0x49, 0x46, 0, 0, 32, 0, 0x56, 0x50, 0x39, 0x30]); // DKIF, v0, 32, VP90
 * const frame = new Uint8Array(12 + 3);
 * frame.set([3, 0, 0, 0, 7]); // 3 bytes at timestamp 7
 * const reader = new IvfReader();
 * const frames = [...reader.push(header), ...reader.push(frame)];
 * if (reader.header?.fourcc !== "VP90" || frames[0].timestamp !== 7n) throw new Error();
 * ```
 *
 * @module
 */
import { ByteQueue } from "./byte_queue.ts";

/** The file header. */
export interface IvfHeader {
  fourcc: string;
  width: number;
  height: number;
  /** Time base as a fraction: timestamps are in units of `timebaseNumerator/timebaseDenominator` s. */
  timebaseDenominator: number;
  timebaseNumerator: number;
}

/** One frame. */
export interface IvfFrame {
  timestamp: bigint;
  data: Uint8Array;
}

/** The input is not IVF, or is broken. */
export class IvfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IvfError";
  }
}

const FILE_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 12;
/** Largest frame accepted (a 4K key frame is well under this). */
export const MAX_IVF_FRAME_BYTES = 8 * 1024 * 1024;

/** Reads IVF from a byte stream. */
export class IvfReader {
  readonly #queue = new ByteQueue();
  header: IvfHeader | undefined;

  /** Adds bytes; returns the frames now complete. Throws {@linkcode IvfError}. */
  push(chunk: Uint8Array): IvfFrame[] {
    this.#queue.push(chunk);
    const frames: IvfFrame[] = [];
    if (this.header === undefined) {
      const head = this.#queue.take(FILE_HEADER_BYTES);
      if (head === undefined) return frames;
      this.header = parseHeader(head);
    }
    for (;;) {
      const fh = this.#queue.peek(FRAME_HEADER_BYTES);
      if (fh === undefined) return frames;
      const view = new DataView(fh.buffer, fh.byteOffset, fh.byteLength);
      const size = view.getUint32(0, true);
      if (size === 0 || size > MAX_IVF_FRAME_BYTES) {
        throw new IvfError(`IVF frame size ${size} is out of range (1..${MAX_IVF_FRAME_BYTES})`);
      }
      if (this.#queue.length < FRAME_HEADER_BYTES + size) return frames;
      const timestamp = view.getBigUint64(4, true);
      this.#queue.skip(FRAME_HEADER_BYTES);
      frames.push({ timestamp, data: this.#queue.take(size)!.slice() });
    }
  }

  /** Bytes received and not yet part of a whole frame. */
  get pending(): number {
    return this.#queue.length;
  }
}

function parseHeader(head: Uint8Array): IvfHeader {
  const text = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (text(0, 4) !== "DKIF") {
    throw new IvfError(`Not IVF: the stream starts with ${hex(head.subarray(0, 4))}, not "DKIF"`);
  }
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = view.getUint16(4, true);
  const size = view.getUint16(6, true);
  if (version !== 0 || size !== FILE_HEADER_BYTES) {
    throw new IvfError(`Unsupported IVF header: version ${version}, size ${size}`);
  }
  return {
    fourcc: text(8, 12),
    width: view.getUint16(12, true),
    height: view.getUint16(14, true),
    timebaseDenominator: view.getUint32(16, true),
    timebaseNumerator: view.getUint32(20, true),
  };
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Whether a VP8 frame is a key frame: bit 0 of the first byte is 0 for key frames (RFC 6386
 * §9.1), and a key frame carries the start code 9d 01 2a.
 */
export function isVp8KeyFrame(data: Uint8Array): boolean {
  return data.length >= 6 && (data[0] & 1) === 0 && data[3] === 0x9d && data[4] === 0x01 &&
    data[5] === 0x2a;
}

/**
 * Whether a VP9 frame is a key frame, from its uncompressed header (VP9 bitstream spec §6.2):
 * frame_marker (2 bits, 2), profile (2 bits, plus a reserved bit for profile 3),
 * show_existing_frame (1 bit), then frame_type (1 bit, 0 = key frame).
 */
export function isVp9KeyFrame(data: Uint8Array): boolean {
  if (data.length < 1) return false;
  const bits = new BitReader(data);
  if (bits.read(2) !== 2) return false;
  const profile = bits.read(1) | (bits.read(1) << 1);
  if (profile === 3) bits.read(1);
  if (bits.read(1) === 1) return false; // shows an existing frame: not a key frame
  return bits.read(1) === 0;
}

class BitReader {
  #bit = 0;
  constructor(readonly data: Uint8Array) {}
  read(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.#bit >> 3] ?? 0;
      value = (value << 1) | ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }
}
