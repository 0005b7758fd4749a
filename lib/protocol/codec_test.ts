import { assert, assertEquals, assertFalse } from "../../tests/support/assert.ts";
import protobuf from "protobufjs";
import {
  decodeDiagnosticsPacket,
  decodeLayerPreferencePacket,
  decodeMediaPacket,
  decodeMeetingPacket,
  decodePacketWrapper,
  decodeViewportPacket,
  encodeDiagnosticsPacket,
  encodeLayerPreferencePacket,
  encodeMediaPacket,
  encodeMeetingPacket,
  encodePacketWrapper,
  encodeViewportPacket,
  MAX_REPEATED_ITEMS,
} from "./codec.ts";
import { MediaType, MeetingEventType, PacketType, VideoCodec } from "./packets.ts";
import type { MediaPacket, MeetingPacket } from "./packets.ts";

const enc = new TextEncoder();
const schema = protobuf.parse(
  Deno.readTextFileSync(new URL("../../proto/videocall.proto", import.meta.url)),
  { keepCase: true },
).root;

const media: MediaPacket = {
  mediaType: MediaType.VIDEO,
  userId: enc.encode("alice"),
  data: new Uint8Array([9, 8, 7, 6]),
  frameType: "key",
  timestamp: 1234.5,
  duration: 33.3,
  videoMetadata: { sequence: 2n ** 40n + 3n, codec: VideoCodec.VP9_PROFILE0_LEVEL10_8BIT },
  heartbeatMetadata: {
    videoEnabled: true,
    audioEnabled: false,
    screenEnabled: true,
    isSpeaking: false,
  },
};

Deno.test("encodeMediaPacket() output is read by protobufjs with the .proto schema", () => {
  const type = schema.lookupType("videocall.MediaPacket");
  const obj = type.toObject(type.decode(encodeMediaPacket(media)), { longs: String, bytes: Array });
  assertEquals(obj.media_type, MediaType.VIDEO);
  assertEquals(obj.frame_type, "key");
  assertEquals(obj.timestamp, 1234.5);
  assertEquals(obj.video_metadata.sequence, (2n ** 40n + 3n).toString());
  assertEquals(obj.video_metadata.codec, VideoCodec.VP9_PROFILE0_LEVEL10_8BIT);
  assertEquals(obj.heartbeat_metadata.screen_enabled, true);
  assertEquals(obj.data, [9, 8, 7, 6]);
});

Deno.test("decodeMediaPacket() reads what protobufjs encodes with the .proto schema", () => {
  const type = schema.lookupType("videocall.MediaPacket");
  const bytes = type.encode(type.fromObject({
    media_type: MediaType.AUDIO,
    data: [1, 2, 3],
    frame_type: "key",
    audio_metadata: {
      audio_format: "opus",
      audio_number_of_channels: 1,
      audio_sample_rate: 48000,
      sequence: "77",
    },
  })).finish();
  const decoded = decodeMediaPacket(bytes);
  assert(decoded.ok);
  assertEquals(decoded.value.mediaType, MediaType.AUDIO);
  assertEquals(decoded.value.audioMetadata?.audioFormat, "opus");
  assertEquals(decoded.value.audioMetadata?.audioSampleRate, 48000);
  assertEquals(decoded.value.audioMetadata?.sequence, 77n);
  assertEquals(decoded.value.videoMetadata, undefined);
  assertEquals([...decoded.value.data], [1, 2, 3]);
});

Deno.test("MeetingPacket round-trips, including a negative int64 and a 64-bit session id", () => {
  const packet: MeetingPacket = {
    eventType: MeetingEventType.PARTICIPANT_JOINED,
    roomId: "standup",
    startTimeMs: 1_700_000_000_000n,
    message: "alice has joined the meeting",
    creatorId: enc.encode("bob"),
    participantCount: -1n,
    targetUserId: enc.encode("alice"),
    roomToken: "",
    sessionId: 0xffff_ffff_ffff_fff0n,
    displayName: enc.encode("Alice"),
  };
  const decoded = decodeMeetingPacket(encodeMeetingPacket(packet));
  assert(decoded.ok);
  assertEquals(decoded.value, packet);
  const type = schema.lookupType("videocall.MeetingPacket");
  const obj = type.toObject(type.decode(encodeMeetingPacket(packet)), { longs: String });
  assertEquals(obj.session_id, (0xffff_ffff_ffff_fff0n).toString());
  assertEquals(obj.participant_count, "-1");
});

