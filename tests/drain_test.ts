/**
 * Draining an instance (docs/ARCHITECTURE.md, "Drain"): through the admin API or SIGTERM, the
 * instance answers `/readyz` with 503 at once, refuses new sessions, closes its sessions with
 * 1012, and the clients come back through the load balancer on another instance with `resume` —
 * nobody sees them leave — and the drained process exits by itself.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { testDatabase } from "./support/database.ts";
import { ClientPool, eventually, uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import type { Received } from "./support/packet_client.ts";
import { startServerProcess } from "./support/server_process.ts";
import { TcpProxy } from "./support/tcp_proxy.ts";
import { WireClient } from "./support/wire_client.ts";
import { keepTalking } from "./support/talking.ts";
import { Room } from "../lib/client/mod.ts";
import { decodeMeetingPacket } from "../lib/protocol/codec.ts";
import { MeetingEventType, PacketType } from "../lib/protocol/packets.ts";

const natsUrl = await sharedNatsUrl();
const ADMIN_TOKEN = "drain-test-admin-token-0123456789abcdef";

function leftEvents(received: Received[], sessionId: bigint): number {
  return received.filter((r) => {
    if (r.wrapper.packetType !== PacketType.MEETING) return false;
    const m = decodeMeetingPacket(r.wrapper.data);
    return m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_LEFT &&
      m.value.sessionId === sessionId;
  }).length;
}

const mediaFrom = (sessionId: bigint) => (r: Received) =>
  r.wrapper.packetType === PacketType.MEDIA && r.wrapper.sessionId === sessionId;

for (const trigger of ["admin", "sigterm"] as const) {
  Deno.test({
    name: `drained by ${
      trigger === "admin" ? "the admin API" : "SIGTERM"
    }, an instance hands its clients to another through the balancer: same session, no leave, media again, and it exits by itself`,
    ignore: natsUrl === undefined,
    fn: () => drainScenario(trigger),
  });
}

async function drainScenario(trigger: "admin" | "sigterm"): Promise<void> {
  {
    const db = await testDatabase();
    const env = {
      NATS_URL: natsUrl!,
      JWT_SECRET: "drain-test-secret-0123456789-abcdefghij",
      ADMIN_TOKEN,
      DRAIN_TIMEOUT_MS: "20000",
      // WebTransport is UDP and would bypass the TCP balancer.
      WT_PORT: "off",
      ...db.env,
    };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const balancer = new TcpProxy([{ hostname: "127.0.0.1", port: a.port }]);
    balancer.start();
    const viaBalancer = `http://127.0.0.1:${balancer.port}`;
    const pool = new ClientPool();
    const room = uniqueRoom("drain");
    const ada = new Room({ url: viaBalancer, userId: "ada", meetingId: room, displayName: "Ada" });
    let stopTalking = () => {};
    try {
      const sam = await pool.join(b.wsUrl, "sam", room);
      sam.heartbeat();
      await ada.connect();
      const adaSession = ada.sessionId;
      await sam.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, adaSession, 15_000);
      stopTalking = keepTalking(ada);
      await sam.next(mediaFrom(adaSession), 10_000);
      // Both instances know of each other before the drain (the admin API refuses otherwise).
      await eventually(async () => await a.metric("videocall_cluster_instances") >= 2, 10_000);

      const drainedAt = Date.now();
      let stopping: Promise<number> | undefined;
      if (trigger === "admin") {
        // The admin API wants its token.
        const anonymous = await a.fetch("/api/v1/admin/drain", { method: "POST" });
        assertEquals(anonymous.status, 401);
        await anonymous.body?.cancel();
        const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
        const wrongMethod = await a.fetch("/api/v1/admin/drain", { headers: auth });
        assertEquals(wrongMethod.status, 405);
        await wrongMethod.body?.cancel();
        const started = await a.fetch("/api/v1/admin/drain", { method: "POST", headers: auth });
        assertEquals(started.status, 202);
        const state = (await started.json()).result;
        assertEquals(state.draining, true);
        assert(state.sessions >= 1 && state.others >= 1, JSON.stringify(state));
      } else {
        // An orchestrator's stop: SIGTERM, not waited for here.
        stopping = a.stop();
        await eventually(() => a.logs.some((r) => r.event === "drain_started"), 5000);
      }
      const ready = await a.fetch("/readyz");
      assertEquals(ready.status, 503);
      assertEquals((await ready.text()).trim(), "draining");
      // A newcomer straight to A is refused with where to go.
      const refused = await WireClient.connect(a.wsUrl, "cy", room).then(
        () => "joined",
        (error: Error) => error.message,
      );
      assertEquals(refused, "HTTP 503");
      // The balancer sees the failing readiness check and sends new connections to B.
      balancer.setTargets([{ hostname: "127.0.0.1", port: b.port }]);

      // Ada comes back on B with the same session; her media reaches Sam again.
      await eventually(
        () => b.logs.some((r) => r.event === "session_moved" && r.session === String(adaSession)),
        15_000,
        "ada's session to move to B",
      );
      assertEquals(ada.sessionId, adaSession);
      await sam.next(
        (r) => performance.timeOrigin + r.atMs > drainedAt + 200 && mediaFrom(adaSession)(r),
        15_000,
      );
      // A exits by itself once its sessions have moved, well before the drain timeout.
      const code = await (stopping ?? a.exited());
      assertEquals(code, 0);
      const finished = a.logs.find((r) => r.event === "drain_finished");
      assertEquals(finished?.settled, true, JSON.stringify(finished));
      // settled: it ended because nobody was left, not because DRAIN_TIMEOUT_MS ran out.
      // Nobody saw Ada leave.
      await new Promise((r) => setTimeout(r, 1000));
      assertEquals(leftEvents(sam.received, adaSession), 0);
    } finally {
      stopTalking();
      await ada.leave().catch(() => {});
      await pool.closeAll();
      await balancer.stop();
      await a.stop();
      await b.stop();
      await db.cleanup();
    }
  }
}

Deno.test("the admin API is absent without ADMIN_TOKEN, and a lone instance will not drain", async () => {
  const plain = await startServerProcess({});
  try {
    const response = await plain.fetch("/api/v1/admin/drain", { method: "POST" });
    assertEquals(response.status, 404);
    assert((await response.json()).result.message.includes("ADMIN_TOKEN"));
  } finally {
    await plain.stop();
  }
  const alone = await startServerProcess({ ADMIN_TOKEN });
  try {
    const response = await alone.fetch("/api/v1/admin/drain", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assertEquals(response.status, 409);
    assert((await response.json()).result.message.includes("No other instance"));
    const ready = await alone.fetch("/readyz");
    assertEquals(ready.status, 200, "still serving");
    await ready.body?.cancel();
  } finally {
    await alone.stop();
  }
});
