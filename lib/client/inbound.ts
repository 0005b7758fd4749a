/**
 * What a room does with each packet the server sends it, once its session is assigned: meeting
 * events into the roster, media (opened when sealed) into `media` and `track` events, heartbeats
 * into participants' flags, RTT echoes, key-frame requests, key packets into the E2EE session,
 * chat into `chat` events, CONGESTION, and what selective forwarding sends (LAYER_HINT,
 * DOWNLINK_CONGESTION, ACTIVE_SPEAKERS, the participant count). Packets that cannot be decoded
 * are ignored.
 *
 * @module
 */
import {
  decodeActiveSpeakersPacket,
  decodeChatPacket,
  decodeE2eePacket,
  decodeLayerHintPacket,
  decodeMediaPacket,
  decodeMeetingPacket,
} from "../protocol/codec.ts";
import {
  type ChatPacket,
  type MediaPacket,
  MediaType,
  MeetingEventType,
  PacketType,
} from "../protocol/packets.ts";
import { ChatDeduplicator } from "./chat.ts";
import { type RoomEncryption, SEALED_MEDIA_TYPES } from "./encryption.ts";
import type { TrackKind } from "./participant.ts";
import type { Roster } from "./roster.ts";
import type { ActiveSpeakers, MediaEnvelope, RoomEvents } from "./room_events.ts";
import { readLayerHint } from "./selection.ts";

const decoder = new TextDecoder();

const TRACK_KINDS: Record<number, TrackKind | undefined> = {
  [MediaType.VIDEO]: "video",
  [MediaType.AUDIO]: "audio",
  [MediaType.SCREEN]: "screen",
};

/** What the inbound side needs from its room. */
export interface InboundHost {
  readonly userId: string;
  readonly roster: Roster;
  readonly encryption: RoomEncryption;
  /** Our session id. */
  sessionId(): bigint;
  /** We are in the waiting room. */
  waiting(): boolean;
  /** A host let us in. */
  admitted(): void;
  /** A round trip to the server was measured. */
  rtt(ms: number): void;
  /** The relay ranked the speakers anew. */
  speakers(speakers: ActiveSpeakers): void;
  /** The meeting's size, us included. */
  count(participants: number): void;
  emit<K extends keyof RoomEvents>(event: K, ...args: RoomEvents[K]): void;
}

/** Dispatches the packets of one room. */
export class Inbound {
  readonly #host: InboundHost;
  readonly #chats = new ChatDeduplicator();
  readonly #tracks = new Set<string>();

  constructor(host: InboundHost) {
    this.#host = host;
  }

  /** Forgets what was seen of a participant who left (their next media is a new track). */
  forget(sessionId: string): void {
    for (const kind of ["video", "audio", "screen"]) this.#tracks.delete(`${sessionId}:${kind}`);
  }

  /**
   * Handles one packet from `sessionId` (`userId`), as stamped by the server, with its envelope's
   * clear layer and audio level.
   */
  packet(
    packetType: number,
    data: Uint8Array,
    sessionId: bigint,
    userId: string,
    envelope: MediaEnvelope,
  ): void {
    const host = this.#host;
    switch (packetType) {
      case PacketType.MEETING:
        return this.#meeting(data);
      case PacketType.MEDIA: {
        const media = decodeMediaPacket(data);
        if (!media.ok) return;
        if (media.value.encrypted) {
          return void this.#open(media.value, sessionId, userId, envelope);
        }
        // A meeting that requires E2EE has no clear content (the server refuses it; so do we).
        if (host.encryption.required && SEALED_MEDIA_TYPES.has(media.value.mediaType)) {
          return this.#decryptFailed(sessionId);
        }
        return this.#media(media.value, sessionId, userId, false, envelope);
      }
      case PacketType.LAYER_HINT: {
        // The relay names the publisher it is for (us) as the sender.
        const hint = decodeLayerHintPacket(data);
        if (hint.ok && sessionId === host.sessionId()) {
          host.emit("layerHint", readLayerHint(hint.value));
        }
        return;
      }
      case PacketType.DOWNLINK_CONGESTION:
        return host.emit("downlinkCongestion");
      case PacketType.ACTIVE_SPEAKERS: {
        const ranked = decodeActiveSpeakersPacket(data);
        if (!ranked.ok) return;
        return host.speakers({
          speakers: ranked.value.sessionIds.map(String),
          dominant: ranked.value.dominant === 0n ? undefined : String(ranked.value.dominant),
        });
      }
      case PacketType.E2EE: {
        const packet = decodeE2eePacket(data);
        if (packet.ok) host.encryption.session.received(sessionId, packet.value).catch(() => {});
        return;
      }
      case PacketType.CHAT: {
        const chat = decodeChatPacket(data);
        if (chat.ok) this.#chat(chat.value, sessionId, userId);
        return;
      }
      case PacketType.CONGESTION:
        if (sessionId === host.sessionId()) host.emit("congestion");
        return;
    }
  }

