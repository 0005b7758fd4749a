/**
 * A typed codec for the wire messages, built on protobufjs's reader and writer. Each message is
 * described once by a field table that mirrors `proto/videocall.proto`; the generic encoder and
 * decoder walk that table. Decoding never throws: hostile bytes give a {@linkcode DecodeError}
 * in a {@linkcode DecodeResult}.
 *
 * @example Round-trip a packet
 * ```ts
 * import { decodePacketWrapper, encodePacketWrapper } from "./codec.ts";
 * import { PacketType } from "./packets.ts";
 *
 * const bytes = encodePacketWrapper({
 *   packetType: PacketType.MEDIA,
 *   userId: new TextEncoder().encode("alice"),
 *   data: new Uint8Array([1, 2, 3]),
 *   sessionId: 42n,
 * });
 * const result = decodePacketWrapper(bytes);
 * if (!result.ok || result.value.sessionId !== 42n) throw new Error("round trip failed");
 * ```
 *
 * @module
 */
import protobuf from "protobufjs/minimal.js";
import type {
  AesPacket,
  AudioMetadata,
  ChatPacket,
  ConnectionPacket,
  DiagnosticsPacket,
  E2eePacket,
  HeartbeatMetadata,
  LayerHintPacket,
  LayerPreferencePacket,
  MediaPacket,
  MeetingPacket,
  PacketWrapper,
  RaiseHandPacket,
  ReactionPacket,
  RsaPacket,
  StreamMetrics,
  VideoMetadata,
  ViewportPacket,
} from "./packets.ts";

type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

/** Why bytes could not be decoded as the named message. */
export class DecodeError extends Error {
  override name = "DecodeError";
  /** The message type that was being decoded, e.g. `"PacketWrapper"`. */
  readonly messageType: string;

  constructor(messageType: string, message: string, options?: ErrorOptions) {
    super(`Cannot decode ${messageType}: ${message}`, options);
    this.messageType = messageType;
  }
}

/** The outcome of a decode: the message, or why it failed. */
export type DecodeResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: DecodeError };

type Scalar =
  | "bytes"
  | "string"
  | "bool"
  | "uint32"
  | "enum"
  | "uint64"
  | "int64"
  | "double"
  | "float";

interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly type: Scalar | MessageSpec;
  /** A repeated field: decoded into an array of at most this many items. */
  readonly repeated?: number;
}

interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

// Protobuf wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

function wireTypeOf(type: Scalar | MessageSpec): number {
  if (typeof type !== "string") return LEN;
  switch (type) {
    case "bytes":
    case "string":
      return LEN;
    case "double":
      return FIXED64;
    case "float":
      return FIXED32;
    default:
      return VARINT;
  }
}

function defaultOf(type: Scalar | MessageSpec): unknown {
  switch (type) {
    case "bytes":
      return new Uint8Array(0);
    case "string":
      return "";
    case "bool":
      return false;
    case "uint64":
    case "int64":
      return 0n;
    case "uint32":
    case "enum":
    case "double":
    case "float":
      return 0;
    default:
      return undefined;
  }
}

function message(
  name: string,
  fields: [number, string, Scalar | MessageSpec, { repeated: number }?][],
): MessageSpec {
  return {
    name,
    fields: fields.map(([no, fieldName, type, options]) => ({
      no,
      name: fieldName,
      type,
      repeated: options?.repeated,
    })),
  };
}

/** The most items a repeated field may hold (a hostile packet cannot build huge arrays). */
export const MAX_REPEATED_ITEMS = 1024;
const REPEATED = { repeated: MAX_REPEATED_ITEMS };

