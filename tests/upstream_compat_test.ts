/**
 * A current videocall-rs client against our relay. Its packets are built here byte by byte from
 * upstream's own `.proto` shapes (security-union/videocall-rs, `protobuf/types/`), with a plain
 * protobuf writer — not with our codec, so a codec mistake cannot hide a wire mistake:
 * - VIEWPORT 11 and LAYER_PREFERENCE 12 are taken (selective forwarding; `sfu_test.ts` checks
 *   what they do); the types we do not act on yet (PEER_EVENT 10, LAYER_HINT 13 and
 *   DOWNLINK_CONGESTION 14 sent by a client, REACTION 17, RAISE_HAND 18, MEETING_TIMER 19) and
 *   types newer than all of these are consumed and counted, and the client stays connected;
 * - MEDIA with the clear `simulcast_layer_id` (5) and `media_kind` (6) is relayed with both;
 * - a KEYFRAME_REQUEST naming a session (`target_session_id`, MediaPacket field 10) reaches that
 *   session only, and `data` "SCREEN" is understood by our client library.
 */
import protobuf from "protobufjs/minimal.js";
import { assert, assertEquals } from "./support/assert.ts";
import { eventually, uniqueRoom, withServer } from "./support/harness.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { MediaKind, MediaType, PacketType } from "../lib/protocol/packets.ts";
import type { Received } from "./support/packet_client.ts";

const enc = new TextEncoder();
type Writer = protobuf.Writer;

/** A message written with protobufjs's low-level writer, field by field. */
function message(write: (w: Writer) => void): Uint8Array {
  const w = protobuf.Writer.create();
  write(w);
  const out = w.finish();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const tag = (field: number, wireType: number) => (field << 3) | wireType;
const VARINT = 0;
const LEN = 2;

/** Upstream's PacketWrapper, fields 1–6. */
function wrapper(
  packetType: number,
  userId: string,
  data: Uint8Array,
  extra: { layer?: number; kind?: number } = {},
): Uint8Array {
  return message((w) => {
    w.uint32(tag(1, VARINT)).int32(packetType);
    w.uint32(tag(2, LEN)).bytes(enc.encode(userId));
    if (data.length > 0) w.uint32(tag(3, LEN)).bytes(data);
    w.uint32(tag(4, VARINT)).uint64(0); // clients send 0; the relay stamps it
    if (extra.layer) w.uint32(tag(5, VARINT)).uint32(extra.layer);
    if (extra.kind) w.uint32(tag(6, VARINT)).int32(extra.kind);
  });
}

const UPSTREAM_PACKETS: [string, number, Uint8Array][] = [
  [
    "peer_event",
    10,
    message((w) => {
      w.uint32(tag(1, LEN)).bytes(enc.encode("up"));
      w.uint32(tag(2, LEN)).bytes(enc.encode("ours"));
      w.uint32(tag(3, LEN)).string("screen_decode_started");
      w.uint32(tag(4, LEN)).string("up");
      w.uint32(tag(5, VARINT)).int64(Date.now());
    }),
  ],
  // ViewportPacket { repeated uint64 session_ids = 1 } — packed, as proto3 writes it.
  [
    "viewport",
    11,
    message((w) => {
      w.uint32(tag(1, LEN)).fork();
      for (const id of [1n, 2n ** 63n + 5n]) w.uint64(id.toString());
      w.ldelim();
    }),
  ],
  // LayerPreferencePacket { repeated Entry entries = 1 }, Entry { session_id 1, desired_layer 2,
  // media_kind 3 }.
  [
    "layer_preference",
    12,
    message((w) => {
      w.uint32(tag(1, LEN)).fork();
      w.uint32(tag(1, VARINT)).uint64(42).uint32(tag(2, VARINT)).uint32(1);
      w.uint32(tag(3, VARINT)).int32(1);
      w.ldelim();
    }),
  ],
  // LayerHintPacket: relay -> publisher upstream; a client sending one is ignored there too.
  [
    "layer_hint",
    13,
    message((w) => {
      w.uint32(tag(1, LEN)).fork().uint32(tag(1, VARINT)).int32(1);
      w.uint32(tag(2, VARINT)).uint32(2).ldelim();
    }),
  ],
  ["downlink_congestion", 14, new Uint8Array(0)],
  // ReactionPacket { ReactionType reaction = 1 (THUMBS_UP = 1); bytes display_name = 2 }.
  [
    "reaction",
    17,
    message((w) => {
      w.uint32(tag(1, VARINT)).int32(1).uint32(tag(2, LEN)).bytes(enc.encode("Up"));
    }),
  ],
  // RaiseHandPacket { bool raised = 1; uint64 raised_at_ms = 2; bytes display_name = 3 }.
  [
    "raise_hand",
    18,
    message((w) => {
      w.uint32(tag(1, VARINT)).bool(true).uint32(tag(2, VARINT)).uint64(Date.now());
      w.uint32(tag(3, LEN)).bytes(enc.encode("Up"));
    }),
  ],
  // MeetingTimerPacket { bool running = 1; uint64 ends_at_ms = 2; uint64 duration_ms = 3;
  // uint64 updated_at_ms = 4 }.
  [
    "meeting_timer",
    19,
    message((w) => {
      w.uint32(tag(1, VARINT)).bool(true).uint32(tag(2, VARINT)).uint64(Date.now() + 60_000);
      w.uint32(tag(3, VARINT)).uint64(60_000).uint32(tag(4, VARINT)).uint64(Date.now());
    }),
  ],
];

const isMediaOf = (type: number) => (r: Received) => {
  if (r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === type;
};

Deno.test("a videocall-rs client's newer packet types are consumed and counted, and it stays in the call", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("upstream");
    const ours = await h.joinActive("ours", room);
    const up = await h.joinActive("up", room, [ours]);
    for (const [, type, data] of UPSTREAM_PACKETS) up.sendRaw(wrapper(type, "up", data));
    // Types newer than all of these: consumed the same way.
    up.sendRaw(wrapper(25, "up", new Uint8Array([1, 2, 3])));
    up.sendRaw(wrapper(99, "up", new Uint8Array(0)));
    // Still connected, still heard: its next packet reaches the others.
    up.sendRaw(wrapper(PacketType.RSA_PUB_KEY, "up", new Uint8Array([10, 1, 7])));
    const key = await ours.next((r) => r.wrapper.packetType === PacketType.RSA_PUB_KEY);
    assertEquals(key.userId, "up");
    for (const [name] of UPSTREAM_PACKETS) {
      const taken = name === "viewport" || name === "layer_preference";
      assertEquals(
        await h.server.metric(
          taken ? "videocall_packets_in_total" : "videocall_unimplemented_packets_total",
          `type="${name}"`,
        ),
        1,
        name,
      );
    }
    assertEquals(await h.server.metric("videocall_unimplemented_packets_total", 'type="other"'), 2);
    // None of them was relayed to the others.
    const relayed = ours.received.map((r) => r.wrapper.packetType);
    for (const [, type] of UPSTREAM_PACKETS) assert(!relayed.includes(type), `type ${type}`);
    assertEquals(
      await h.server.metric("videocall_rejected_connections_total", 'reason="unknown_type"'),
      0,
    );
  });
});