  async #open(
    media: MediaPacket,
    sessionId: bigint,
    userId: string,
    envelope: MediaEnvelope,
  ): Promise<void> {
    const opened = await this.#host.encryption.openMedia(media, sessionId, envelope.layer);
    if (opened.media !== undefined) this.#media(opened.media, sessionId, userId, true, envelope);
    else if (opened.failed) this.#decryptFailed(sessionId);
  }

  #decryptFailed(sessionId: bigint): void {
    const participant = this.#host.roster.get(sessionId.toString());
    if (participant !== undefined) this.#host.roster.decryptFailed(participant);
  }

  async #chat(chat: ChatPacket, sessionId: bigint, userId: string): Promise<void> {
    const host = this.#host;
    let text = chat.text;
    const encrypted = chat.sealed !== undefined && chat.sealed.length > 0;
    if (encrypted) {
      const opened = await host.encryption.openChat(chat, sessionId);
      if (opened === undefined) return this.#decryptFailed(sessionId);
      text = opened;
    } else if (host.encryption.required) {
      // A meeting that requires E2EE has no clear chat (the server refuses it; so do we).
      return this.#decryptFailed(sessionId);
    }
    const id = `${sessionId}:${chat.messageId}`;
    if (!this.#chats.fresh(id)) return;
    host.emit("chat", {
      id,
      fromSessionId: sessionId.toString(),
      fromUserId: userId,
      fromName: host.roster.get(sessionId.toString())?.displayName ?? userId,
      text,
      sentAtMs: Number(chat.sentAtMs),
      mine: false,
      encrypted,
    });
  }

  #meeting(data: Uint8Array): void {
    const decoded = decodeMeetingPacket(data);
    if (!decoded.ok) return;
    const m = decoded.value;
    const host = this.#host;
    const userId = decoder.decode(m.targetUserId);
    if (m.participantCount > 0n) host.count(Number(m.participantCount));
    switch (m.eventType) {
      case MeetingEventType.PARTICIPANT_JOINED:
        if (m.sessionId === host.sessionId() || m.sessionId === 0n) return;
        host.roster.add(m.sessionId.toString(), userId, decoder.decode(m.displayName) || userId);
        return;
      case MeetingEventType.PARTICIPANT_LEFT:
        host.roster.remove(m.sessionId.toString());
        return;
      case MeetingEventType.MEETING_STARTED:
        // A waiting session hears nothing until admitted, so this also means "you are in"
        // (an admission decided while we were connecting sends no PARTICIPANT_ADMITTED).
        if (host.waiting()) host.admitted();
        return;
      case MeetingEventType.PARTICIPANT_ADMITTED:
        if (userId === host.userId && host.waiting()) host.admitted();
        return;
      case MeetingEventType.WAITING_ROOM_UPDATED:
        return host.emit("waitingRoom");
    }
  }

  #media(
    media: MediaPacket,
    sessionId: bigint,
    userId: string,
    encrypted: boolean,
    envelope: MediaEnvelope,
  ): void {
    const host = this.#host;
    if (media.mediaType === MediaType.RTT) {
      if (sessionId === host.sessionId() || userId === host.userId) {
        host.rtt(Math.max(0, Date.now() - media.timestamp));
      }
      return;
    }
    if (media.mediaType === MediaType.KEYFRAME_REQUEST) {
      return host.emit("keyframeRequest", wantedKind(media.data), envelope.layer);
    }
    const key = sessionId.toString();
    // Media before the join notice (it travels another way): learn of them now.
    const participant = host.roster.get(key) ?? host.roster.add(key, userId, userId);
    host.roster.set(participant, "encrypted", encrypted);
    if (media.mediaType === MediaType.HEARTBEAT) {
      if (media.heartbeatMetadata) host.roster.heartbeat(participant, media.heartbeatMetadata);
      return;
    }
    // Video arriving means the camera (or screen) is on, even before their next heartbeat says so.
    if (media.mediaType === MediaType.VIDEO) host.roster.set(participant, "video", true);
    if (media.mediaType === MediaType.SCREEN) host.roster.set(participant, "screen", true);
    const kind = TRACK_KINDS[media.mediaType];
    if (kind !== undefined && !this.#tracks.has(`${key}:${kind}`)) {
      this.#tracks.add(`${key}:${kind}`);
      host.emit("track", participant, kind);
    }
    host.emit("media", participant, media, envelope);
  }
}

/**
 * The kind a key-frame request wants: "SCREEN" as text (videocall-rs), or the one-byte media
 * type our earlier clients sent; anything else means the camera.
 *
 * @example
 * ```ts
 * import { wantedKind } from "./inbound.ts";
 * import { MediaType } from "../protocol/packets.ts";
 *
 * if (wantedKind(new TextEncoder().encode("SCREEN")) !== MediaType.SCREEN) throw new Error();
 * if (wantedKind(Uint8Array.of(MediaType.SCREEN)) !== MediaType.SCREEN) throw new Error();
 * if (wantedKind(new TextEncoder().encode("VIDEO")) !== MediaType.VIDEO) throw new Error();
 * ```
 */
export function wantedKind(data: Uint8Array): number {
  if (data.length === 1 && data[0] === MediaType.SCREEN) return MediaType.SCREEN;
  return decoder.decode(data) === "SCREEN" ? MediaType.SCREEN : MediaType.VIDEO;
}
