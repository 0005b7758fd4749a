/**
 * Operator limits (README, "Configuration"): a meeting's participants across the cluster, and a
 * participant's media bandwidth, in bytes. Each refusal says why and is counted in /metrics, and
 * everyone else carries on.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "./support/harness.ts";
import type { Received } from "./support/packet_client.ts";
import { startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { MediaKind, MediaType, PacketType } from "../lib/protocol/packets.ts";

const media = (user: string, type: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === type;
};

Deno.test("a full meeting refuses a newcomer with 4403 and says so; the others carry on, and a freed place is taken", async () => {
  const server = await startServerProcess({ MAX_MEETING_PARTICIPANTS: "2" });
  const pool = new ClientPool();
  try {
    const room = uniqueRoom();
    const alice = await pool.joinActive(server.wsUrl, "alice", room);
    const bob = await pool.joinActive(server.wsUrl, "bob", room, [alice]);
    // The upgrade succeeds and the session is closed at once, with the reason.
    const carol = await WireClient.connect(server.wsUrl, "carol", room).then(
      () => "joined",
      (error: Error) => error.message,
    );
    assert(carol.includes("Connection closed (4403"), carol);
    assert(carol.includes("This meeting is full (2 people)"), carol);
    assertGreater(
      await server.metric("videocall_rejected_connections_total", 'reason="meeting_full"'),
      0,
    );
    alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([1]) });
    await bob.next(media("alice", MediaType.AUDIO));
    // Bob leaves for good: his place is free.
    await bob.close();
    await eventually(async () => await server.metric("videocall_sessions") === 1);
    await delay(300);
    const dave = await pool.joinActive(server.wsUrl, "dave", room, [alice]);
    dave.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([2]) });
    await alice.next(media("dave", MediaType.AUDIO));
  } finally {
    await pool.closeAll();
    await server.stop();
  }
});

Deno.test("a participant over its bandwidth loses packets, counted by kind, and stays connected", async () => {
  const server = await startServerProcess({
    // 10 KB/s of video and 20 KB/s in all, bursts of twice that.
    MAX_VIDEO_KBPS_PER_PARTICIPANT: "80",
    MAX_KBPS_PER_PARTICIPANT: "160",
  });
  const pool = new ClientPool();
  try {
    const room = uniqueRoom();
    const alice = await pool.joinActive(server.wsUrl, "alice", room);
    const bob = await pool.joinActive(server.wsUrl, "bob", room, [alice]);
    // 80 KB of video at once: about a fifth fits the video burst.
    for (let i = 0; i < 20; i++) {
      alice.sendMedia(
        { mediaType: MediaType.VIDEO, data: new Uint8Array(4000), frameType: "key" },
        { kind: MediaKind.VIDEO },
      );
    }
    await eventually(async () =>
      await server.metric("videocall_drops_total", 'reason="video_bandwidth_limited"') >= 10
    );
    await delay(300);
    const videos = bob.received.filter(media("alice", MediaType.VIDEO)).length;
    assert(videos >= 3 && videos <= 8, `bob got ${videos} of 20 video packets`);
    // Audio is not video: it still fits the total, until that runs out too.
    for (let i = 0; i < 20; i++) {
      alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array(4000) });
    }
    await eventually(async () =>
      await server.metric("videocall_drops_total", 'reason="bandwidth_limited"') >= 5
    );
    await bob.next(media("alice", MediaType.AUDIO));
    // Alice is still in: a small packet a moment later gets through.
    await delay(1500);
    alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([9]) });
    await bob.next((r) => {
      if (!media("alice", MediaType.AUDIO)(r)) return false;
      const m = decodeMediaPacket(r.wrapper.data);
      return m.ok && m.value.data.length === 1;
    });
    assertEquals(await server.metric("videocall_sessions"), 2);
  } finally {
    await pool.closeAll();
    await server.stop();
  }
});
