/**
 * Fuzz targets for the client's end-to-end encryption (`lib/client/encryption.ts` on
 * `lib/client/e2ee/`), with real keys: two participants exchange identities and keys in memory
 * first, then the receiver is given mutations of what the sender really sent.
 *
 * - `e2ee.frame`: the frame cipher alone, under a fixed key (so a failing input replays):
 *   `decryptFrame` never rejects, and opens a payload only under the header it was sealed with.
 * - `e2ee.open`: sealed media and chat. `openMedia` and `openChat` never reject; a packet opens
 *   only when every field bound to its ciphertext (sender, media type, key id, sequence, key
 *   flag, simulcast layer, chat id and time) and the ciphertext itself are exactly what was
 *   sent, and then to what was sent.
 * - `e2ee.key_packets`: identity and key packets. `E2eeSession.received` never rejects, and the
 *   receiver never holds a key of the sender that the sender did not give it.
 *
 * @module
 */
import {
  decodeChatPacket,
  decodeE2eePacket,
  decodeMediaPacket,
  decodePacketWrapper,
  encodeChatPacket,
  encodeE2eePacket,
  encodeMediaPacket,
  encodePacketWrapper,
} from "../../lib/protocol/codec.ts";
import {
  type E2eePacket,
  MediaKind,
  type MediaPacket,
  MediaType,
  PacketType,
  type PacketWrapper,
} from "../../lib/protocol/packets.ts";
import { type OutgoingMedia, RoomEncryption } from "../../lib/client/encryption.ts";
import {
  decryptFrame,
  encryptFrame,
  type FrameHeader,
} from "../../lib/client/e2ee/frame_cipher.ts";
import { SECRET_BYTES, SenderKey } from "../../lib/client/e2ee/sender_key.ts";
import { assertEquals } from "../support/assert.ts";
import { expect, type FuzzTarget, Rng, toHex } from "../support/fuzz.ts";
import { mutateProtobuf } from "./protobuf_mutator.ts";
import { randomBytes, randomText } from "./values.ts";

const SENDER = 1n;
const RECEIVER = 2n;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Pair {
  sender: RoomEncryption;
  receiver: RoomEncryption;
  /** Every key packet the sender sent, in order. */
  sent: E2eePacket[];
}

/** Two participants wired to each other, once both hold the other's key. */
async function pair(): Promise<Pair> {
  const members = new Map<bigint, RoomEncryption>();
  const sent: E2eePacket[] = [];
  const join = (id: bigint) => {
    const encryption = new RoomEncryption(true, {
      isMember: (session) => members.has(session),
      send: (packet) => {
        if (id === SENDER) sent.push(packet);
        for (const [other, peer] of members) {
          if (other !== id) void peer.session.received(id, packet);
        }
      },
    });
    members.set(id, encryption);
    return encryption;
  };
  const sender = join(SENDER);
  const receiver = join(RECEIVER);
  await sender.session.connected(SENDER);
  await receiver.session.connected(RECEIVER);
  for (let i = 0; i < 250; i++) {
    if (receiver.session.keyring.has(SENDER) && sender.session.keyring.has(RECEIVER)) break;
    await sleep(20);
  }
  expect(receiver.session.keyring.has(SENDER), "the key exchange did not finish");
  return { sender, receiver, sent };
}

/** Waits until queued key work is done, so closing leaves no timers behind. */
async function closePair(p: Pair): Promise<void> {
  p.sender.close();
  p.receiver.close();
  // Work queued before the close runs to its end; a packet after it does nothing.
  const idle: E2eePacket = {
    kind: 0,
    publicKey: new Uint8Array(0),
    toSession: 0n,
    keyId: 0,
    wrapped: new Uint8Array(0),
  };
  await p.sender.session.received(RECEIVER, idle);
  await p.receiver.session.received(SENDER, idle);
}