const STREAM_METRICS = message("StreamMetrics", [
  [1, "fpsReceived", "float"],
  [2, "bitrateKbps", "uint32"],
]);
const AUDIO_METADATA = message("AudioMetadata", [
  [1, "audioFormat", "string"],
  [2, "audioNumberOfChannels", "uint32"],
  [3, "audioNumberOfFrames", "uint32"],
  [4, "audioSampleRate", "float"],
  [5, "sequence", "uint64"],
]);
const VIDEO_METADATA = message("VideoMetadata", [
  [1, "sequence", "uint64"],
  [2, "codec", "enum"],
]);
const HEARTBEAT_METADATA = message("HeartbeatMetadata", [
  [1, "videoEnabled", "bool"],
  [2, "audioEnabled", "bool"],
  [3, "screenEnabled", "bool"],
  [4, "isSpeaking", "bool"],
  [5, "transportType", "enum"],
]);
const PACKET_WRAPPER = message("PacketWrapper", [
  [1, "packetType", "enum"],
  [2, "userId", "bytes"],
  [3, "data", "bytes"],
  [4, "sessionId", "uint64"],
  [5, "simulcastLayerId", "uint32"],
  [6, "mediaKind", "enum"],
]);
const MEDIA_PACKET = message("MediaPacket", [
  [1, "mediaType", "enum"],
  [2, "userId", "bytes"],
  [3, "data", "bytes"],
  [4, "frameType", "string"],
  [5, "timestamp", "double"],
  [6, "duration", "double"],
  [7, "audioMetadata", AUDIO_METADATA],
  [8, "videoMetadata", VIDEO_METADATA],
  [9, "heartbeatMetadata", HEARTBEAT_METADATA],
  [10, "targetSessionId", "uint64"],
  [100, "encrypted", "bool"],
  [101, "keyId", "uint32"],
]);
const VIEWPORT_PACKET = message("ViewportPacket", [[1, "sessionIds", "uint64", REPEATED]]);
const LAYER_PREFERENCE_ENTRY = message("LayerPreferencePacket.Entry", [
  [1, "sessionId", "uint64"],
  [2, "desiredLayer", "uint32"],
  [3, "mediaKind", "enum"],
]);
const LAYER_PREFERENCE_PACKET = message("LayerPreferencePacket", [
  [1, "entries", LAYER_PREFERENCE_ENTRY, REPEATED],
]);
const LAYER_HINT_ENTRY = message("LayerHintPacket.Entry", [
  [1, "mediaKind", "enum"],
  [2, "maxRequestedLayer", "uint32"],
]);
const LAYER_HINT_PACKET = message("LayerHintPacket", [
  [1, "entries", LAYER_HINT_ENTRY, REPEATED],
]);
const REACTION_PACKET = message("ReactionPacket", [
  [1, "reaction", "enum"],
  [2, "displayName", "bytes"],
]);
const RAISE_HAND_PACKET = message("RaiseHandPacket", [
  [1, "raised", "bool"],
  [2, "raisedAtMs", "uint64"],
  [3, "displayName", "bytes"],
]);
const MEETING_PACKET = message("MeetingPacket", [
  [1, "eventType", "enum"],
  [2, "roomId", "string"],
  [3, "startTimeMs", "uint64"],
  [4, "message", "string"],
  [5, "creatorId", "bytes"],
  [6, "participantCount", "int64"],
  [7, "targetUserId", "bytes"],
  [8, "roomToken", "string"],
  [9, "sessionId", "uint64"],
  [10, "displayName", "bytes"],
]);
const RSA_PACKET = message("RsaPacket", [
  [1, "publicKeyDer", "bytes"],
  [2, "userId", "bytes"],
]);
const AES_PACKET = message("AesPacket", [
  [1, "key", "bytes"],
  [2, "iv", "bytes"],
]);
const CONNECTION_PACKET = message("ConnectionPacket", [[1, "meetingId", "string"]]);
const CHAT_PACKET = message("ChatPacket", [
  [1, "messageId", "string"],
  [2, "text", "string"],
  [3, "sentAtMs", "uint64"],
  [4, "sealed", "bytes"],
  [5, "keyId", "uint32"],
]);
const E2EE_PACKET = message("E2eePacket", [
  [1, "kind", "uint32"],
  [2, "publicKey", "bytes"],
  [3, "toSession", "uint64"],
  [4, "keyId", "uint32"],
  [5, "wrapped", "bytes"],
]);
const DIAGNOSTICS_PACKET = message("DiagnosticsPacket", [
  [1, "streamId", "string"],
  [2, "senderId", "string"],
  [3, "targetId", "string"],
  [4, "timestampMs", "uint64"],
  [5, "mediaType", "enum"],
  [6, "videoMetrics", STREAM_METRICS],
  [7, "audioMetrics", STREAM_METRICS],
]);

interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

function longToBigInt(value: number | LongLike, signed: boolean): bigint {
  const unsigned = typeof value === "number"
    ? BigInt(value)
    : (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return signed ? BigInt.asIntN(64, unsigned) : BigInt.asUintN(64, unsigned);
}

// protobufjs's writer takes anything with `low` and `high` 32-bit halves.
function bigIntToLong(value: bigint): protobuf.Long {
  const bits = BigInt.asUintN(64, value);
  const long: LongLike = {
    low: Number(bits & 0xffffffffn) | 0,
    high: Number(bits >> 32n) | 0,
    unsigned: true,
  };
  return long as unknown as protobuf.Long;
}

function isDefault(type: Scalar | MessageSpec, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  switch (type) {
    case "bytes":
      return (value as Uint8Array).length === 0;
    case "string":
      return value === "";
    case "bool":
      return value === false;
    case "uint64":
    case "int64":
      return value === 0n;
    case "uint32":
    case "enum":
    case "double":
    case "float":
      return value === 0;
    default:
      return false;
  }
}

function writeMessage(spec: MessageSpec, value: Record<string, unknown>, writer: Writer): void {
  for (const field of spec.fields) {
    const v = value[field.name];
    if (field.repeated !== undefined) {
      writeRepeated(field, v as unknown[] | undefined, writer);
      continue;
    }
    if (isDefault(field.type, v)) continue;
    writer.uint32((field.no << 3) | wireTypeOf(field.type));
    writeValue(field.type, v, writer);
  }
}

function isPackable(type: Scalar | MessageSpec): boolean {
  return typeof type === "string" && type !== "bytes" && type !== "string";
}

// proto3 packs repeated numbers into one length-delimited run; other types repeat the field.
function writeRepeated(field: FieldSpec, items: unknown[] | undefined, writer: Writer): void {
  if (items === undefined || items.length === 0) return;
  if (isPackable(field.type)) {
    writer.uint32((field.no << 3) | LEN);
    writer.fork();
    for (const item of items) writeValue(field.type, item, writer);
    writer.ldelim();
    return;
  }
  for (const item of items) {
    writer.uint32((field.no << 3) | wireTypeOf(field.type));
    writeValue(field.type, item, writer);
  }
}

function writeValue(type: Scalar | MessageSpec, v: unknown, writer: Writer): void {
  switch (type) {
    case "bytes":
      writer.bytes(v as Uint8Array);
      break;
    case "string":
      writer.string(v as string);
      break;
    case "bool":
      writer.bool(v as boolean);
      break;
    case "uint32":
      writer.uint32(v as number);
      break;
    case "enum":
      writer.int32(v as number);
      break;
    case "uint64":
      writer.uint64(bigIntToLong(v as bigint));
      break;
    case "int64":
      writer.int64(bigIntToLong(v as bigint));
      break;
    case "double":
      writer.double(v as number);
      break;
    case "float":
      writer.float(v as number);
      break;
    default:
      writer.fork();
      writeMessage(type, v as Record<string, unknown>, writer);
      writer.ldelim();
  }
}

function readField(type: Scalar | MessageSpec, reader: Reader, depth: number): unknown {
  switch (type) {
    case "bytes":
      return reader.bytes();
    case "string":
      return reader.string();
    case "bool":
      return reader.bool();
    case "uint32":
      return reader.uint32();
    case "enum":
      return reader.int32();
    case "uint64":
      return longToBigInt(reader.uint64() as number | LongLike, false);
    case "int64":
      return longToBigInt(reader.int64() as number | LongLike, true);
    case "double":
      return reader.double();
    case "float":
      return reader.float();
    default: {
      const length = reader.uint32();
      return readMessage(type, reader, reader.pos + length, depth + 1);
    }
  }
}

// Our schema nests one level deep; anything deeper is hostile.
const MAX_DEPTH = 4;

function readMessage(
  spec: MessageSpec,
  reader: Reader,
  end: number,
  depth: number,
): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new Error("messages are nested too deeply");
  if (end > reader.len) throw new Error("a nested message runs past the end of its parent");
  const out: Record<string, unknown> = {};
  for (const field of spec.fields) {
    out[field.name] = field.repeated !== undefined ? [] : defaultOf(field.type);
  }
  while (reader.pos < end) {
    const tag = reader.uint32();
    const no = tag >>> 3;
    const wireType = tag & 7;
    if (no === 0) throw new Error("field number 0 is invalid");
    const field = spec.fields.find((f) => f.no === no);
    if (field === undefined) {
      reader.skipType(wireType);
      continue;
    }
    const expected = wireTypeOf(field.type);
    if (field.repeated !== undefined) {
      const items = out[field.name] as unknown[];
      const push = (item: unknown) => {
        if (items.length >= field.repeated!) {
          throw new Error(`field "${field.name}" has more than ${field.repeated} items`);
        }
        items.push(item);
      };
      if (wireType === LEN && isPackable(field.type)) {
        const runEnd = reader.uint32() + reader.pos;
        if (runEnd > end) throw new Error(`field "${field.name}" runs past the end of its message`);
        while (reader.pos < runEnd) push(readField(field.type, reader, depth));
        if (reader.pos !== runEnd) throw new Error(`field "${field.name}" ends mid-value`);
        continue;
      }
      if (wireType !== expected) {
        throw new Error(`field "${field.name}" has wire type ${wireType}, expected ${expected}`);
      }
      push(readField(field.type, reader, depth));
      continue;
    }
    if (wireType !== expected) {
      throw new Error(`field "${field.name}" has wire type ${wireType}, expected ${expected}`);
    }
    out[field.name] = readField(field.type, reader, depth);
  }
  if (reader.pos !== end) throw new Error("the last field runs past the end of the message");
  return out;
}

