/**
 * Pre-encoded media packets for load generation, and the receive-side reader of their send
 * time. Each template is one serialized PacketWrapper whose MediaPacket carries a fixed-width
 * `timestamp` (a double) and a fixed-width frame `sequence`; sending a packet patches those bytes
 * in place instead of encoding again.
 *
 * The sequence is written as a 5-byte varint (padded with continuation bits when the value is
 * small). Protobuf decoders accept such padded varints, and the fixed width keeps the layout of
 * every packet of a stream identical.
 *
 * @example
 * ```ts
 * import { readMediaSendTime, videoTemplate, wrapperData } from "./media_packets.ts";
 *
 * const template = videoTemplate("alice", true);
 * const bytes = template.stamp(1234.5, 7);
 * const media = wrapperData(bytes);
 * if (media === undefined || readMediaSendTime(media) !== 1234.5) throw new Error();
 * ```
 *
 * @module
 */
import {
  decodeMediaPacket,
  decodePacketWrapper,
  encodeMediaPacket,
} from "../lib/protocol/codec.ts";
import { MediaType, PacketType, VideoCodec } from "../lib/protocol/packets.ts";
import { encodeWrapperFast } from "../lib/protocol/wire.ts";

/** Payload bytes of one video packet. */
export const VIDEO_PAYLOAD_BYTES = 2048;
/** Payload bytes of one audio packet. */
export const AUDIO_PAYLOAD_BYTES = 100;
/** Every this many video frames is a key frame. */
export const KEYFRAME_INTERVAL_FRAMES = 30;

const SEQUENCE_BYTES = 5;
// The smallest value whose canonical varint takes SEQUENCE_BYTES bytes.
const SEQUENCE_PLACEHOLDER = 1n << 28n;
const SEQUENCE_MAX = 2 ** 35 - 1;
const VIDEO_FRAME_MS = 1000 / 30;
const AUDIO_FRAME_MS = 20;

const encoder = new TextEncoder();

// Protobuf wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** A field found by {@linkcode findField}: where its value starts and ends. */
interface FieldSpan {
  start: number;
  end: number;
}

function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  return [Number.NaN, bytes.length];
}

// The value span of the first `fieldNo` in bytes[start, end), or undefined.
function findField(
  bytes: Uint8Array,
  fieldNo: number,
  start = 0,
  end = bytes.length,
): FieldSpan | undefined {
  let o = start;
  while (o < end) {
    const [tag, afterTag] = readVarint(bytes, o);
    if (Number.isNaN(tag)) return undefined;
    const wireType = tag & 7;
    let valueEnd: number;
    let valueStart = afterTag;
    switch (wireType) {
      case VARINT:
        valueEnd = readVarint(bytes, afterTag)[1];
        break;
      case FIXED64:
        valueEnd = afterTag + 8;
        break;
      case LEN: {
        const [length, afterLength] = readVarint(bytes, afterTag);
        valueStart = afterLength;
        valueEnd = afterLength + length;
        break;
      }
      case FIXED32:
        valueEnd = afterTag + 4;
        break;
      default:
        return undefined;
    }
    if (!(valueEnd <= end)) return undefined;
    if (tag >>> 3 === fieldNo) return { start: valueStart, end: valueEnd };
    o = valueEnd;
  }
  return undefined;
}

/**
 * The `data` field of a serialized PacketWrapper (a view, not a copy), or undefined if there is
 * none.
 */
export function wrapperData(wrapper: Uint8Array): Uint8Array | undefined {
  const span = findField(wrapper, 3);
  return span === undefined ? undefined : wrapper.subarray(span.start, span.end);
}

/**
 * The `timestamp` of a serialized VIDEO or AUDIO MediaPacket; undefined for other media types
 * (heartbeats carry wall-clock time, not a send time of ours).
 */
export function readMediaSendTime(media: Uint8Array): number | undefined {
  // Field 1 (media_type) comes first in everything we encode: tag 0x08, one-byte value.
  if (media.length < 2 || media[0] !== 0x08) return undefined;
  if (media[1] !== MediaType.VIDEO && media[1] !== MediaType.AUDIO) return undefined;
  const span = findField(media, 5, 2);
  if (span === undefined || span.end - span.start !== 8) return undefined;
  return new DataView(media.buffer, media.byteOffset + span.start, 8).getFloat64(0, true);
}

/** Whether a serialized MediaPacket is VIDEO. */
export function isVideoMedia(media: Uint8Array): boolean {
  return media[0] === 0x08 && media[1] === MediaType.VIDEO;
}

