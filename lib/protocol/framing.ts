/**
 * Length-prefixed packets on one long-lived stream: each packet is preceded by its length as a
 * 32-bit big-endian integer. Deno's WebTransport client cannot finish a stream (docs/PROTOCOL.md, "WebTransport on Deno"),
 * so a Deno client sends all its packets on one bidirectional stream in this framing instead of
 * one unidirectional stream per packet; the server accepts both.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader } from "./framing.ts";
 *
 * const reader = new FrameReader(1000);
 * const bytes = new Uint8Array([...encodeFrame(new Uint8Array([1, 2])), ...encodeFrame(new Uint8Array([3]))]);
 * const packets = [...reader.push(bytes.subarray(0, 3)), ...reader.push(bytes.subarray(3))];
 * if (packets.length !== 2 || packets[1][0] !== 3) throw new Error("not reassembled");
 * ```
 *
 * @module
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Prefixes `packet` with its length. */
export function encodeFrame(packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + packet.length);
  new DataView(out.buffer).setUint32(0, packet.length);
  out.set(packet, FRAME_HEADER_BYTES);
  return out;
}

/** A frame announced a length above the limit. */
export class FrameTooLargeError extends Error {
  override name = "FrameTooLargeError";
  readonly length: number;

  constructor(length: number, limit: number) {
    super(`Frame of ${length} bytes exceeds the limit of ${limit} bytes`);
    this.length = length;
  }
}

/**
 * Reassembles frames from stream chunks of any size. However the stream is cut — a frame
 * dribbled in byte by byte included — each byte is copied a bounded number of times, and the
 * memory held never runs ahead of the bytes received (a length prefix alone allocates nothing).
 */
export class FrameReader {
  readonly #maxBytes: number;
  /** The start of an unfinished frame (its header included), in `#buffer[0, #pending)`. */
  #buffer = new Uint8Array(0);
  #pending = 0;

  /** @param maxBytes Largest packet accepted; a larger length throws {@linkcode FrameTooLargeError}. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /** Adds a chunk and returns the packets it completes. */
  push(chunk: Uint8Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    let offset = 0;
    if (this.#pending > 0) {
      // First the frame begun in earlier chunks: its header, then the rest of it.
      if (this.#pending < FRAME_HEADER_BYTES) {
        offset = Math.min(FRAME_HEADER_BYTES - this.#pending, chunk.length);
        this.#keep(chunk.subarray(0, offset), FRAME_HEADER_BYTES);
        if (this.#pending < FRAME_HEADER_BYTES) return packets;
      }
      const length = this.#checked(readLength(this.#buffer, 0));
      const missing = FRAME_HEADER_BYTES + length - this.#pending;
      if (chunk.length - offset < missing) {
        this.#keep(chunk.subarray(offset), FRAME_HEADER_BYTES + length);
        return packets;
      }
      const packet = new Uint8Array(length);
      packet.set(this.#buffer.subarray(FRAME_HEADER_BYTES, this.#pending));
      packet.set(chunk.subarray(offset, offset + missing), this.#pending - FRAME_HEADER_BYTES);
      packets.push(packet);
      offset += missing;
      this.#pending = 0;
      // A large buffer goes with its frame; a small one serves the next.
      if (this.#buffer.length > RETAINED_BUFFER_BYTES) this.#buffer = new Uint8Array(0);
    }
    // Then whole frames straight from the chunk.
    while (chunk.length - offset >= FRAME_HEADER_BYTES) {
      const length = this.#checked(readLength(chunk, offset));
      if (chunk.length - offset - FRAME_HEADER_BYTES < length) break;
      packets.push(chunk.slice(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
      offset += FRAME_HEADER_BYTES + length;
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      const frameBytes = rest.length >= FRAME_HEADER_BYTES
        ? FRAME_HEADER_BYTES + readLength(rest, 0)
        : FRAME_HEADER_BYTES;
      this.#keep(rest, frameBytes);
    }
    return packets;
  }

  #checked(length: number): number {
    if (length > this.#maxBytes) throw new FrameTooLargeError(length, this.#maxBytes);
    return length;
  }

  // Appends a copy of `bytes` (the caller may reuse its chunk). The buffer at least doubles when
  // it grows, so copying stays linear, but never past `frameBytes`, the whole frame's size.
  #keep(bytes: Uint8Array, frameBytes: number): void {
    const needed = this.#pending + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(
        Math.max(needed, Math.min(frameBytes, Math.max(64, 2 * this.#buffer.length))),
      );
      grown.set(this.#buffer.subarray(0, this.#pending));
      this.#buffer = grown;
    }
    this.#buffer.set(bytes, this.#pending);
    this.#pending = needed;
  }
}

/** A pending buffer larger than this is let go once its frame is complete. */
const RETAINED_BUFFER_BYTES = 64 * 1024;

function readLength(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES).getUint32(0);
}