// The fields a sealed media packet's ciphertext is bound to, and the ciphertext, as one key.
function mediaBinding(sender: bigint, media: MediaPacket, layer: number): string {
  const sequence = media.videoMetadata?.sequence ?? media.audioMetadata?.sequence ?? 0n;
  return [
    "media",
    sender,
    media.mediaType,
    media.keyId ?? 0,
    sequence,
    media.frameType === "key",
    layer,
    toHex(media.data),
  ].join("|");
}

function chatBinding(
  sender: bigint,
  chat: { messageId: string; sentAtMs: bigint; keyId?: number; sealed?: Uint8Array },
): string {
  return [
    "chat",
    sender,
    chat.keyId ?? 0,
    chat.sentAtMs,
    chat.messageId,
    toHex(chat.sealed ?? new Uint8Array(0)),
  ].join("|");
}

// The header a sealed MEDIA packet in a wrapper is opened under (what RoomEncryption binds).
function frameHeader(wrapper: PacketWrapper, media: MediaPacket): FrameHeader {
  return {
    senderSession: wrapper.sessionId,
    mediaType: media.mediaType,
    keyId: media.keyId ?? 0,
    sequence: media.videoMetadata?.sequence ?? media.audioMetadata?.sequence ?? 0n,
    key: media.frameType === "key",
    layer: wrapper.simulcastLayerId ?? 0,
  };
}

const FIXED_KEY_ID = 0x10001;
let fixedKey: SenderKey | undefined;
/** Binding → plaintext (hex) of every frame sealed under the fixed key. */
const framesSealed = new Map<string, string>();
let frameSeeds: Uint8Array[] = [];

/** The frame cipher under a fixed key. */
export const e2eeFrameTarget: FuzzTarget = {
  name: "e2ee.frame",
  maxInputBytes: 1024,
  async open() {
    const secret = new Uint8Array(SECRET_BYTES).map((_, i) => i * 7 + 1);
    fixedKey = await SenderKey.fromSecret(FIXED_KEY_ID, secret);
    const rng = new Rng(0xf4a3e);
    frameSeeds = [];
    for (let i = 0; i < 24; i++) {
      const mediaType = rng.pick([MediaType.VIDEO, MediaType.AUDIO, MediaType.SCREEN]);
      const media: MediaPacket = {
        mediaType,
        userId: new Uint8Array(0),
        data: new Uint8Array(0),
        frameType: rng.pick(["key", "delta"]),
        timestamp: i,
        duration: 0,
        keyId: FIXED_KEY_ID,
        encrypted: true,
        ...(mediaType === MediaType.AUDIO
          ? {
            audioMetadata: {
              audioFormat: "opus",
              audioNumberOfChannels: 1,
              audioNumberOfFrames: 960,
              audioSampleRate: 48000,
              sequence: BigInt(i),
            },
          }
          : { videoMetadata: { sequence: BigInt(i), codec: 2 } }),
      };
      const wrapper: PacketWrapper = {
        packetType: PacketType.MEDIA,
        userId: new Uint8Array(0),
        data: new Uint8Array(0),
        sessionId: SENDER,
        simulcastLayerId: mediaType === MediaType.VIDEO ? rng.below(3) : 0,
      };
      const plain = randomBytes(rng, 40);
      media.data = await encryptFrame(fixedKey, frameHeader(wrapper, media), plain);
      wrapper.data = encodeMediaPacket(media);
      framesSealed.set(mediaBinding(SENDER, media, wrapper.simulcastLayerId!), toHex(plain));
      frameSeeds.push(encodePacketWrapper(wrapper));
    }
  },
  close() {
    fixedKey = undefined;
    framesSealed.clear();
  },
  seeds: () => frameSeeds.map((s) => s.slice()),
  mutate: mutateProtobuf,
  async check(input) {
    const wrapper = decodePacketWrapper(input);
    if (!wrapper.ok || wrapper.value.packetType !== PacketType.MEDIA) return false;
    const media = decodeMediaPacket(wrapper.value.data);
    if (!media.ok) return false;
    const header = frameHeader(wrapper.value, media.value);
    const plain = await decryptFrame(fixedKey!, header, new Uint8Array(media.value.data));
    if (plain === undefined) return false;
    const binding = mediaBinding(header.senderSession, media.value, header.layer!);
    expect(framesSealed.get(binding) === toHex(plain), `opened under another header: ${binding}`);
    return true;
  },
};

