/**
 * Fuzz targets for the wire codec (`lib/protocol/codec.ts` on `message_codec.ts`): the packet
 * wrapper with whatever its `data` holds, the media packet, and every control packet, each on
 * its own; the relay's fast wrapper encoder (`wire.ts`) against the generic one; and the
 * length-prefixed framing (`framing.ts`).
 *
 * The codec's contract: `decode` never throws; it returns `{ ok: true, value }` or
 * `{ ok: false, error }` with a `DecodeError` naming the message, whose cause is a parse error
 * and never an exhausted resource (no stack overflow, no failed allocation). A decoded value
 * encodes, and decodes again to a deeply equal value, and encoding that gives the same bytes.
 *
 * @module
 */
import {
  decodeActiveSpeakersPacket,
  decodeAesPacket,
  decodeChatPacket,
  decodeConnectionPacket,
  decodeDiagnosticsPacket,
  decodeE2eePacket,
  DecodeError,
  decodeHeartbeatMetadata,
  decodeLayerHintPacket,
  decodeLayerPreferencePacket,
  decodeMediaPacket,
  decodeMeetingPacket,
  decodePacketWrapper,
  decodeRaiseHandPacket,
  decodeReactionPacket,
  type DecodeResult,
  decodeRsaPacket,
  decodeViewportPacket,
  encodeActiveSpeakersPacket,
  encodeAesPacket,
  encodeChatPacket,
  encodeConnectionPacket,
  encodeDiagnosticsPacket,
  encodeE2eePacket,
  encodeHeartbeatMetadata,
  encodeLayerHintPacket,
  encodeLayerPreferencePacket,
  encodeMediaPacket,
  encodeMeetingPacket,
  encodePacketWrapper,
  encodeRaiseHandPacket,
  encodeReactionPacket,
  encodeRsaPacket,
  encodeViewportPacket,
} from "../../lib/protocol/codec.ts";
import { encodeFrame, FrameReader, FrameTooLargeError } from "../../lib/protocol/framing.ts";
import { DEFAULT_MAX_PACKET_BYTES } from "../../lib/protocol/limits.ts";
import {
  type DiagnosticsPacket,
  E2eeKind,
  type HeartbeatMetadata,
  MediaKind,
  type MediaPacket,
  MediaType,
  MeetingEventType,
  PacketType,
  type PacketWrapper,
  VideoCodec,
} from "../../lib/protocol/packets.ts";
import { encodeWrapperFast } from "../../lib/protocol/wire.ts";
import { assertEquals } from "../support/assert.ts";
import {
  expect,
  expectProportionate,
  expectThrownType,
  type FuzzTarget,
  hash32,
  type Rng,
} from "../support/fuzz.ts";
import { mutateProtobuf } from "./protobuf_mutator.ts";
import {
  chunksOf,
  concat,
  expectResultShape,
  randomBytes,
  randomDouble,
  randomEnum,
  randomFloat,
  randomText,
  randomUint32,
  randomUtf8,
  sameBytes,
} from "./values.ts";

/** One message type of the codec: its name, decoder, encoder, and random valid values. */
interface Codec<T> {
  name: string;
  decode(bytes: Uint8Array): DecodeResult<T>;
  encode(value: T): Uint8Array;
  sample(rng: Rng): T;
}

function codec<T>(
  name: string,
  decode: (bytes: Uint8Array) => DecodeResult<T>,
  encode: (value: T) => Uint8Array,
  sample: (rng: Rng) => T,
): Codec<T> {
  return { name, decode, encode, sample };
}

const heartbeat = (rng: Rng): HeartbeatMetadata => ({
  videoEnabled: rng.chance(0.5),
  audioEnabled: rng.chance(0.5),
  screenEnabled: rng.chance(0.5),
  isSpeaking: rng.chance(0.5),
  ...(rng.chance(0.5) ? { transportType: rng.below(3) } : {}),
});

const media = (rng: Rng): MediaPacket => {
  const packet: MediaPacket = {
    mediaType: randomEnum(rng, MediaType),
    userId: randomUtf8(rng),
    data: randomBytes(rng, 200),
    frameType: rng.pick(["key", "delta", "", randomText(rng)]),
    timestamp: randomDouble(rng),
    duration: randomDouble(rng),
  };
  if (rng.chance(0.4)) {
    packet.audioMetadata = {
      audioFormat: rng.pick(["opus", "", randomText(rng)]),
      audioNumberOfChannels: randomUint32(rng),
      audioNumberOfFrames: randomUint32(rng),
      audioSampleRate: randomFloat(rng),
      sequence: rng.uint64(),
    };
  }
  if (rng.chance(0.4)) {
    packet.videoMetadata = { sequence: rng.uint64(), codec: randomEnum(rng, VideoCodec) };
  }
  if (rng.chance(0.3)) packet.heartbeatMetadata = heartbeat(rng);
  if (rng.chance(0.3)) packet.targetSessionId = rng.uint64();
  if (rng.chance(0.3)) packet.encrypted = rng.chance(0.5);
  if (rng.chance(0.3)) packet.keyId = randomUint32(rng);
  return packet;
};

