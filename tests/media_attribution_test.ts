/**
 * Whose media a packet is, inside the packet: the inner `MediaPacket.user_id` that
 * videocall-rs-style clients may read is never relayed naming anyone but the sender. A media
 * packet whose inner user id is another user's is dropped at the relay and counted
 * (`drops_total{reason="forged_user_id"}`); an empty one or the sender's own passes, and a
 * key-frame request still names the sender it asks.
 *
 * "Did not arrive" is checked behind a marker: the sender sends a control packet after the
 * media, which the relay never reorders; once the receivers have it, anything sent before it
 * that was meant to arrive has arrived.
 */
import { assertEquals } from "./support/assert.ts";
import { uniqueRoom, withServer } from "./support/harness.ts";
import type { Received } from "./support/packet_client.ts";
import type { WireClient } from "./support/wire_client.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { MediaKind, MediaType, PacketType } from "../lib/protocol/packets.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let markers = 0;

/** Sends a marker from `from` and waits until every one of `to` has it. */
async function barrier(from: WireClient, to: WireClient[]): Promise<void> {
  const id = ++markers;
  from.send(PacketType.RSA_PUB_KEY, new Uint8Array([10, 1, id]));
  await Promise.all(to.map((c) =>
    c.next(
      (r) => r.wrapper.packetType === PacketType.RSA_PUB_KEY && r.wrapper.data[2] === id,
      10_000,
    )
  ));
}

/** A received media packet of `type` as "<inner user id>#<first data byte>", else undefined. */
function inner(r: Received, type: number): string | undefined {
  if (r.wrapper.packetType !== PacketType.MEDIA) return undefined;
  const m = decodeMediaPacket(r.wrapper.data);
  if (!m.ok || m.value.mediaType !== type) return undefined;
  return `${decoder.decode(m.value.userId)}#${m.value.data[0]}`;
}

/** What {@linkcode inner} says of every media packet of `type` that `c` received from `from`. */
function innerIds(c: WireClient, type: number, from: WireClient): string[] {
  return c.received.filter((r) => r.wrapper.sessionId === from.sessionId)
    .map((r) => inner(r, type)).filter((id) => id !== undefined);
}

function audio(c: WireClient, innerUser: string, byte: number): void {
  c.sendMedia(
    { mediaType: MediaType.AUDIO, userId: encoder.encode(innerUser), data: new Uint8Array([byte]) },
    { kind: MediaKind.AUDIO },
  );
}

Deno.test("media whose inner user_id names another user never reaches anyone; honest media flows", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("attribution");
    const bob = await h.joinActive("bob", room);
    const carol = await h.joinActive("carol", room, [bob]);
    const mallory = await h.joinActive("mallory", room, [bob, carol]);

    // Forged: Mallory's audio, video and heartbeat that say they are Bob's.
    audio(mallory, "bob", 1);
    mallory.sendMedia(
      {
        mediaType: MediaType.VIDEO,
        userId: encoder.encode("bob"),
        data: new Uint8Array([2]),
        frameType: "key",
        videoMetadata: { sequence: 1n, codec: 2 },
      },
      { kind: MediaKind.VIDEO },
    );
    mallory.sendMedia({
      mediaType: MediaType.HEARTBEAT,
      userId: encoder.encode("carol"),
      data: new Uint8Array([3]),
    });
    // Honest: her own user id, and none at all.
    audio(mallory, "mallory", 4);
    audio(mallory, "", 5);
    await barrier(mallory, [bob, carol]);

    for (const receiver of [bob, carol]) {
      assertEquals(innerIds(receiver, MediaType.AUDIO, mallory), ["mallory#4", "#5"]);
      assertEquals(innerIds(receiver, MediaType.VIDEO, mallory), []);
      // Her own heartbeat from joining, and not the one that says it is Carol's.
      assertEquals(innerIds(receiver, MediaType.HEARTBEAT, mallory), ["mallory#undefined"]);
    }
    assertEquals(await h.server.metric("videocall_drops_total", 'reason="forged_user_id"'), 3);
    // Nobody was disconnected for it: the forger's honest media still flows.
    audio(mallory, "mallory", 6);
    await bob.next((r) => inner(r, MediaType.AUDIO) === "mallory#6");
  });
});

Deno.test("a key-frame request still names the sender it asks, in its inner user_id", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("attribution");
    const bob = await h.joinActive("bob", room);
    const carol = await h.joinActive("carol", room, [bob]);
    carol.sendMedia({
      mediaType: MediaType.KEYFRAME_REQUEST,
      userId: encoder.encode("bob"),
      data: encoder.encode("VIDEO"),
    });
    const request = await bob.next((r) => inner(r, MediaType.KEYFRAME_REQUEST) === "bob#86");
    assertEquals(request.wrapper.sessionId, carol.sessionId);
    assertEquals(await h.server.metric("videocall_drops_total", 'reason="forged_user_id"'), 0);
  });
});
