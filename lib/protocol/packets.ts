/**
 * The wire messages of videocall (see `proto/videocall.proto`) as TypeScript types, with the
 * enum values of videocall-rs. Bytes fields are `Uint8Array`; 64-bit integers are `bigint`.
 *
 * @module
 */

/**
 * What a {@linkcode PacketWrapper} carries in its `data` field: videocall-rs's numbers for its
 * types (0–19; 15 and 16 reserved), ours from 100 (docs/PROTOCOL.md, "Packet types").
 */
export const PacketType = {
  UNKNOWN: 0,
  RSA_PUB_KEY: 1,
  AES_KEY: 2,
  MEDIA: 3,
  CONNECTION: 4,
  DIAGNOSTICS: 5,
  HEALTH: 6,
  MEETING: 7,
  SESSION_ASSIGNED: 8,
  CONGESTION: 9,
  PEER_EVENT: 10,
  VIEWPORT: 11,
  LAYER_PREFERENCE: 12,
  LAYER_HINT: 13,
  DOWNLINK_CONGESTION: 14,
  REACTION: 17,
  RAISE_HAND: 18,
  MEETING_TIMER: 19,
  CHAT: 100,
  E2EE: 101,
  ACTIVE_SPEAKERS: 102,
} as const;
/** A {@linkcode PacketType} value; unknown values from the wire are kept as plain numbers. */
export type PacketType = number;

/** The clear media kind on a {@linkcode PacketWrapper} (videocall-rs's `MediaKind`). */
export const MediaKind = {
  UNSPECIFIED: 0,
  VIDEO: 1,
  AUDIO: 2,
  SCREEN: 3,
} as const;
/** A {@linkcode MediaKind} value. */
export type MediaKind = number;

/** The kind of a {@linkcode MediaPacket}. */
export const MediaType = {
  UNKNOWN: 0,
  VIDEO: 1,
  AUDIO: 2,
  SCREEN: 3,
  HEARTBEAT: 4,
  RTT: 5,
  KEYFRAME_REQUEST: 6,
} as const;
/** A {@linkcode MediaType} value. */
export type MediaType = number;

/** The codec of a video {@linkcode MediaPacket}. */
export const VideoCodec = {
  UNSPECIFIED: 0,
  VP8: 1,
  VP9_PROFILE0_LEVEL10_8BIT: 2,
} as const;
/** A {@linkcode VideoCodec} value. */
export type VideoCodec = number;

/** The event a {@linkcode MeetingPacket} announces. */
export const MeetingEventType = {
  UNKNOWN: 0,
  MEETING_STARTED: 1,
  MEETING_ENDED: 2,
  PARTICIPANT_JOINED: 3,
  PARTICIPANT_LEFT: 4,
  MEETING_ACTIVATED: 5,
  PARTICIPANT_ADMITTED: 6,
  PARTICIPANT_REJECTED: 7,
  WAITING_ROOM_UPDATED: 8,
  PARTICIPANT_COUNT: 100,
} as const;
/** A {@linkcode MeetingEventType} value. */
export type MeetingEventType = number;

/** The envelope of every packet on every transport. */
export interface PacketWrapper {
  packetType: PacketType;
  userId: Uint8Array;
  data: Uint8Array;
  sessionId: bigint;
  /** The simulcast layer of a MEDIA packet (0: base; absent when encoding means 0). */
  simulcastLayerId?: number;
  /** The clear {@linkcode MediaKind} of a MEDIA packet (0 or absent: unspecified). */
  mediaKind?: MediaKind;
  /** An AUDIO packet's level: RFC 6464's -dBov plus one (1 loudest, 128 silence; 0 absent). */
  audioLevel?: number;
}

/** Audio frame details. */
export interface AudioMetadata {
  audioFormat: string;
  audioNumberOfChannels: number;
  audioNumberOfFrames: number;
  audioSampleRate: number;
  sequence: bigint;
}

/** Video frame details. */
export interface VideoMetadata {
  sequence: bigint;
  codec: VideoCodec;
}

/** A sender's media state, sent about once a second. */
export interface HeartbeatMetadata {
  videoEnabled: boolean;
  audioEnabled: boolean;
  screenEnabled: boolean;
  isSpeaking: boolean;
  /** Upstream's: 0 unknown, 1 WebTransport, 2 WebSocket. */
  transportType?: number;
}