function writePaddedVarint(bytes: Uint8Array, offset: number, value: number): void {
  let v = value;
  for (let i = 0; i < SEQUENCE_BYTES - 1; i++) {
    bytes[offset + i] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  bytes[offset + SEQUENCE_BYTES - 1] = v;
}

/** One pre-encoded packet of one stream, patched in place for every send. */
export class PacketTemplate {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #timestampOffset: number;
  readonly #sequenceOffset: number;

  /** Wraps encoded `bytes` whose timestamp and 5-byte sequence sit at the given offsets. */
  constructor(bytes: Uint8Array, timestampOffset: number, sequenceOffset: number) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#timestampOffset = timestampOffset;
    this.#sequenceOffset = sequenceOffset;
  }

  /** Serialized size in bytes. */
  get byteLength(): number {
    return this.#bytes.length;
  }

  /**
   * Writes the send time and sequence and returns the packet. The bytes are reused by the next
   * call: send (or copy) them before stamping again.
   */
  stamp(sentMs: number, sequence: number): Uint8Array {
    if (!(sequence >= 0 && sequence <= SEQUENCE_MAX)) {
      throw new RangeError(`Sequence ${sequence} does not fit in ${SEQUENCE_BYTES} bytes`);
    }
    this.#view.setFloat64(this.#timestampOffset, sentMs, true);
    writePaddedVarint(this.#bytes, this.#sequenceOffset, sequence);
    return this.#bytes;
  }
}

function payload(size: number, seed: string): Uint8Array {
  const out = new Uint8Array(size);
  let x = 0;
  for (const c of seed) x = (x * 31 + c.charCodeAt(0)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

// Finds the patchable offsets in a freshly encoded wrapper and checks one round trip.
function template(wrapper: Uint8Array, metadataField: number, sequenceField: number) {
  const media = findField(wrapper, 3);
  const timestamp = media && findField(wrapper, 5, media.start, media.end);
  const metadata = media && findField(wrapper, metadataField, media.start, media.end);
  const sequence = metadata && findField(wrapper, sequenceField, metadata.start, metadata.end);
  if (
    timestamp === undefined || sequence === undefined ||
    sequence.end - sequence.start !== SEQUENCE_BYTES
  ) {
    throw new Error("Cannot find the timestamp and sequence in an encoded media packet");
  }
  const t = new PacketTemplate(wrapper, timestamp.start, sequence.start);
  const probe = t.stamp(1.5, 3);
  const decoded = decodePacketWrapper(probe);
  const mediaPacket = decoded.ok ? decodeMediaPacket(decoded.value.data) : undefined;
  const value = mediaPacket?.ok ? mediaPacket.value : undefined;
  const seq = value?.videoMetadata?.sequence ?? value?.audioMetadata?.sequence;
  if (value?.timestamp !== 1.5 || seq !== 3n) {
    throw new Error("A patched media packet does not decode to the patched values");
  }
  return t;
}

/** How a template's wrapper is labelled in the clear, and its payload size. */
export interface TemplateOptions {
  /** Payload bytes (default {@linkcode VIDEO_PAYLOAD_BYTES} or {@linkcode AUDIO_PAYLOAD_BYTES}). */
  bytes?: number;
  /** Simulcast layer (wrapper field 5). */
  layer?: number;
  /** Clear media kind (field 6). */
  kind?: number;
  /** Audio level plus one (field 100). */
  audioLevel?: number;
}

/** A 2 KB (or `options.bytes`) VP9 video packet of `userId`, a key frame or a delta frame. */
export function videoTemplate(
  userId: string,
  key: boolean,
  options: TemplateOptions = {},
): PacketTemplate {
  const user = encoder.encode(userId);
  const data = encodeMediaPacket({
    mediaType: MediaType.VIDEO,
    userId: user,
    data: payload(options.bytes ?? VIDEO_PAYLOAD_BYTES, userId + (key ? "key" : "delta")),
    frameType: key ? "key" : "delta",
    timestamp: 1,
    duration: VIDEO_FRAME_MS,
    videoMetadata: { sequence: SEQUENCE_PLACEHOLDER, codec: VideoCodec.VP9_PROFILE0_LEVEL10_8BIT },
  });
  const wrapper = encodeWrapperFast({
    packetType: PacketType.MEDIA,
    userId: user,
    data,
    sessionId: 0n,
    simulcastLayerId: options.layer,
    mediaKind: options.kind,
  });
  return template(wrapper, 8, 1);
}

/** A 100-byte (or `options.bytes`) Opus-like audio packet of `userId`. */
export function audioTemplate(userId: string, options: TemplateOptions = {}): PacketTemplate {
  const user = encoder.encode(userId);
  const data = encodeMediaPacket({
    mediaType: MediaType.AUDIO,
    userId: user,
    data: payload(options.bytes ?? AUDIO_PAYLOAD_BYTES, userId + "audio"),
    frameType: "key",
    timestamp: 1,
    duration: AUDIO_FRAME_MS,
    audioMetadata: {
      audioFormat: "opus",
      audioNumberOfChannels: 1,
      audioNumberOfFrames: 960,
      audioSampleRate: 48000,
      sequence: SEQUENCE_PLACEHOLDER,
    },
  });
  const wrapper = encodeWrapperFast({
    packetType: PacketType.MEDIA,
    userId: user,
    data,
    sessionId: 0n,
    mediaKind: options.kind,
    audioLevel: options.audioLevel,
  });
  return template(wrapper, 7, 5);
}