const diagnostics = (rng: Rng): DiagnosticsPacket => ({
  streamId: randomText(rng),
  senderId: randomText(rng),
  targetId: randomText(rng),
  timestampMs: rng.uint64(),
  mediaType: randomEnum(rng, MediaType),
  ...(rng.chance(0.5)
    ? { videoMetrics: { fpsReceived: randomFloat(rng), bitrateKbps: randomUint32(rng) } }
    : {}),
  ...(rng.chance(0.5)
    ? { audioMetrics: { fpsReceived: randomFloat(rng), bitrateKbps: randomUint32(rng) } }
    : {}),
});

const sessions = (rng: Rng): bigint[] =>
  Array.from({ length: rng.below(rng.chance(0.9) ? 6 : 1025) }, () => rng.uint64());

/** Every message of the wire schema that has a decoder, keyed by the packet type carrying it. */
export const CODECS = {
  media: codec("MediaPacket", decodeMediaPacket, encodeMediaPacket, media),
  heartbeat: codec(
    "HeartbeatMetadata",
    decodeHeartbeatMetadata,
    encodeHeartbeatMetadata,
    heartbeat,
  ),
  meeting: codec("MeetingPacket", decodeMeetingPacket, encodeMeetingPacket, (rng) => ({
    eventType: randomEnum(rng, MeetingEventType),
    roomId: randomText(rng),
    startTimeMs: rng.uint64(),
    message: randomText(rng),
    creatorId: randomUtf8(rng),
    participantCount: BigInt.asIntN(64, rng.uint64()),
    targetUserId: randomUtf8(rng),
    roomToken: randomText(rng),
    sessionId: rng.uint64(),
    displayName: randomUtf8(rng),
  })),
  rsa: codec("RsaPacket", decodeRsaPacket, encodeRsaPacket, (rng) => ({
    publicKeyDer: randomBytes(rng, 300),
    userId: randomUtf8(rng),
  })),
  aes: codec("AesPacket", decodeAesPacket, encodeAesPacket, (rng) => ({
    key: randomBytes(rng),
    iv: randomBytes(rng, 16),
  })),
  connection: codec(
    "ConnectionPacket",
    decodeConnectionPacket,
    encodeConnectionPacket,
    (rng) => ({ meetingId: randomText(rng) }),
  ),
  diagnostics: codec(
    "DiagnosticsPacket",
    decodeDiagnosticsPacket,
    encodeDiagnosticsPacket,
    diagnostics,
  ),
  chat: codec("ChatPacket", decodeChatPacket, encodeChatPacket, (rng) => ({
    messageId: randomText(rng, 4),
    text: randomText(rng, 40),
    sentAtMs: rng.uint64(),
    ...(rng.chance(0.4) ? { sealed: randomBytes(rng, 80), keyId: randomUint32(rng) } : {}),
  })),
  e2ee: codec("E2eePacket", decodeE2eePacket, encodeE2eePacket, (rng) => ({
    kind: rng.chance(0.9) ? rng.pick(Object.values(E2eeKind)) : randomUint32(rng),
    publicKey: randomBytes(rng, 70),
    toSession: rng.uint64(),
    keyId: randomUint32(rng),
    wrapped: randomBytes(rng, 60),
  })),
  viewport: codec(
    "ViewportPacket",
    decodeViewportPacket,
    encodeViewportPacket,
    (rng) => ({ sessionIds: sessions(rng) }),
  ),
  layerPreference: codec(
    "LayerPreferencePacket",
    decodeLayerPreferencePacket,
    encodeLayerPreferencePacket,
    (rng) => ({
      entries: Array.from({ length: rng.below(6) }, () => ({
        sessionId: rng.uint64(),
        desiredLayer: randomUint32(rng),
        mediaKind: randomEnum(rng, MediaKind),
      })),
    }),
  ),
  layerHint: codec("LayerHintPacket", decodeLayerHintPacket, encodeLayerHintPacket, (rng) => ({
    entries: Array.from({ length: rng.below(4) }, () => ({
      mediaKind: randomEnum(rng, MediaKind),
      maxRequestedLayer: randomUint32(rng),
      ...(rng.chance(0.5) ? { unwatched: rng.chance(0.5) } : {}),
    })),
  })),
  activeSpeakers: codec(
    "ActiveSpeakersPacket",
    decodeActiveSpeakersPacket,
    encodeActiveSpeakersPacket,
    (rng) => ({ sessionIds: sessions(rng), dominant: rng.uint64() }),
  ),
  reaction: codec("ReactionPacket", decodeReactionPacket, encodeReactionPacket, (rng) => ({
    reaction: randomEnum(rng, { a: 0, b: 1, c: 2 }),
    displayName: randomUtf8(rng),
  })),
  raiseHand: codec("RaiseHandPacket", decodeRaiseHandPacket, encodeRaiseHandPacket, (rng) => ({
    raised: rng.chance(0.5),
    raisedAtMs: rng.uint64(),
    displayName: randomUtf8(rng),
  })),
} as const;

