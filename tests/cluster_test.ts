/**
 * Meetings that span two server instances joined by NATS: relay, presence, crashes, NATS
 * outages and graceful shutdown.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "./support/harness.ts";
import { natsServerIgnored, sharedNatsUrl, startNats } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { MediaType, MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import type { Received, WireClient } from "./support/wire_client.ts";

const natsUrl = await sharedNatsUrl();
const FAST_PRESENCE = {
  PRESENCE_HEARTBEAT_MS: "200",
  PRESENCE_TIMEOUT_MS: "1000",
  LEAVE_GRACE_MS: "300",
};

const audioFrom = (user: string, byte?: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === MediaType.AUDIO &&
    (byte === undefined || m.value.data[0] === byte);
};

async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.status;
}

function say(client: WireClient, byte: number): void {
  client.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([byte]) });
}

async function withCluster(
  url: string,
  env: Record<string, string>,
  fn: (a: ServerProcess, b: ServerProcess, pool: ClientPool) => Promise<void>,
): Promise<void> {
  const [a, b] = await Promise.all([
    startServerProcess({ NATS_URL: url, ...env }),
    startServerProcess({ NATS_URL: url, ...env }),
  ]);
  const pool = new ClientPool();
  try {
    await fn(a, b, pool);
  } finally {
    await pool.closeAll();
    await Promise.all([a.stop(), b.stop()]);
  }
}

Deno.test({
  name: "participants on two instances see each other's packets and presence",
  ignore: natsUrl === undefined,
  async fn() {
    await withCluster(natsUrl!, FAST_PRESENCE, async (a, b, pool) => {
      const room = uniqueRoom();
      const alice = await pool.joinActive(a.wsUrl, "alice", room);
      const bob = await pool.join(b.wsUrl, "bob", room);
      // Bob, on B, learns that Alice, on A, is already there.
      await bob.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, alice.sessionId);
      bob.heartbeat();
      await alice.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, bob.sessionId);
      // A third on A learns both, wherever they are.
      const carol = await pool.join(a.wsUrl, "carol", room);
      await carol.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, alice.sessionId);
      await carol.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, bob.sessionId);

      say(alice, 1);
      const atBob = await bob.next(audioFrom("alice", 1));
      assertEquals(atBob.wrapper.sessionId, alice.sessionId);
      await carol.next(audioFrom("alice", 1));
      say(bob, 2);
      const atAlice = await alice.next(audioFrom("bob", 2));
      assertEquals(atAlice.wrapper.sessionId, bob.sessionId);
      await delay(100);
      assertEquals(alice.received.filter(audioFrom("alice")).length, 0, "no echo across instances");
      assertEquals(bob.received.filter(audioFrom("bob")).length, 0, "no echo across instances");

      // Another room on the same instances hears nothing of this one.
      const eve = await pool.joinActive(b.wsUrl, "eve", uniqueRoom());
      say(alice, 3);
      await bob.next(audioFrom("alice", 3));
      assertEquals(eve.received.filter((r) => r.wrapper.packetType === PacketType.MEDIA).length, 0);

      // Bob leaves B; Alice and Carol on A hear of it after the grace period.
      const bobId = bob.sessionId;
      await bob.close();
      await alice.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, bobId, 3000);
      await carol.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, bobId, 3000);
    });
  },
});

Deno.test({
  name:
    "a crashed instance's participants vanish once it is taken for dead and the leave grace has passed",
  ignore: natsUrl === undefined,
  async fn() {
    await withCluster(natsUrl!, FAST_PRESENCE, async (a, b, pool) => {
      const room = uniqueRoom();
      const bob = await pool.joinActive(b.wsUrl, "bob", room);
      const alice = await pool.joinActive(a.wsUrl, "alice", room, [bob]);
      await a.kill();
      const left = await bob.nextMeetingEvent(
        MeetingEventType.PARTICIPANT_LEFT,
        alice.sessionId,
        5000,
      );
      assert(left);
      // The survivor carries on: a newcomer on B sees only Bob.
      const carol = await pool.join(b.wsUrl, "carol", room);
      await carol.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, bob.sessionId);
      await delay(300);
      assertEquals(
        carol.meetingEvents().filter((m) => m.sessionId === alice.sessionId).length,
        0,
        "the crashed participant is not announced to newcomers",
      );
    });
  },
});

Deno.test({
  name:
    "SIGTERM with no time to drain (DRAIN_TIMEOUT_MS=0) tells clients to move (1012) and announces the leave of whoever did not at once",
  ignore: natsUrl === undefined,
  async fn() {
    await withCluster(
      natsUrl!,
      { PRESENCE_TIMEOUT_MS: "60000", LEAVE_GRACE_MS: "60000" },
      async (a, b, pool) => {
        const room = uniqueRoom();
        const bob = await pool.joinActive(b.wsUrl, "bob", room);
        const alice = await pool.joinActive(a.wsUrl, "alice", room, [bob]);
        // SIGTERM drains only when A knows another instance is alive (B's first heartbeat).
        await eventually(
          async () => (await (await a.fetch("/api/v1/servers")).json()).servers.length >= 2,
          10_000,
          "A to hear of another instance",
        );
        const code = await a.stop();
        assertEquals(code, 0);
        const closed = await alice.closed;
        assertEquals(closed.code, 1012);
        assertEquals(closed.reason, "This server is restarting; moving you to another");
        // Alice's client does not come back; neither the 60 s grace nor the 60 s presence timeout
        // had to pass (tests/drain_test.ts: clients that do come back leave nobody).
        await bob.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, alice.sessionId, 2000);
      },
    );
  },
});

Deno.test({
  name: "the meeting resumes after NATS goes away and comes back",
  ignore: natsServerIgnored(),
  async fn() {
    let nats = await startNats();
    const port = nats.port;
    try {
      await withCluster(nats.url, FAST_PRESENCE, async (a, b, pool) => {
        const room = uniqueRoom();
        const alice = await pool.joinActive(a.wsUrl, "alice", room);
        const bob = await pool.joinActive(b.wsUrl, "bob", room, [alice]);
        say(alice, 1);
        await bob.next(audioFrom("alice", 1));
        assertEquals(await status(`${a.httpUrl}/readyz`), 200);

        await nats.stop();
        await eventually(
          async () => {
            const response = await fetch(`${a.httpUrl}/readyz`);
            await response.body?.cancel();
            return response.status === 503;
          },
          5000,
          "readyz to report the lost bus",
        );
        // Keep the sessions alive through the outage.
        alice.heartbeat();
        bob.heartbeat();
        await delay(300);
        nats = await startNats(port);

        await eventually(
          async () => (await a.metric("videocall_bus_reconnects_total")) >= 1,
          10_000,
          "A to reconnect",
        );
        await eventually(
          async () => (await b.metric("videocall_bus_reconnects_total")) >= 1,
          10_000,
          "B to reconnect",
        );
        // Traffic flows again both ways, and presence is intact.
        await eventually(
          () => {
            say(alice, 2);
            return bob.received.some(audioFrom("alice", 2));
          },
          5000,
          "alice's audio to reach bob again",
        );
        say(bob, 3);
        await alice.next(audioFrom("bob", 3));
        const carol = await pool.join(b.wsUrl, "carol", room);
        await carol.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, alice.sessionId);
        assertEquals(await status(`${a.httpUrl}/readyz`), 200);
        assertGreater(await a.metric("videocall_bus_connected"), 0);
      });
    } finally {
      await nats.stop();
    }
  },
});

Deno.test({
  name:
    "a session resumed on an instance that has not opened its meeting keeps its id; the old connection is closed with 4409 and nobody sees a leave",
  ignore: natsUrl === undefined,
  async fn() {
    const env = { NATS_URL: natsUrl! };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const pool = new ClientPool();
    try {
      const room = uniqueRoom("move");
      // Instances that have heard each other (they say they are alive each second).
      await eventually(
        async () => await b.metric("videocall_cluster_instances") >= 2,
        5000,
        "B to know A",
      );
      const yan = await pool.joinActive(a.wsUrl, "yan", room);
      const xia = await pool.joinActive(a.wsUrl, "xia", room, [yan]);
      // B has never seen this meeting; xia moves there with her session id.
      const moved = await pool.join(b.wsUrl, "xia", room, `?resume=${xia.sessionId}`);
      assertEquals(moved.sessionId, xia.sessionId);
      const old = await xia.closed;
      assertEquals(old.code, 4409);
      moved.heartbeat();
      await delay(500);
      assertEquals(
        yan.meetingEvents().filter((m) =>
          m.eventType === MeetingEventType.PARTICIPANT_LEFT && m.sessionId === xia.sessionId
        ).length,
        0,
        "nobody saw xia leave",
      );
    } finally {
      await pool.closeAll();
      await Promise.all([a.stop(), b.stop()]);
    }
  },
});