let openPair: Pair | undefined;
/** Binding → what was sealed under it (media: the packet as sent before sealing). */
const sealed = new Map<string, OutgoingMedia | string>();
let openSeeds: Uint8Array[] = [];

async function sealSeeds(p: Pair): Promise<Uint8Array[]> {
  const rng = new Rng(0x5ea1);
  const seeds: Uint8Array[] = [];
  for (let i = 0; i < 24; i++) {
    const mediaType = rng.pick([
      MediaType.VIDEO,
      MediaType.AUDIO,
      MediaType.SCREEN,
      MediaType.HEARTBEAT,
    ]);
    const layer = mediaType === MediaType.VIDEO ? rng.below(3) : 0;
    const media: OutgoingMedia = {
      mediaType,
      data: mediaType === MediaType.HEARTBEAT ? new Uint8Array(0) : randomBytes(rng, 60),
      frameType: rng.pick(["key", "delta"]),
      timestamp: 1000 + i,
      duration: 20,
      ...(mediaType === MediaType.AUDIO
        ? {
          audioMetadata: {
            audioFormat: "opus",
            audioNumberOfChannels: 1,
            audioNumberOfFrames: 960,
            audioSampleRate: 48000,
            sequence: BigInt(i),
          },
        }
        : mediaType === MediaType.HEARTBEAT
        ? {
          heartbeatMetadata: {
            videoEnabled: true,
            audioEnabled: rng.chance(0.5),
            screenEnabled: false,
            isSpeaking: rng.chance(0.5),
            transportType: rng.below(3),
          },
        }
        : { videoMetadata: { sequence: BigInt(i), codec: 2 } }),
    };
    const out = await p.sender.sealMedia(media, SENDER, layer);
    expect(out !== undefined, "the sender has no key");
    const packet: MediaPacket = { ...out, userId: new Uint8Array(0) };
    sealed.set(mediaBinding(SENDER, packet, layer), media);
    seeds.push(encodePacketWrapper({
      packetType: PacketType.MEDIA,
      userId: new TextEncoder().encode("alice"),
      data: encodeMediaPacket(packet),
      sessionId: SENDER,
      simulcastLayerId: layer,
      mediaKind: mediaType === MediaType.AUDIO ? MediaKind.AUDIO : MediaKind.VIDEO,
    }));
  }
  for (let i = 0; i < 12; i++) {
    const text = randomText(rng, 20) + "!";
    const chat = await p.sender.sealChat(`m-${i}`, text, 1_700_000_000_000 + i, SENDER);
    expect(chat !== undefined, "the sender has no key");
    // What arrives is the text as UTF-8 holds it (a lone surrogate becomes U+FFFD).
    sealed.set(chatBinding(SENDER, chat), new TextDecoder().decode(new TextEncoder().encode(text)));
    seeds.push(encodePacketWrapper({
      packetType: PacketType.CHAT,
      userId: new Uint8Array(0),
      data: encodeChatPacket(chat),
      sessionId: SENDER,
    }));
  }
  return seeds;
}