Deno.test("DiagnosticsPacket round-trips with its nested metrics", () => {
  const packet = {
    streamId: "s1",
    senderId: "alice",
    targetId: "bob",
    timestampMs: 5n,
    mediaType: MediaType.VIDEO,
    videoMetrics: { fpsReceived: 29.5, bitrateKbps: 900 },
    audioMetrics: undefined,
  };
  const decoded = decodeDiagnosticsPacket(encodeDiagnosticsPacket(packet));
  assert(decoded.ok);
  assertEquals(decoded.value, packet);
});

Deno.test("decodePacketWrapper() keeps unknown fields out and skips them", () => {
  const w = new protobuf.Writer();
  w.uint32((1 << 3) | 0).int32(PacketType.MEDIA);
  w.uint32((15 << 3) | 2).bytes(new Uint8Array([1, 2, 3]));
  w.uint32((3 << 3) | 2).bytes(new Uint8Array([4]));
  const decoded = decodePacketWrapper(w.finish());
  assert(decoded.ok);
  assertEquals(decoded.value.packetType, PacketType.MEDIA);
  assertEquals([...decoded.value.data], [4]);
});

Deno.test("decodePacketWrapper() returns typed errors for truncated and mistyped input", () => {
  const full = encodePacketWrapper({
    packetType: PacketType.MEDIA,
    userId: enc.encode("alice"),
    data: new Uint8Array(100),
    sessionId: 1n,
  });
  const truncated = decodePacketWrapper(full.subarray(0, full.length - 10));
  assertFalse(truncated.ok);
  assertEquals(truncated.error.name, "DecodeError");
  assertEquals(truncated.error.messageType, "PacketWrapper");
  // Field 2 (bytes) sent as a varint.
  const mistyped = decodePacketWrapper(new Uint8Array([(2 << 3) | 0, 5]));
  assertFalse(mistyped.ok);
  assert(mistyped.error.message.includes("wire type"), mistyped.error.message);
  // Field number 0 is never valid.
  assertFalse(decodePacketWrapper(new Uint8Array([0, 0])).ok);
  // A length far beyond the buffer.
  assertFalse(decodePacketWrapper(new Uint8Array([(3 << 3) | 2, 0xff, 0xff, 0xff, 0x0f])).ok);
});

Deno.test("decoders never throw on random bytes", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const decoders = [
    decodePacketWrapper,
    decodeMediaPacket,
    decodeMeetingPacket,
    decodeDiagnosticsPacket,
  ];
  let failures = 0;
  for (let i = 0; i < 20_000; i++) {
    const bytes = new Uint8Array(Math.floor(rand() * 64));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
    for (const decode of decoders) {
      const result = decode(bytes);
      if (!result.ok) failures++;
    }
  }
  // Random bytes mostly fail to parse; what matters is that nothing threw.
  assert(failures > 0);
});

Deno.test("repeated fields: packed and unpacked numbers, repeated messages, and a cap on items", () => {
  const viewport = { sessionIds: [1n, 2n ** 64n - 1n, 300n] };
  const bytes = encodeViewportPacket(viewport);
  const decoded = decodeViewportPacket(bytes);
  assert(decoded.ok);
  assertEquals(decoded.value, viewport);
  // Unpacked, as some encoders write repeated numbers: one tag per item.
  const w = new protobuf.Writer();
  for (const id of [7, 8]) w.uint32(1 << 3).uint64(id);
  const unpacked = decodeViewportPacket(w.finish());
  assert(unpacked.ok);
  assertEquals(unpacked.value.sessionIds, [7n, 8n]);
  const prefs = {
    entries: [
      { sessionId: 42n, desiredLayer: 1, mediaKind: 1 },
      { sessionId: 43n, desiredLayer: 0, mediaKind: 3 },
    ],
  };
  const back = decodeLayerPreferencePacket(encodeLayerPreferencePacket(prefs));
  assert(back.ok);
  assertEquals(back.value, prefs);
  assertEquals(decodeViewportPacket(new Uint8Array(0)), { ok: true, value: { sessionIds: [] } });
  const tooMany = decodeViewportPacket(
    encodeViewportPacket({
      sessionIds: Array.from({ length: MAX_REPEATED_ITEMS + 1 }, (_, i) => BigInt(i)),
    }),
  );
  assert(!tooMany.ok);
  assert(tooMany.error.message.includes(`more than ${MAX_REPEATED_ITEMS} items`));
  // A packed run that claims more bytes than its message has.
  const lying = decodeViewportPacket(new Uint8Array([0x0a, 0x05, 0x01]));
  assert(!lying.ok);
});