// A codec of some message, for tables of codecs of different messages.
function erased<T>(c: Codec<T>): Codec<unknown> {
  return c as unknown as Codec<unknown>;
}

/** The codec of what a wrapper of `packetType` carries in `data`, if it has one. */
const CODEC_OF_TYPE: ReadonlyMap<number, Codec<unknown>> = new Map(
  ([
    [PacketType.RSA_PUB_KEY, CODECS.rsa],
    [PacketType.AES_KEY, CODECS.aes],
    [PacketType.MEDIA, CODECS.media],
    [PacketType.CONNECTION, CODECS.connection],
    [PacketType.DIAGNOSTICS, CODECS.diagnostics],
    [PacketType.MEETING, CODECS.meeting],
    [PacketType.VIEWPORT, CODECS.viewport],
    [PacketType.LAYER_PREFERENCE, CODECS.layerPreference],
    [PacketType.LAYER_HINT, CODECS.layerHint],
    [PacketType.REACTION, CODECS.reaction],
    [PacketType.RAISE_HAND, CODECS.raiseHand],
    [PacketType.CHAT, CODECS.chat],
    [PacketType.E2EE, CODECS.e2ee],
    [PacketType.ACTIVE_SPEAKERS, CODECS.activeSpeakers],
  ] as [number, Codec<never>][]).map(([type, c]) => [type, erased(c)]),
);

/**
 * Checks `codec`'s contract on `input` (see the module doc); returns the decoded value, or
 * `{ ok: false }` when the input was refused.
 */
export function checkCodec<T>(
  codec: Codec<T>,
  input: Uint8Array,
): { ok: true; value: T } | { ok: false } {
  const result = codec.decode(input);
  expectResultShape(result, `decode${codec.name}`);
  if (!result.ok) {
    const error = result.error;
    expect(error instanceof DecodeError, `decode${codec.name} failed without a DecodeError`);
    expect(error.messageType === codec.name, `a DecodeError names ${error.messageType}`);
    const cause = error.cause;
    expect(
      !(cause instanceof RangeError) || cause.message.startsWith("index out of range"),
      `decode${codec.name} ran out of a resource: ${String(cause)}`,
    );
    return { ok: false };
  }
  expectProportionate(result.value, input.length, `decode${codec.name}`);
  const encoded = codec.encode(result.value);
  const again = codec.decode(encoded);
  expect(again.ok, `decode${codec.name} rejects what encode${codec.name} made of its value`);
  assertEquals(again.value, result.value, `${codec.name} round trip`);
  expect(
    sameBytes(codec.encode(again.value), encoded),
    `encode${codec.name} is not stable across a round trip`,
  );
  return { ok: true, value: result.value };
}

/** A target for one message of the codec. */
function codecTarget<T>(key: string, codec: Codec<T>): FuzzTarget {
  return {
    name: `codec.${key}`,
    seeds: (rng) => Array.from({ length: 24 }, () => codec.encode(codec.sample(rng))),
    check: (input) => checkCodec(codec, input).ok,
    mutate: mutateProtobuf,
  };
}

