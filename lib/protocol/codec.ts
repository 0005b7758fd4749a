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
import type {
  ActiveSpeakersPacket,
  AesPacket,
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
  ViewportPacket,
} from "./packets.ts";
import { makeCodec, message, REPEATED } from "./message_codec.ts";

export { DecodeError, type DecodeResult, MAX_REPEATED_ITEMS } from "./message_codec.ts";

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
  [100, "audioLevel", "uint32"],
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
  [100, "unwatched", "bool"],
]);
const LAYER_HINT_PACKET = message("LayerHintPacket", [
  [1, "entries", LAYER_HINT_ENTRY, REPEATED],
]);
const ACTIVE_SPEAKERS_PACKET = message("ActiveSpeakersPacket", [
  [1, "sessionIds", "uint64", REPEATED],
  [2, "dominant", "uint64"],
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
const activeSpeakersPacket = makeCodec<ActiveSpeakersPacket>(ACTIVE_SPEAKERS_PACKET);
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
/** Serializes an {@linkcode ActiveSpeakersPacket}. */
export const encodeActiveSpeakersPacket = activeSpeakersPacket.encode;
/** Parses an {@linkcode ActiveSpeakersPacket}. */
export const decodeActiveSpeakersPacket = activeSpeakersPacket.decode;
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