/** Sealed media and chat, opened by a receiver that holds the sender's key. */
export const e2eeOpenTarget: FuzzTarget = {
  name: "e2ee.open",
  maxInputBytes: 1024,
  async open() {
    openPair = await pair();
    openSeeds = await sealSeeds(openPair);
    // Closed, the receiver still opens with the keys it holds, but never waits for a key.
    await closePair(openPair);
  },
  close() {
    openPair = undefined;
    sealed.clear();
  },
  seeds: () => openSeeds.map((s) => s.slice()),
  mutate: mutateProtobuf,
  async check(input) {
    const receiver = openPair!.receiver;
    const wrapper = decodePacketWrapper(input);
    if (!wrapper.ok) return false;
    const { packetType, data, sessionId: sender } = wrapper.value;
    if (packetType === PacketType.MEDIA) {
      const media = decodeMediaPacket(data);
      if (!media.ok || !media.value.encrypted) return false;
      const layer = wrapper.value.simulcastLayerId ?? 0;
      const opened = await receiver.openMedia(media.value, sender, layer);
      expect(typeof opened.failed === "boolean", "openMedia gave no verdict");
      if (opened.media === undefined) return false;
      const original = sealed.get(mediaBinding(sender, media.value, layer));
      expect(
        typeof original === "object",
        `media opened that was never sealed so: ${mediaBinding(sender, media.value, layer)}`,
      );
      if (original.mediaType === MediaType.HEARTBEAT) {
        assertEquals(opened.media.heartbeatMetadata, original.heartbeatMetadata, "heartbeat");
      } else {
        assertEquals(opened.media.data, original.data, "opened media");
      }
      return true;
    }
    if (packetType === PacketType.CHAT) {
      const chat = decodeChatPacket(data);
      if (!chat.ok || (chat.value.sealed?.length ?? 0) === 0) return false;
      const text = await receiver.openChat(chat.value, sender);
      if (text === undefined) return false;
      const original = sealed.get(chatBinding(sender, chat.value));
      expect(original === text, `a chat message opened that was never sealed so`);
      return true;
    }
    return false;
  },
};

let keyPair: Pair | undefined;
/** Key id → secret (hex) of every key the sender gave the receiver. */
const given = new Map<number, string>();
let keySeeds: Uint8Array[] = [];

function wrapE2ee(packet: E2eePacket, from = SENDER): Uint8Array {
  return encodePacketWrapper({
    packetType: PacketType.E2EE,
    userId: new Uint8Array(0),
    data: encodeE2eePacket(packet),
    sessionId: from,
  });
}

/** Identity and key packets, as the sender sent them, and then mutated. */
export const e2eeKeyPacketsTarget: FuzzTarget = {
  name: "e2ee.key_packets",
  maxInputBytes: 1024,
  async open() {
    keyPair = await pair();
    for (const key of keyPair.receiver.session.keyring.keys(SENDER)) {
      given.set(key.keyId, toHex(key.secret));
    }
    keySeeds = keyPair.sent.map((packet) => wrapE2ee(packet));
    // The same packets as if from someone the receiver does not know.
    keySeeds.push(...keyPair.sent.map((packet) => wrapE2ee(packet, 3n)));
  },
  async close() {
    if (keyPair !== undefined) await closePair(keyPair);
    keyPair = undefined;
    given.clear();
  },
  seeds: () => keySeeds.map((s) => s.slice()),
  mutate: mutateProtobuf,
  async check(input) {
    const receiver = keyPair!.receiver;
    const wrapper = decodePacketWrapper(input);
    if (!wrapper.ok || wrapper.value.packetType !== PacketType.E2EE) return false;
    const packet = decodeE2eePacket(wrapper.value.data);
    if (!packet.ok) return false;
    await receiver.session.received(wrapper.value.sessionId, packet.value);
    const held = receiver.session.keyring.keys(wrapper.value.sessionId);
    if (wrapper.value.sessionId !== SENDER) {
      expect(held.length === 0, `a key of session ${wrapper.value.sessionId} appeared`);
      return false;
    }
    for (const key of held) {
      expect(given.get(key.keyId) === toHex(key.secret), `a key ${key.keyId} nobody gave`);
    }
    if (receiver.session.keyChanges.has(SENDER)) {
      // A different valid identity for the sender (a relay may do that; the safety code shows
      // it): put the real one back, and its key, for the inputs that follow.
      receiver.session.keyChanges.delete(SENDER);
      for (const real of keyPair!.sent) await receiver.session.received(SENDER, real);
    }
    return true;
  },
};

/** Every E2EE target. */
export const e2eeTargets: FuzzTarget[] = [e2eeFrameTarget, e2eeOpenTarget, e2eeKeyPacketsTarget];