// A wrapper as a client or the relay would send it, carrying a valid payload of its type.
function wrapperSample(rng: Rng): PacketWrapper {
  const packetType = rng.chance(0.9)
    ? rng.pick([...CODEC_OF_TYPE.keys(), PacketType.HEALTH, PacketType.CONGESTION])
    : randomEnum(rng, PacketType);
  const inner = CODEC_OF_TYPE.get(packetType);
  const wrapper: PacketWrapper = {
    packetType,
    userId: randomUtf8(rng),
    data: inner ? inner.encode(inner.sample(rng)) : randomBytes(rng),
    sessionId: rng.uint64(),
  };
  if (rng.chance(0.5)) wrapper.simulcastLayerId = rng.chance(0.8) ? rng.below(8) : rng.next();
  if (rng.chance(0.5)) wrapper.mediaKind = randomEnum(rng, MediaKind);
  if (rng.chance(0.3)) wrapper.audioLevel = rng.chance(0.8) ? rng.between(0, 128) : rng.next();
  return wrapper;
}

const wrapperCodec = codec(
  "PacketWrapper",
  decodePacketWrapper,
  encodePacketWrapper,
  wrapperSample,
);

/** Every codec target: one per message, and the wrapper with its payload. */
export const codecTargets: FuzzTarget[] = [
  {
    name: "codec.wrapper",
    seeds: (rng) => Array.from({ length: 48 }, () => encodePacketWrapper(wrapperSample(rng))),
    mutate: mutateProtobuf,
    check(input) {
      const decoded = checkCodec(wrapperCodec, input);
      if (!decoded.ok) return false;
      // The relay's fast encoder writes the same message.
      const fast = decodePacketWrapper(encodeWrapperFast(decoded.value));
      expect(fast.ok, "decodePacketWrapper rejects what encodeWrapperFast made");
      assertEquals(fast.value, decoded.value, "encodeWrapperFast round trip");
      // What the wrapper carries, as its receiver decodes it.
      const inner = CODEC_OF_TYPE.get(decoded.value.packetType);
      if (inner !== undefined) checkCodec(inner, decoded.value.data);
      return true;
    },
  },
  ...(Object.entries(CODECS) as [string, Codec<never>][]).map(([key, c]) =>
    codecTarget(key, erased(c))
  ),
];

const FRAME_LIMITS = [0, 1, 16, 300, 4096, DEFAULT_MAX_PACKET_BYTES];

// Reads `input` as one stream of frames, in chunks; the packets, and the error if one ended it.
function readFrames(max: number, chunks: Uint8Array[]) {
  const reader = new FrameReader(max);
  const packets: Uint8Array[] = [];
  let error: FrameTooLargeError | undefined;
  for (const chunk of chunks) {
    try {
      packets.push(...reader.push(chunk));
    } catch (thrown) {
      expectThrownType(thrown, [FrameTooLargeError], "FrameReader.push");
      error = thrown as FrameTooLargeError;
      break;
    }
  }
  return { packets, error, pending: reader.pendingBytes };
}

/**
 * The framing of Deno clients' streams: a reader throws nothing but `FrameTooLargeError`, and
 * only for a length above its limit; packets never exceed the limit; how the stream is cut into
 * chunks changes nothing; every byte is in a packet, its header or the pending count; and the
 * packets framed again read back the same.
 */
export const framingTarget: FuzzTarget = {
  name: "framing",
  seeds: (rng) =>
    Array.from({ length: 24 }, () =>
      concat(
        Array.from({ length: rng.below(5) }, () =>
          encodeFrame(
            rng.chance(0.7) ? encodePacketWrapper(wrapperSample(rng)) : randomBytes(rng, 300),
          )),
      )),
  check(input) {
    const max = FRAME_LIMITS[hash32(input) % FRAME_LIMITS.length];
    const chunked = readFrames(max, chunksOf(input));
    const whole = readFrames(max, [input.slice()]);
    expect(
      (chunked.error === undefined) === (whole.error === undefined),
      "chunking changed whether the stream is refused",
    );
    if (chunked.error !== undefined) {
      expect(chunked.error.length > max, `a frame of ${chunked.error.length} bytes was refused`);
      expect(chunked.error.length === whole.error!.length, "chunking changed the refused length");
      return false;
    }
    assertEquals(chunked.packets, whole.packets, "chunking changed the packets");
    let framed = chunked.pending;
    for (const packet of chunked.packets) {
      expect(packet.length <= max, `a packet of ${packet.length} bytes passed a ${max} limit`);
      framed += 4 + packet.length;
    }
    expect(framed === input.length, `${input.length} bytes in, ${framed} accounted for`);
    const again = readFrames(max, [concat(chunked.packets.map(encodeFrame))]);
    assertEquals(again.packets, chunked.packets, "framing round trip");
    expect(again.pending === 0 && again.error === undefined, "re-framed packets left bytes over");
    return true;
  },
};
