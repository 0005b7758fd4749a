/**
 * An instance dies in the middle of a call. Two servers share NATS and a database; a fail-over
 * load balancer (a TCP proxy that sends each new connection to the first server that accepts
 * it) stands in front of instance A. Through it come a client-library `Room`, the headless
 * streamer (ffmpeg's test pattern) and a Chromium page; a wire client sits on A directly and
 * will not come back. On B, a wire client and a `Room` watch. A is killed with SIGKILL.
 *
 * What must hold: B's clients see no PARTICIPANT_LEFT (and no second PARTICIPANT_JOINED) for
 * the three that came back through the balancer, who keep their session ids; their media
 * reaches B's clients again under those ids, and the page decodes the others again; the one who
 * did not come back is announced as left.
 *
 * What is measured and printed (never asserted): how long after the kill B took A for dead
 * (B's `instance_lost` log line), when each session was resumed on B (`session_moved`), when
 * each one's media arrived again, and when the one who stayed away was announced as left.
 * Run `deno test -A tests/instance_failure_test.ts` to see the figures.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { testDatabase } from "./support/database.ts";
import { ClientPool, eventually, uniqueRoom } from "./support/harness.ts";
import { joinMeeting, type MeetingPage, waitFor, waitForPeople } from "./support/meeting_page.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import type { Received } from "./support/packet_client.ts";
import { framesDecoded } from "./support/page_probe.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { ffmpegTestsIgnored, spawnStreamer, testPatternArgs } from "./support/streamer.ts";
import { TcpProxy } from "./support/tcp_proxy.ts";
import { keepTalking } from "./support/talking.ts";
import { Room } from "../lib/client/mod.ts";
import { decodeMeetingPacket } from "../lib/protocol/codec.ts";
import { MeetingEventType, PacketType } from "../lib/protocol/packets.ts";

const natsUrl = await sharedNatsUrl();
const ignore = natsUrl === undefined || browserTestsIgnored() || ffmpegTestsIgnored();
const decoder = new TextDecoder();

/** The meeting events a wire client received about `userId`'s sessions, as "type:session". */
function eventsAbout(received: Received[], userId: string): { type: number; session: bigint }[] {
  const out: { type: number; session: bigint }[] = [];
  for (const r of received) {
    if (r.wrapper.packetType !== PacketType.MEETING) continue;
    const m = decodeMeetingPacket(r.wrapper.data);
    if (m.ok && decoder.decode(m.value.targetUserId) === userId) {
      out.push({ type: m.value.eventType, session: m.value.sessionId });
    }
  }
  return out;
}

/** The session `userId` joined with, as a wire client saw it announced. */
function joinedSession(received: Received[], userId: string): bigint | undefined {
  return eventsAbout(received, userId).find((e) => e.type === MeetingEventType.PARTICIPANT_JOINED)
    ?.session;
}

/** Whether `r` is media (audio, video or screen) from `session`. */
function mediaFrom(r: Received, session: bigint): boolean {
  if (r.wrapper.packetType !== PacketType.MEDIA || r.wrapper.sessionId !== session) return false;
  const kind = r.wrapper.mediaKind ?? 0;
  return kind !== 0;
}