/**
 * A plain `Uint8Array` view of `bytes`, without copying. Under Deno (and Node) protobufjs writes
 * Node `Buffer`s and reads a `Buffer` input into `Buffer` fields, whose `slice()` shares memory
 * where a `Uint8Array`'s copies; the npm `ws` client also delivers `Buffer`s. Every platform gets
 * the same type from this codec, in and out.
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function makeCodec<T>(spec: MessageSpec): {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): DecodeResult<T>;
} {
  return {
    encode(value: T): Uint8Array {
      const writer = protobuf.Writer.create();
      writeMessage(spec, value as Record<string, unknown>, writer);
      return plainBytes(writer.finish());
    },
    decode(bytes: Uint8Array): DecodeResult<T> {
      try {
        const reader = protobuf.Reader.create(plainBytes(bytes));
        return { ok: true, value: readMessage(spec, reader, bytes.length, 0) as T };
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        return { ok: false, error: new DecodeError(spec.name, reason, { cause }) };
      }
    },
  };
}

const packetWrapper = makeCodec<PacketWrapper>(PACKET_WRAPPER);
const mediaPacket = makeCodec<MediaPacket>(MEDIA_PACKET);
const meetingPacket = makeCodec<MeetingPacket>(MEETING_PACKET);
const rsaPacket = makeCodec<RsaPacket>(RSA_PACKET);
const aesPacket = makeCodec<AesPacket>(AES_PACKET);
const connectionPacket = makeCodec<ConnectionPacket>(CONNECTION_PACKET);
const diagnosticsPacket = makeCodec<DiagnosticsPacket>(DIAGNOSTICS_PACKET);
const chatPacket = makeCodec<ChatPacket>(CHAT_PACKET);
const e2eePacket = makeCodec<E2eePacket>(E2EE_PACKET);
const viewportPacket = makeCodec<ViewportPacket>(VIEWPORT_PACKET);
const layerPreferencePacket = makeCodec<LayerPreferencePacket>(LAYER_PREFERENCE_PACKET);
const layerHintPacket = makeCodec<LayerHintPacket>(LAYER_HINT_PACKET);
const reactionPacket = makeCodec<ReactionPacket>(REACTION_PACKET);
const raiseHandPacket = makeCodec<RaiseHandPacket>(RAISE_HAND_PACKET);

/** Serializes a {@linkcode PacketWrapper}. */
export const encodePacketWrapper = packetWrapper.encode;
/** Parses a {@linkcode PacketWrapper}; `data` is a view into `bytes`, not a copy. */
export const decodePacketWrapper = packetWrapper.decode;
/** Serializes a {@linkcode MediaPacket}. */
export const encodeMediaPacket = mediaPacket.encode;
/** Parses a {@linkcode MediaPacket}. */
export const decodeMediaPacket = mediaPacket.decode;
/** Serializes a {@linkcode MeetingPacket}. */
export const encodeMeetingPacket = meetingPacket.encode;
/** Parses a {@linkcode MeetingPacket}. */
export const decodeMeetingPacket = meetingPacket.decode;
/** Serializes a {@linkcode RsaPacket}. */
export const encodeRsaPacket = rsaPacket.encode;
/** Parses a {@linkcode RsaPacket}. */
export const decodeRsaPacket = rsaPacket.decode;
/** Serializes an {@linkcode AesPacket}. */
export const encodeAesPacket = aesPacket.encode;
/** Parses an {@linkcode AesPacket}. */
export const decodeAesPacket = aesPacket.decode;
/** Serializes a {@linkcode ConnectionPacket}. */
export const encodeConnectionPacket = connectionPacket.encode;
/** Parses a {@linkcode ConnectionPacket}. */
export const decodeConnectionPacket = connectionPacket.decode;
/** Serializes a {@linkcode DiagnosticsPacket}. */
export const encodeDiagnosticsPacket = diagnosticsPacket.encode;
/** Parses a {@linkcode DiagnosticsPacket}. */
export const decodeDiagnosticsPacket = diagnosticsPacket.decode;