Deno.test("MEDIA with videocall-rs's clear simulcast layer and media kind is relayed with both", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("layers");
    const ours = await h.joinActive("ours", room);
    const up = await h.joinActive("up", room, [ours]);
    const frame = message((w) => {
      w.uint32(tag(1, VARINT)).int32(MediaType.VIDEO);
      w.uint32(tag(3, LEN)).bytes(new Uint8Array([9, 9, 9]));
      w.uint32(tag(4, LEN)).string("key");
    });
    up.sendRaw(wrapper(PacketType.MEDIA, "up", frame, { layer: 2, kind: MediaKind.VIDEO }));
    const got = await ours.next(isMediaOf(MediaType.VIDEO));
    assertEquals(got.wrapper.simulcastLayerId, 2);
    assertEquals(got.wrapper.mediaKind, MediaKind.VIDEO);
    assertEquals(got.wrapper.sessionId, up.sessionId);
    // A layer beyond the highest upstream uses (7) is dropped, not relayed, and counted.
    up.sendRaw(wrapper(PacketType.MEDIA, "up", frame, { layer: 8, kind: MediaKind.VIDEO }));
    await eventually(
      async () => await h.server.metric("videocall_drops_total", 'reason="bad_layer"') === 1,
      3000,
      "the bad layer counted",
    );
  });
});

Deno.test("a KEYFRAME_REQUEST naming a session (target_session_id) reaches that session only", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("kfr");
    const first = await h.joinActive("cam", room);
    const second = await h.joinActive("cam", room, [first]);
    const up = await h.joinActive("up", room, [first, second]);
    // Upstream's shape: user_id = the wanted sender, data = "SCREEN", target_session_id = 10.
    const request = message((w) => {
      w.uint32(tag(1, VARINT)).int32(MediaType.KEYFRAME_REQUEST);
      w.uint32(tag(2, LEN)).bytes(enc.encode("cam"));
      w.uint32(tag(3, LEN)).bytes(enc.encode("SCREEN"));
      w.uint32(tag(10, VARINT)).uint64(second.sessionId.toString());
    });
    up.sendRaw(wrapper(PacketType.MEDIA, "up", request));
    const got = await second.next(isMediaOf(MediaType.KEYFRAME_REQUEST));
    const media = decodeMediaPacket(got.wrapper.data);
    assert(media.ok);
    assertEquals(new TextDecoder().decode(media.value.data), "SCREEN");
    assertEquals(media.value.targetSessionId, second.sessionId);
    // A barrier: an RTT echo to the first session comes after anything sent to it before.
    first.sendMedia({ mediaType: MediaType.RTT, timestamp: 1 });
    await first.next(isMediaOf(MediaType.RTT));
    assertEquals(first.received.filter(isMediaOf(MediaType.KEYFRAME_REQUEST)).length, 0);
  });
});
