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

/** Reassembles frames from stream chunks of any size. */
export class FrameReader {
  readonly #maxBytes: number;
  #buffer = new Uint8Array(0);

  /** @param maxBytes Largest packet accepted; a larger length throws {@linkcode FrameTooLargeError}. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.#buffer.length;
  }

  /** Adds a chunk and returns the packets it completes. */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf = chunk;
    if (this.#buffer.length > 0) {
      buf = new Uint8Array(this.#buffer.length + chunk.length);
      buf.set(this.#buffer);
      buf.set(chunk, this.#buffer.length);
    }
    const packets: Uint8Array[] = [];
    let offset = 0;
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const length = new DataView(buf.buffer, buf.byteOffset + offset, 4).getUint32(0);
      if (length > this.#maxBytes) throw new FrameTooLargeError(length, this.#maxBytes);
      if (buf.length - offset - FRAME_HEADER_BYTES < length) break;
      packets.push(buf.slice(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length));
      offset += FRAME_HEADER_BYTES + length;
    }
    this.#buffer = buf.slice(offset);
    return packets;
  }
}