/** Milliseconds from `sinceMs` (wall clock) to the first log line of `event` matching `match`. */
async function logged(
  server: ServerProcess,
  event: string,
  sinceMs: number,
  match: (record: Record<string, unknown>) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<number> {
  let found: Record<string, unknown> | undefined;
  await eventually(
    () => (found = server.logs.find((r) => r.event === event && match(r))) !== undefined,
    timeoutMs,
    `the log line ${event}`,
  );
  return Date.parse(found!.time as string) - sinceMs;
}

Deno.test({
  name:
    "instance A is killed: its clients resume on B through the balancer with the same sessions, nobody sees them leave, media flows again, and whoever does not come back is announced as left",
  ignore,
  async fn() {
    const db = await testDatabase();
    const env = {
      NATS_URL: natsUrl!,
      JWT_SECRET: "instance-failure-test-secret-0123456789",
      // WebTransport is UDP and would bypass the TCP balancer; everyone uses WebSocket.
      WT_PORT: "off",
      ...db.env,
    };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const balancer = new TcpProxy([
      { hostname: "127.0.0.1", port: a.port },
      { hostname: "127.0.0.1", port: b.port },
    ]);
    balancer.start();
    const viaBalancer = `http://127.0.0.1:${balancer.port}`;
    const pool = new ClientPool();
    const room = uniqueRoom("failover");
    const ada = new Room({ url: viaBalancer, userId: "ada", meetingId: room, displayName: "Ada" });
    const bea = new Room({ url: b.httpUrl, userId: "bea", meetingId: room, displayName: "Bea" });
    const beaSawLeave: string[] = [];
    bea.on("participantLeft", (p, announced) => announced && beaSawLeave.push(p.userId));
    let adaReconnectedAt: number | undefined;
    ada.on("reconnected", () => adaReconnectedAt ??= Date.now());
    const streamer = spawnStreamer([...testPatternArgs(viaBalancer, "cam", room), "--quiet"]);
    let stopTalking = () => {};
    let pia: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        try {
          // B's watchers first, then A's people: the balancer sends them all to A while it lives.
          const sam = await pool.join(b.wsUrl, "sam", room);
          sam.heartbeat();
          await bea.connect();
          await ada.connect();
          const al = await pool.join(a.wsUrl, "al", room);
          al.heartbeat();
          pia = await joinMeeting(browser, viaBalancer, "pia", "Pia", room, "&transport=websocket");
          // Ada talks: a small audio packet every 50 ms, as long as she is connected.
          stopTalking = keepTalking(ada);
          const moving = ["ada", "cam", "pia"];
          const ids = new Map<string, bigint>();
          await eventually(
            () => {
              for (const user of [...moving, "al"]) {
                const id = joinedSession(sam.received, user);
                if (id !== undefined) ids.set(user, id);
              }
              return ids.size === 4;
            },
            30_000,
            () => `sam to see everyone join (saw ${[...ids.keys()]})`,
          );
          assertEquals(ids.get("ada"), ada.sessionId);
          for (const user of moving) {
            await eventually(
              () => sam.received.some((r) => mediaFrom(r, ids.get(user)!)),
              20_000,
              `media from ${user} at sam`,
            );
          }
          assertEquals(balancer.forwarded.get(b.port) ?? 0, 0, "A took everyone until it died");

          // The crash.
          const killedAt = Date.now();
          await a.kill();
          const piaFramesAtKill = await framesDecoded(pia.page);

          // Other tests' servers share this NATS, and B hears of their deaths too: A's is the one.
          const instanceA = a.logs.find((r) => r.event === "listening")?.instance;
          assert(typeof instanceA === "string", "A logs its instance id");
          const learnedMs = await logged(
            b,
            "instance_lost",
            killedAt,
            (r) => r.instance === instanceA && Number(r.silentMs) > 0,
          );
          const backMs = new Map<string, number>();
          for (const user of moving) {
            const session = ids.get(user)!.toString();
            backMs.set(
              user,
              await logged(b, "session_moved", killedAt, (r) => r.session === session),
            );
          }
          const mediaAgainMs = new Map<string, number>();
          for (const user of moving) {
            const again = await sam.next(
              // Sent after the move (packets of before it may still arrive after the kill).
              (r) =>
                performance.timeOrigin + r.atMs >= killedAt + backMs.get(user)! &&
                mediaFrom(r, ids.get(user)!),
              20_000,
            );
            mediaAgainMs.set(user, Math.round(performance.timeOrigin + again.atMs - killedAt));
          }
          const alLeft = await sam.nextMeetingEvent(
            MeetingEventType.PARTICIPANT_LEFT,
            ids.get("al")!,
            20_000,
          );
          const alLeftMs = Math.round(performance.timeOrigin + alLeft.atMs - killedAt);
          // The page decodes the others again (the streamer's picture, at least).
          await waitFor(
            pia.page,
            "Pia's page to decode video again after the move",
            async () => await framesDecoded(pia!.page) > piaFramesAtKill + 10,
            20_000,
          );
          // Sam, Bea, Ada and the streamer; Al is gone.
          await waitForPeople(pia.page, 4, 15_000);

          console.log(
            [
              "",
              "instance failure (SIGKILL of A), ms after the kill:",
              `  B took A for dead:          ${learnedMs}`,
              ...moving.map((u) =>
                `  ${u} resumed on B:          ${backMs.get(u)}  (media at Sam again: ${
                  mediaAgainMs.get(u)
                })`
              ),
              `  ada's Room said reconnected: ${(adaReconnectedAt ?? NaN) - killedAt}`,
              `  al announced as left:        ${alLeftMs}`,
              "",
            ].join("\n"),
          );

          // Nobody on B saw the three leave or join again; they kept their sessions.
          for (const user of moving) {
            assertEquals(
              eventsAbout(sam.received, user),
              [{ type: MeetingEventType.PARTICIPANT_JOINED, session: ids.get(user)! }],
              `what sam was told about ${user}`,
            );
          }
          assertEquals(beaSawLeave, ["al"]);
          assertEquals(ada.sessionId, ids.get("ada"));
          assertEquals(ada.state.kind, "connected");
          assert(adaReconnectedAt !== undefined, "ada's room reconnected");
          assertEquals(await b.metric("videocall_sessions_moved_total"), 3);
        } finally {
          await pia?.close();
        }
      });
    } finally {
      stopTalking();
      await streamer.stop();
      await ada.leave();
      await bea.leave();
      await pool.closeAll();
      await balancer.stop();
      await Promise.all([a.kill(), b.stop()]);
      await db.cleanup();
    }
  },
});
