/**
 * Reads one client stream of a WebTransport session, whatever it carries: WebTransport's stream
 * header (type 0x54 unidirectional or 0x41 bidirectional, then the session id, both QUIC
 * varints), and then
 * - on a unidirectional stream, either one packet up to the stream's end (videocall-rs's
 *   convention) or, after the grouped mark, a track and length-prefixed packets
 *   (`../protocol/wt_groups.ts`);
 * - on a bidirectional stream, length-prefixed packets (Deno clients, which cannot end a stream).
 *
 * Streams of another type are HTTP/3's own (control, QPACK): their bytes are ignored. Pure logic,
 * no I/O, so that the fuzz suite can feed it anything.
 *
 * @example
 * ```ts
 * import { WtStreamParser } from "./wt_stream_parser.ts";
 * import { encodeFrame } from "../protocol/framing.ts";
 * import { encodeGroupHeader } from "../protocol/wt_groups.ts";
 *
 * const parser = new WtStreamParser(false, 1000);
 * const bytes = [0x40, 0x54, 0x00, ...encodeGroupHeader(9), ...encodeFrame(new Uint8Array([1, 2]))];
 * const packets = parser.push(new Uint8Array(bytes));
 * if (parser.kind !== "grouped" || parser.track !== 9 || packets.length !== 1) throw new Error();
 * ```
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";
import { FrameReader, FrameTooLargeError } from "../protocol/framing.ts";
import { GROUPED_MARK, readGroupHeader } from "../protocol/wt_groups.ts";
import { readQuicVarint } from "./quic_varint.ts";

// WebTransport stream types (draft-ietf-webtrans-http3).
const WT_UNI_STREAM = 0x54n;
const WT_BIDI_STREAM = 0x41n;

/** What a stream turned out to be; `pending` until its first bytes say. */
export type StreamKind = "pending" | "http3" | "single" | "grouped" | "framed";

/** A stream's packet is larger than the relay accepts. */
export class StreamTooLargeError extends FrameTooLargeError {
  override name = "StreamTooLargeError";

  constructor(length: number, limit: number) {
    super(length, limit);
    this.message = `Stream of more than ${limit} bytes exceeds the packet limit`;
  }
}

/** The parser of one stream. */
export class WtStreamParser {
  readonly #bidirectional: boolean;
  readonly #maxBytes: number;
  #kind: StreamKind = "pending";
  // Bytes of the headers seen so far, while they are incomplete.
  #head: Uint8Array = new Uint8Array(0);
  #sessionId: bigint | undefined;
  #track: number | undefined;
  #frames: FrameReader | undefined;
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** @param maxBytes Largest packet accepted. */
  constructor(bidirectional: boolean, maxBytes: number) {
    this.#bidirectional = bidirectional;
    this.#maxBytes = maxBytes;
  }

  /** What the stream is, as far as its bytes tell yet. */
  get kind(): StreamKind {
    return this.#kind;
  }

  /** The WebTransport session id its header named (once read). */
  get sessionId(): bigint | undefined {
    return this.#sessionId;
  }

  /** A grouped stream's track (once read). */
  get track(): number | undefined {
    return this.#track;
  }

  /**
   * Bytes received that do not yet make a packet: a frame begun, or a single-packet stream's
   * bytes so far. A stream that keeps some for long is stalling.
   */
  get pendingBytes(): number {
    if (this.#frames) return this.#frames.pendingBytes;
    return this.#kind === "single" ? this.#size : this.#head.length;
  }

  /**
   * Adds a chunk; returns the packets it completes (a single-packet stream's packet comes from
   * {@linkcode WtStreamParser.end}). Throws {@linkcode FrameTooLargeError} (or its subclass
   * {@linkcode StreamTooLargeError}) when a packet exceeds the limit.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#kind === "pending") {
      chunk = this.#readHeaders(chunk);
      if (this.#kind === "pending") return [];
    }
    switch (this.#kind) {
      case "http3":
        return [];
      case "single":
        this.#size += chunk.length;
        if (this.#size > this.#maxBytes) {
          throw new StreamTooLargeError(this.#size, this.#maxBytes);
        }
        if (chunk.length > 0) this.#chunks.push(chunk);
        return [];
      default:
        return chunk.length === 0 ? [] : this.#frames!.push(chunk);
    }
  }

  /**
   * The stream ended: a single-packet stream's packet (undefined for other kinds, which deliver
   * as they go, and for a stream that ended inside its headers).
   */
  end(): Uint8Array | undefined {
    if (this.#kind !== "single") return undefined;
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks.length === 1 ? chunks[0] : concatBytes(chunks, this.#size);
  }

  // Consumes header bytes; returns what follows them once they are complete.
  #readHeaders(chunk: Uint8Array): Uint8Array {
    const head = this.#head.length === 0 ? chunk : concatBytes([this.#head, chunk]);
    const type = readQuicVarint(head, 0);
    if (type === undefined) return this.#wait(head);
    if (type.value !== (this.#bidirectional ? WT_BIDI_STREAM : WT_UNI_STREAM)) {
      this.#kind = "http3";
      this.#head = new Uint8Array(0);
      return new Uint8Array(0);
    }
    const id = readQuicVarint(head, type.next);
    if (id === undefined) return this.#wait(head);
    this.#sessionId = id.value;
    let next = id.next;
    if (this.#bidirectional) {
      this.#kind = "framed";
    } else {
      if (next >= head.length) return this.#wait(head);
      if (head[next] === GROUPED_MARK) {
        const group = readGroupHeader(head.subarray(next));
        if (group === undefined) return this.#wait(head);
        this.#track = group.track;
        next += group.next;
        this.#kind = "grouped";
      } else {
        this.#kind = "single";
      }
    }
    if (this.#kind !== "single") this.#frames = new FrameReader(this.#maxBytes);
    this.#head = new Uint8Array(0);
    return head.subarray(next);
  }

  #wait(head: Uint8Array): Uint8Array {
    // Headers are a few bytes; a peer that dribbles more without completing them is refused.
    if (head.length > 64) throw new StreamTooLargeError(head.length, 64);
    this.#head = head === this.#head ? head : head.slice();
    return new Uint8Array(0);
  }
}
