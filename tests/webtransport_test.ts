/**
 * The relay over WebTransport, with Deno's own WebTransport client: the same meetings as
 * WebSocket, the advertised certificate, and the limits of the QUIC transport.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { webTransportInfo, WtClient } from "./support/wt_client.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { MediaType, MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import type { PacketClient, Received } from "./support/packet_client.ts";

const natsUrl = await sharedNatsUrl();

const media = (user: string, type: number, byte?: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === type && (byte === undefined || m.value.data[0] === byte);
};

async function withWt(
  env: Record<string, string>,
  fn: (server: ServerProcess, wt: WtPool, ws: ClientPool) => Promise<void>,
): Promise<void> {
  const server = await startServerProcess(env);
  const wt = new WtPool(server);
  const ws = new ClientPool();
  try {
    await fn(server, wt, ws);
  } finally {
    await wt.closeAll();
    await ws.closeAll();
    await server.stop();
  }
}

class WtPool {
  readonly clients: WtClient[] = [];
  constructor(readonly server: ServerProcess) {}

  async join(user: string, room: string, query = "", waitForSession = true): Promise<WtClient> {
    const info = await webTransportInfo(this.server.httpUrl);
    const client = await WtClient.connect(info, user, room, query, { waitForSession });
    this.clients.push(client);
    return client;
  }

  async joinActive(user: string, room: string, others: PacketClient[] = []): Promise<WtClient> {
    const client = await this.join(user, room);
    client.heartbeat();
    await Promise.all(
      others.map((o) => o.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, client.sessionId)),
    );
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

Deno.test("the server advertises its WebTransport URL and a pinnable certificate hash", async () => {
  await withWt({}, async (server) => {
    const info = await webTransportInfo(server.httpUrl);
    assertEquals(info.available, true);
    assertEquals(info.url, `https://127.0.0.1:${server.wtPort}`);
    assertEquals(info.certificateHashes.length, 1);
    assertEquals(atob(info.certificateHashes[0]).length, 32, "a SHA-256 hash");
  });
});

Deno.test("WebTransport and WebSocket clients share one meeting, stamped and without echo", async () => {
  await withWt({}, async (server, wt, ws) => {
    const room = uniqueRoom();
    const alice = await wt.joinActive("alice", room);
    const bob = await ws.joinActive(server.wsUrl, "bob", room, [alice]);
    const carol = await wt.joinActive("carol", room, [alice, bob]);
    // WT -> WS and WT -> WT, as media on streams.
    alice.sendMedia({
      mediaType: MediaType.VIDEO,
      data: new Uint8Array([7, 1, 2]),
      frameType: "key",
    });
    const atBob = await bob.next(media("alice", MediaType.VIDEO, 7));
    assertEquals(atBob.wrapper.sessionId, alice.sessionId);
    const atCarol = await carol.next(media("alice", MediaType.VIDEO, 7));
    assertEquals(atCarol.via, "stream");
    assertEquals(atCarol.wrapper.sessionId, alice.sessionId);
    // WS -> WT.
    bob.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([9]) });
    await alice.next(media("bob", MediaType.AUDIO, 9));
    // Heartbeats travel as datagrams; meeting events on streams.
    bob.heartbeat();
    const beat = await alice.next(media("bob", MediaType.HEARTBEAT));
    assertEquals(beat.via, "datagram");
    const joined = alice.received.find((r) => r.wrapper.packetType === PacketType.MEETING);
    assertEquals(joined?.via, "stream");
    await delay(100);
    assertEquals(alice.received.filter(media("alice", MediaType.VIDEO)).length, 0, "no echo");
    // A datagram packet from a WT client reaches the others too.
    carol.sendDatagram(
      (await import("../lib/protocol/wire.ts")).encodeWrapperFast({
        packetType: PacketType.MEDIA,
        userId: new TextEncoder().encode("carol"),
        data: (await import("../lib/protocol/codec.ts")).encodeMediaPacket({
          mediaType: MediaType.AUDIO,
          userId: new Uint8Array(0),
          data: new Uint8Array([5]),
          frameType: "",
          timestamp: 0,
          duration: 0,
        }),
        sessionId: 0n,
      }),
    );
    await bob.next(media("carol", MediaType.AUDIO, 5));
  });
});

Deno.test("an RTT probe over WebTransport comes back as a datagram", async () => {
  await withWt({}, async (_server, wt) => {
    const alice = await wt.joinActive("alice", uniqueRoom());
    alice.sendMedia({ mediaType: MediaType.RTT, timestamp: 42.5 });
    const echo = await alice.next(media("alice", MediaType.RTT));
    assertEquals(echo.via, "datagram");
  });
});

Deno.test({
  name: "a WebTransport client on one instance meets a WebSocket client on another (NATS)",
  ignore: natsUrl === undefined,
  async fn() {
    const b = await startServerProcess({ NATS_URL: natsUrl! });
    const bobPool = new ClientPool();
    try {
      await withWt({ NATS_URL: natsUrl! }, async (_a, wt) => {
        const room = uniqueRoom();
        const alice = await wt.joinActive("alice", room);
        const bob = await bobPool.join(b.wsUrl, "bob", room);
        await bob.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, alice.sessionId);
        bob.heartbeat();
        await alice.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, bob.sessionId);
        alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([3]) });
        assertEquals(
          (await bob.next(media("alice", MediaType.AUDIO, 3))).wrapper.sessionId,
          alice.sessionId,
        );
        bob.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([4]) });
        await alice.next(media("bob", MediaType.AUDIO, 4));
      });
    } finally {
      await bobPool.closeAll();
      await b.stop();
    }
  },
});

Deno.test("a WebTransport path with bad ids ends the session with 4400 and a reason", async () => {
  await withWt({}, async (server, wt) => {
    for (
      const [user, room, reason] of [["a.b", "r", 'The user id "a.b" may only contain'], [
        "alice",
        "r*",
        'The room id "r*" may only contain',
      ]]
    ) {
      const client = await wt.join(user, room, "", false);
      const closed = await client.closed;
      assertEquals(closed.code, 4400);
      assert(closed.reason.includes(reason), closed.reason);
    }
    assertGreater(
      await server.metric("videocall_rejected_connections_total", 'reason="invalid_user_id"'),
      0,
    );
    assertEquals(await server.metric("videocall_sessions"), 0);
  });
});

interface WtCase {
  name: string;
  env?: Record<string, string>;
  offend(c: WtClient): void | Promise<void>;
  code: number;
  reason: string;
}

const wtCases: WtCase[] = [
  {
    name: "garbage on the framed stream",
    offend: (c) => c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])),
    code: 1007,
    reason: "Cannot decode PacketWrapper",
  },
  {
    name: "a garbage datagram",
    offend: (c) => c.sendDatagram(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])),
    code: 1007,
    reason: "Cannot decode PacketWrapper",
  },
  {
    name: "a frame larger than the packet limit",
    env: { MAX_PACKET_BYTES: "1024" },
    offend: (c) => c.sendRaw(new Uint8Array(5000)),
    code: 1009,
    reason: "exceeds the limit of 1024 bytes",
  },
  {
    name: "a unidirectional stream larger than the packet limit",
    env: { MAX_PACKET_BYTES: "1024" },
    // Not zeros: a stream whose first byte is 0 is a grouped stream (docs/PROTOCOL.md).
    offend: (c) => c.sendOnOwnStream(new Uint8Array(5000).fill(0x0a)),
    code: 1009,
    reason: "exceeds the packet limit",
  },
  {
    name: "a stream that never ends",
    env: { WT_STREAM_TIMEOUT_MS: "500" },
    // Deno's client never sends FIN (docs/PROTOCOL.md, "WebTransport on Deno"): this stream stays open forever.
    offend: (c) => c.sendOnOwnStream(new Uint8Array([8, 3])),
    code: 4010,
    reason: "Stream not finished within",
  },
];

for (const c of wtCases) {
  Deno.test(`WebTransport: ${c.name} closes only that session, with code ${c.code}`, async () => {
    await withWt(c.env ?? {}, async (server, wt, ws) => {
      const room = uniqueRoom();
      const alice = await ws.joinActive(server.wsUrl, "alice", room);
      const bob = await wt.joinActive("bob", room, [alice]);
      const mallory = await wt.joinActive("mallory", room, [alice, bob]);
      await c.offend(mallory);
      const closed = await mallory.closed;
      assertEquals(closed.code, c.code);
      assert(closed.reason.includes(c.reason), `"${closed.reason}" should include "${c.reason}"`);
      alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([1]) });
      await bob.next(media("alice", MediaType.AUDIO, 1));
      await eventually(
        async () => await server.metric("videocall_webtransport_sessions") === 1,
        3000,
        "one WT session left",
      );
    });
  });
}

Deno.test("hundreds of streams at once are held by QUIC flow control and the rate limit, and nothing leaks", async () => {
  await withWt(
    { MAX_PACKETS_PER_SECOND: "100", WT_STREAM_TIMEOUT_MS: "1000" },
    async (server, wt, ws) => {
      const room = uniqueRoom();
      const alice = await ws.joinActive(server.wsUrl, "alice", room);
      const mallory = await wt.joinActive("mallory", room, [alice]);
      // 300 streams that never finish (Deno's client sends no FIN): at most 100 can be open.
      const opening = Array.from(
        { length: 300 },
        () => mallory.sendOnOwnStream(new Uint8Array([8, 3])).catch(() => {}),
      );
      const closed = await mallory.closed;
      assert(
        closed.code === 4010 || closed.code === 4029,
        `closed with ${closed.code} ${closed.reason}`,
      );
      await Promise.all(opening);
      await eventually(
        async () => await server.metric("videocall_webtransport_incoming_streams") === 0,
        5000,
        "stream count back to zero",
      );
      await eventually(
        async () => await server.metric("videocall_webtransport_sessions") === 0,
        5000,
        "session count back to zero",
      );
      assertEquals(await server.metric("videocall_sessions"), 1);
    },
  );
});

Deno.test("a WebTransport client that vanishes without closing is dropped after the idle timeout", async () => {
  await withWt({ IDLE_TIMEOUT_MS: "1500" }, async (server, wt, ws) => {
    const room = uniqueRoom();
    const alice = await ws.joinActive(server.wsUrl, "alice", room);
    const ghost = await wt.joinActive("ghost", room, [alice]);
    // Keep Alice alive; the ghost sends nothing more.
    const timer = setInterval(() => alice.heartbeat(), 300);
    try {
      await alice.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, ghost.sessionId, 8000);
      await eventually(
        async () => await server.metric("videocall_webtransport_sessions") === 0,
        5000,
        "no WT sessions",
      );
    } finally {
      clearInterval(timer);
    }
  });
});

Deno.test("with WT_PORT=off the server says WebTransport is unavailable and serves WebSocket", async () => {
  await withWt({ WT_PORT: "off" }, async (server, _wt, ws) => {
    const info = await webTransportInfo(server.httpUrl) as unknown as {
      available: boolean;
      reason: string;
    };
    assertEquals(info.available, false);
    assert(info.reason.includes("WT_PORT=off"), info.reason);
    assert(server.logs.some((l) => l.event === "webtransport_unavailable"));
    const alice = await ws.join(server.wsUrl, "alice", uniqueRoom());
    assertGreater(Number(alice.sessionId), 0);
  });
});

Deno.test("a renewed certificate is advertised beside the old one, and live sessions carry on", async () => {
  // 6 s certificates: renewed about 3.6 s after issue; the old hash stays listed until it expires.
  await withWt({ CERT_VALIDITY_MS: "6000" }, async (server, wt, ws) => {
    const first = await webTransportInfo(server.httpUrl);
    assertEquals(first.certificateHashes.length, 1);
    const room = uniqueRoom();
    const alice = await wt.joinActive("alice", room);
    const bob = await ws.joinActive(server.wsUrl, "bob", room, [alice]);
    let renewed = first;
    await eventually(
      async () => {
        renewed = await webTransportInfo(server.httpUrl);
        return renewed.certificateHashes.length === 2;
      },
      8000,
      "two hashes during the overlap",
    );
    assertEquals(
      renewed.certificateHashes[1],
      first.certificateHashes[0],
      "the old hash is still listed",
    );
    assert(server.logs.some((l) => l.event === "certificate_changed"));
    // The session opened under the old certificate carries on.
    bob.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([42]) });
    await alice.next(media("bob", MediaType.AUDIO, 42));
    // A new client pinning only the new hash gets in.
    const carol = await WtClient.connect(
      { ...renewed, certificateHashes: [renewed.certificateHashes[0]] },
      "carol",
      room,
    );
    wt.clients.push(carol);
    carol.heartbeat();
    await alice.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, carol.sessionId);
  });
});

Deno.test("datagrams beyond the per-second limit are dropped and counted; the session carries on", async () => {
  await withWt({ MAX_DATAGRAMS_PER_SECOND: "20" }, async (server, wt, ws) => {
    const room = uniqueRoom();
    const alice = await ws.joinActive(server.wsUrl, "alice", room);
    const mallory = await wt.joinActive("mallory", room, [alice]);
    const { encodeWrapperFast } = await import("../lib/protocol/wire.ts");
    const { encodeMediaPacket } = await import("../lib/protocol/codec.ts");
    for (let i = 0; i < 200; i++) {
      mallory.sendDatagram(encodeWrapperFast({
        packetType: PacketType.MEDIA,
        userId: new TextEncoder().encode("mallory"),
        data: encodeMediaPacket({
          mediaType: MediaType.AUDIO,
          userId: new Uint8Array(0),
          data: new Uint8Array([i]),
          frameType: "",
          timestamp: 0,
          duration: 0,
        }),
        sessionId: 0n,
      }));
    }
    await eventually(
      async () =>
        await server.metric("videocall_drops_total", 'reason="datagram_rate_limited"') > 0,
      5000,
      "datagram drops to be counted",
    );
    const delivered = alice.received.filter(media("mallory", MediaType.AUDIO)).length;
    assert(delivered <= 100, `the limit should have held most of 200 back, got ${delivered}`);
    // Mallory is still in the meeting and her stream packets still flow.
    mallory.sendMedia({
      mediaType: MediaType.VIDEO,
      data: new Uint8Array([250]),
      frameType: "key",
    });
    await alice.next(media("mallory", MediaType.VIDEO, 250));
  });
});
