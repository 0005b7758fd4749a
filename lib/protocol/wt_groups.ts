/**
 * Grouped WebTransport framing (docs/PROTOCOL.md, "Grouped streams and datagrams"): instead of one
 * QUIC stream per packet, media travels on long-lived unidirectional streams, one per track and
 * group of pictures, each opened at a key frame and carrying length-prefixed packets
 * (`framing.ts`); small packets that may be lost (audio, heartbeats, RTT probes) travel as
 * datagrams with a sequence number, so the receiver can count what the network lost.
 *
 * Both kinds are marked by a first byte of 0, which no serialized PacketWrapper can start with
 * (protobuf has no field 0), so a receiver tells them apart from videocall-rs's one packet per
 * stream or datagram without being told. A server sends grouped streams and sequenced datagrams
 * only to a session that asked for them ({@linkcode FRAMING_PARAM}); a client sends them only to a
 * server that advertises {@linkcode GROUPED_FRAMING}.
 *
 * @example
 * ```ts
 * import { DatagramLoss, encodeDatagram, encodeGroupHeader, readDatagram, readGroupHeader } from "./wt_groups.ts";
 *
 * const header = readGroupHeader(encodeGroupHeader(7));
 * if (header?.track !== 7 || header.next !== 5) throw new Error("track lost");
 * const loss = new DatagramLoss();
 * for (const seq of [0, 1, 4]) loss.note(readDatagram(encodeDatagram(seq, new Uint8Array([8])))!.seq);
 * if (loss.received !== 3 || loss.lost !== 2) throw new Error("two datagrams went missing");
 * ```
 *
 * @module
 */

/** The query parameter a client adds to its WebTransport URL to receive grouped framing. */
export const FRAMING_PARAM = "framing";
/** Its value, and the name servers list in `GET /api/v1/webtransport`'s `framings`. */
export const GROUPED_FRAMING = "groups";

/** First byte of a grouped stream (after WebTransport's own stream header) and of a datagram. */
export const GROUPED_MARK = 0;
/** Bytes of a grouped stream's header: the mark and the track as a 32-bit big-endian integer. */
export const GROUP_HEADER_BYTES = 5;
/** Bytes before the packet in a sequenced datagram: the mark and a 16-bit sequence number. */
export const DATAGRAM_HEADER_BYTES = 3;

/** The track of the long-lived stream that carries control packets (never replaced by a group). */
export const CONTROL_TRACK = 0;

/**
 * A client's upstream track for a media kind (videocall-rs MediaKind: 1 video, 2 audio, 3 screen)
 * and simulcast layer (0–7): every layer is its own track, so a key frame of one layer never ends
 * another layer's group.
 */
export function upstreamTrack(mediaKind: number, layer: number): number {
  return 1 + mediaKind * 8 + layer;
}

/** The header that starts a grouped stream of `track`. */
export function encodeGroupHeader(track: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(GROUP_HEADER_BYTES);
  out[0] = GROUPED_MARK;
  new DataView(out.buffer).setUint32(1, track);
  return out;
}

/**
 * Reads a grouped stream's header from the stream's first bytes: its track and where the frames
 * begin; undefined while fewer than {@linkcode GROUP_HEADER_BYTES} bytes are there. Callers check
 * the mark first ({@linkcode isGrouped}).
 */
export function readGroupHeader(bytes: Uint8Array): { track: number; next: number } | undefined {
  if (bytes.length < GROUP_HEADER_BYTES) return undefined;
  const track = new DataView(bytes.buffer, bytes.byteOffset, GROUP_HEADER_BYTES).getUint32(1);
  return { track, next: GROUP_HEADER_BYTES };
}

/** Whether a stream's or datagram's first byte marks grouped framing. */
export function isGrouped(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === GROUPED_MARK;
}

/**
 * A packet as a sequenced datagram, after `prefix` (a server writing datagrams on the QUIC
 * connection itself puts WebTransport's session prefix there).
 */
export function encodeDatagram(
  seq: number,
  packet: Uint8Array,
  prefix?: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const at = prefix?.length ?? 0;
  const out = new Uint8Array(at + DATAGRAM_HEADER_BYTES + packet.length);
  if (prefix) out.set(prefix);
  out[at] = GROUPED_MARK;
  out[at + 1] = (seq >> 8) & 0xff;
  out[at + 2] = seq & 0xff;
  out.set(packet, at + DATAGRAM_HEADER_BYTES);
  return out;
}

/** A sequenced datagram's number and packet (a view); undefined when it is not one. */
export function readDatagram(bytes: Uint8Array): { seq: number; packet: Uint8Array } | undefined {
  if (bytes.length < DATAGRAM_HEADER_BYTES || bytes[0] !== GROUPED_MARK) return undefined;
  return {
    seq: (bytes[1] << 8) | bytes[2],
    packet: bytes.subarray(DATAGRAM_HEADER_BYTES),
  };
}

const SEQ_SPACE = 1 << 16;
const HALF_SPACE = SEQ_SPACE / 2;

/** Numbers outgoing datagrams, wrapping at 2^16. */
export class DatagramSequence {
  #next = 0;

  /** The number for the next datagram. */
  next(): number {
    const seq = this.#next;
    this.#next = (seq + 1) % SEQ_SPACE;
    return seq;
  }
}

/**
 * Counts datagrams received and lost from their sequence numbers: a jump forward counts the
 * numbers skipped as lost; a late one (reordered) takes one back. A jump of half the number space
 * or more is taken as a late datagram, not as 32,768 losses.
 */
export class DatagramLoss {
  received = 0;
  lost = 0;
  #expected: number | undefined;

  /** Notes a received datagram's number. */
  note(seq: number): void {
    this.received++;
    if (this.#expected === undefined) {
      this.#expected = (seq + 1) % SEQ_SPACE;
      return;
    }
    const ahead = (seq - this.#expected + SEQ_SPACE) % SEQ_SPACE;
    if (ahead < HALF_SPACE) {
      this.lost += ahead;
      this.#expected = (seq + 1) % SEQ_SPACE;
    } else if (this.lost > 0) {
      this.lost--;
    }
  }
}