/** Serializes a {@linkcode ChatPacket}. */
export const encodeChatPacket = chatPacket.encode;
/** Parses a {@linkcode ChatPacket}. */
export const decodeChatPacket = chatPacket.decode;
const heartbeatMetadata = makeCodec<HeartbeatMetadata>(HEARTBEAT_METADATA);
/** Serializes {@linkcode HeartbeatMetadata} (an encrypted heartbeat carries it in `data`). */
export const encodeHeartbeatMetadata = heartbeatMetadata.encode;
/** Parses {@linkcode HeartbeatMetadata}. */
export const decodeHeartbeatMetadata = heartbeatMetadata.decode;
/** Serializes a {@linkcode ViewportPacket}. */
export const encodeViewportPacket = viewportPacket.encode;
/** Parses a {@linkcode ViewportPacket} (at most {@linkcode MAX_REPEATED_ITEMS} sessions). */
export const decodeViewportPacket = viewportPacket.decode;
/** Serializes a {@linkcode LayerPreferencePacket}. */
export const encodeLayerPreferencePacket = layerPreferencePacket.encode;
/** Parses a {@linkcode LayerPreferencePacket}. */
export const decodeLayerPreferencePacket = layerPreferencePacket.decode;
/** Serializes a {@linkcode LayerHintPacket}. */
export const encodeLayerHintPacket = layerHintPacket.encode;
/** Parses a {@linkcode LayerHintPacket}. */
export const decodeLayerHintPacket = layerHintPacket.decode;
/** Serializes a {@linkcode ReactionPacket}. */
export const encodeReactionPacket = reactionPacket.encode;
/** Parses a {@linkcode ReactionPacket}. */
export const decodeReactionPacket = reactionPacket.decode;
/** Serializes a {@linkcode RaiseHandPacket}. */
export const encodeRaiseHandPacket = raiseHandPacket.encode;
/** Parses a {@linkcode RaiseHandPacket}. */
export const decodeRaiseHandPacket = raiseHandPacket.decode;
/** Serializes an {@linkcode E2eePacket}. */
export const encodeE2eePacket = e2eePacket.encode;
/** Parses an {@linkcode E2eePacket}. */
export const decodeE2eePacket = e2eePacket.decode;

export type {
  AesPacket,
  AudioMetadata,
  ChatPacket,
  ConnectionPacket,
  DiagnosticsPacket,
  E2eePacket,
  HeartbeatMetadata,
  LayerHintPacket,
  LayerPreferencePacket,
  MediaPacket,
  MeetingPacket,
  PacketWrapper,
  RaiseHandPacket,
  ReactionPacket,
  RsaPacket,
  StreamMetrics,
  VideoMetadata,
  ViewportPacket,
};