/** One encoded frame, a heartbeat, an RTT probe or a keyframe request. */
export interface MediaPacket {
  mediaType: MediaType;
  userId: Uint8Array;
  data: Uint8Array;
  frameType: string;
  timestamp: number;
  duration: number;
  audioMetadata?: AudioMetadata;
  videoMetadata?: VideoMetadata;
  heartbeatMetadata?: HeartbeatMetadata;
  /** In a KEYFRAME_REQUEST: the session whose key frame is wanted (0 or absent: by user id). */
  targetSessionId?: bigint;
  /** End-to-end encrypted (`data` is sealed under the sender's key `keyId`). */
  encrypted?: boolean;
  keyId?: number;
}

/** A meeting event: start, end, joins and leaves, waiting-room changes. */
export interface MeetingPacket {
  eventType: MeetingEventType;
  roomId: string;
  startTimeMs: bigint;
  message: string;
  creatorId: Uint8Array;
  participantCount: bigint;
  targetUserId: Uint8Array;
  roomToken: string;
  sessionId: bigint;
  displayName: Uint8Array;
}

/** A participant's public key (videocall-rs E2EE). */
export interface RsaPacket {
  publicKeyDer: Uint8Array;
  userId: Uint8Array;
}

/** A wrapped media key (videocall-rs E2EE). */
export interface AesPacket {
  key: Uint8Array;
  iv: Uint8Array;
}

/** Sent by some clients right after connecting. */
export interface ConnectionPacket {
  meetingId: string;
}

/** A text chat message; its sender is the wrapper's server-stamped identity. */
export interface ChatPacket {
  messageId: string;
  text: string;
  sentAtMs: bigint;
  /** End-to-end encrypted text (then `text` is empty), sealed under key `keyId`. */
  sealed?: Uint8Array;
  keyId?: number;
}

/** E2EE key exchange: an identity announcement, or a media key wrapped for one session. */
export interface E2eePacket {
  kind: number;
  publicKey: Uint8Array;
  toSession: bigint;
  keyId: number;
  wrapped: Uint8Array;
}

/** VIEWPORT: the sessions whose video the sender renders (empty: everyone's). */
export interface ViewportPacket {
  sessionIds: bigint[];
}

/** One LAYER_PREFERENCE entry: the layer wanted from one source's media of one kind. */
export interface LayerPreferenceEntry {
  sessionId: bigint;
  desiredLayer: number;
  /** 0 and 1 video, 2 audio, 3 screen. */
  mediaKind: number;
}

/** LAYER_PREFERENCE: the sender's wanted layer per (source, kind); absent entries: every layer. */
export interface LayerPreferencePacket {
  entries: LayerPreferenceEntry[];
}

/** One LAYER_HINT entry. */
export interface LayerHintEntry {
  mediaKind: MediaKind;
  maxRequestedLayer: number;
  /** Ours: nobody shows this kind of the publisher; it may send none of it (absent: false). */
  unwatched?: boolean;
}

/** LAYER_HINT: per kind, the highest layer any receiver of the publisher wants. */
export interface LayerHintPacket {
  entries: LayerHintEntry[];
}

/** ACTIVE_SPEAKERS: the loudest speakers (loudest first) and the dominant one (0: none). */
export interface ActiveSpeakersPacket {
  sessionIds: bigint[];
  dominant: bigint;
}

/** REACTION: a short-lived emoji reaction. */
export interface ReactionPacket {
  reaction: number;
  displayName: Uint8Array;
}

/** RAISE_HAND: the sender's hand, raised or not. */
export interface RaiseHandPacket {
  raised: boolean;
  raisedAtMs: bigint;
  displayName: Uint8Array;
}

/** {@linkcode E2eePacket} kinds. */
export const E2eeKind = { IDENTITY: 1, KEY: 2 } as const;

/** Receive-side figures of one media stream. */
export interface StreamMetrics {
  fpsReceived: number;
  bitrateKbps: number;
}

/** Receive statistics a client reports about one sender. */
export interface DiagnosticsPacket {
  streamId: string;
  senderId: string;
  targetId: string;
  timestampMs: bigint;
  mediaType: MediaType;
  videoMetrics?: StreamMetrics;
  audioMetrics?: StreamMetrics;
}
