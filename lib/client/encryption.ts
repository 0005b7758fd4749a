/**
 * End-to-end encryption as a room uses it: seals outgoing media and chat under our sender key,
 * opens incoming ones (waiting a moment for a key that is on its way), and turns the E2EE
 * session's key exchange into room events. The cryptography and the key rules are in `e2ee/`.
 *
 * What is sealed: the payload of VIDEO, AUDIO, SCREEN and HEARTBEAT packets (a heartbeat's
 * flags travel inside the ciphertext) and chat text with its id. What stays in clear for the
 * relay: packet and media types, sequence numbers, key flags, key ids, simulcast layers, audio
 * levels, timestamps and sizes — and all but the level and timestamp are bound to the ciphertext as additional data, so a relay cannot change them.
 *
 * @module
 */
import { decodeHeartbeatMetadata, encodeHeartbeatMetadata } from "../protocol/codec.ts";
import { type ChatPacket, type MediaPacket, MediaType } from "../protocol/packets.ts";
import { E2eeSession, type E2eeSessionOptions } from "./e2ee/e2ee_session.ts";
import type { FrameHeader } from "./e2ee/frame_cipher.ts";

/** Media types whose content is encrypted (RTT probes and key-frame requests are not). */
export const SEALED_MEDIA_TYPES: ReadonlySet<number> = new Set([
  MediaType.VIDEO,
  MediaType.AUDIO,
  MediaType.SCREEN,
  MediaType.HEARTBEAT,
]);

/** How long a frame may wait for its sender's key (a join or rekey in progress), in ms. */
export const KEY_WAIT_MS = 4000;

/** The media type a sealed chat message is bound to (not a wire media type). */
const CHAT_MEDIA_TYPE = 0xff;

/** A media packet as a room sends it: everything but the user id, which the room fills in. */
export type OutgoingMedia = Omit<MediaPacket, "userId">;

/** The clear header fields of a media packet, as bound to its ciphertext. */
function headerFields(media: OutgoingMedia, layer: number) {
  return {
    mediaType: media.mediaType,
    sequence: media.videoMetadata?.sequence ?? media.audioMetadata?.sequence ?? 0n,
    key: media.frameType === "key",
    layer,
  };
}

/** A room's encryption: whether our media is sealed, and the key exchange behind it. */
export class RoomEncryption {
  /** The key exchange and keyring (identities, keys, safety code). */
  readonly session: E2eeSession;
  /** Our media and chat are sealed while this is true. */
  enabled: boolean;
  /** The meeting requires E2EE: clear media or chat from others is refused, ours always sealed. */
  required = false;

  constructor(enabled: boolean, options: E2eeSessionOptions) {
    this.enabled = enabled;
    this.session = new E2eeSession(options);
  }

  /** Whether `media` must be sealed before it leaves. */
  seals(media: OutgoingMedia): boolean {
    return this.enabled && SEALED_MEDIA_TYPES.has(media.mediaType);
  }

  /**
   * Seals `media` from `sender` (our session), sent as simulcast layer `layer`: the payload (or a
   * heartbeat's flags) becomes ciphertext. Undefined when we have no key yet.
   */
  sealMedia(
    media: OutgoingMedia,
    sender: bigint,
    layer = 0,
  ): Promise<OutgoingMedia> | undefined {
    const plain = media.mediaType === MediaType.HEARTBEAT
      ? encodeHeartbeatMetadata(media.heartbeatMetadata!)
      : media.data;
    const sealing = this.session.encrypt(headerFields(media, layer), new Uint8Array(plain), sender);
    return sealing?.then(({ keyId, payload }) => ({
      ...media,
      heartbeatMetadata: undefined,
      data: payload,
      encrypted: true,
      keyId,
    }));
  }

  /**
   * Opens a sealed packet from `sender` that arrived as simulcast layer `layer`: undefined when it
   * cannot be read — sent before we joined (`failed` false: we were never meant to read it) or a
   * real failure (`failed` true).
   */
  async openMedia(
    media: MediaPacket,
    sender: bigint,
    layer = 0,
  ): Promise<{ media?: MediaPacket; failed: boolean }> {
    const header: FrameHeader = {
      ...headerFields(media, layer),
      senderSession: sender,
      keyId: media.keyId ?? 0,
    };
    const plain = await this.session.decrypt(header, new Uint8Array(media.data), KEY_WAIT_MS);
    if (plain === undefined) return { failed: !this.session.predates(header) };
    if (media.mediaType === MediaType.HEARTBEAT) {
      const flags = decodeHeartbeatMetadata(plain);
      if (!flags.ok) return { failed: true };
      return {
        media: { ...media, data: new Uint8Array(0), heartbeatMetadata: flags.value },
        failed: false,
      };
    }
    return { media: { ...media, data: plain }, failed: false };
  }

  /**
   * Seals a chat message: its id travels inside the ciphertext and its time is bound as the
   * sequence, so a relay can neither replay it under a new id nor change when it was sent.
   */
  sealChat(
    id: string,
    text: string,
    sentAtMs: number,
    sender: bigint,
  ): Promise<ChatPacket> | undefined {
    const sealing = this.session.encrypt(
      { mediaType: CHAT_MEDIA_TYPE, sequence: BigInt(sentAtMs), key: false },
      new TextEncoder().encode(`${id}\n${text}`),
      sender,
    );
    return sealing?.then(({ keyId, payload }) => ({
      messageId: id,
      text: "",
      sentAtMs: BigInt(sentAtMs),
      sealed: payload,
      keyId,
    }));
  }

  /** Opens a sealed chat message: its text, or undefined when it is not authentic. */
  async openChat(chat: ChatPacket, sender: bigint): Promise<string | undefined> {
    const plain = await this.session.decrypt(
      {
        mediaType: CHAT_MEDIA_TYPE,
        sequence: chat.sentAtMs,
        key: false,
        senderSession: sender,
        keyId: chat.keyId ?? 0,
      },
      new Uint8Array(chat.sealed ?? []),
      KEY_WAIT_MS,
    );
    if (plain === undefined) return undefined;
    const text = new TextDecoder().decode(plain);
    const newline = text.indexOf("\n");
    // The id inside must be the id outside (no replay under another id).
    if (newline === -1 || text.slice(0, newline) !== chat.messageId) return undefined;
    return text.slice(newline + 1);
  }

  /** The safety code over everyone's identities (compare it with the others'). */
  safetyCode(): Promise<string | undefined> {
    return this.session.safetyCode();
  }

  close(): void {
    this.session.close();
  }
}
