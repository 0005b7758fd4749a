/**
 * Meetings, identities and permissions end to end: the HTTP API, tokens, and host decisions
 * reaching live media connections — on one instance and across two on NATS.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, eventually, uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { sharedDatabaseUrl } from "./support/store_fixtures.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { mintToken } from "../lib/auth/tokens.ts";
import { decodeMediaPacket, decodeMeetingPacket } from "../lib/protocol/codec.ts";
import { MediaType, MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import type { Received } from "./support/packet_client.ts";

const natsUrl = await sharedNatsUrl();
const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const secretBytes = new TextEncoder().encode(SECRET);

/** An HTTP client holding one user's guest session cookie. */
class ApiClient {
  cookie = "";
  /** A guest session's token (empty for an operator's client). */
  token = "";
  constructor(readonly base: string, readonly bearer?: string) {}

  /** The query that takes this guest session's identity into a media connection. */
  get query(): string {
    return `?token=${this.token}`;
  }

  static async guest(
    server: ServerProcess,
    userId: string,
    displayName = userId,
  ): Promise<ApiClient> {
    const client = new ApiClient(server.httpUrl);
    const response = await fetch(`${server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: userId, display_name: displayName }),
    });
    const body = await response.json();
    assertEquals(response.status, 200, JSON.stringify(body));
    client.cookie = response.headers.get("set-cookie")!.split(";")[0];
    client.token = body.result.token;
    return client;
  }

  async call(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.cookie) headers.cookie = this.cookie;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    const response = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const json = await response.json();
    return { status: response.status, body: json };
  }
}

const audioFrom = (user: string, byte: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === MediaType.AUDIO && m.value.data[0] === byte;
};

async function withServer(
  env: Record<string, string>,
  fn: (s: ServerProcess, pool: ClientPool) => Promise<void>,
) {
  const server = await startServerProcess(env);
  const pool = new ClientPool();
  try {
    await fn(server, pool);
  } finally {
    await pool.closeAll();
    await server.stop();
  }
}

Deno.test("the waiting room holds a guest until a host admits them, over the API and the media connection", async () => {
  await withServer({}, async (server, pool) => {
    const room = uniqueRoom();
    const host = await ApiClient.guest(server, "hana", "Hana");
    const created = await host.call("POST", "/meetings", {
      meeting_id: room,
      waiting_room_enabled: true,
    });
    assertEquals(created.status, 201, JSON.stringify(created.body));
    assertEquals(created.body.result.waiting_room_enabled, true);
    const hana = await pool.joinActive(server.wsUrl, "hana", room, [], host.query);

    const gus = await pool.join(server.wsUrl, "gus", room);
    gus.heartbeat();
    const waiting = await host.call("GET", `/meetings/${room}/waiting`);
    assertEquals(waiting.body.result.map((p: { user_id: string }) => p.user_id), ["gus"]);
    // While waiting, Gus hears nothing and nobody hears him.
    say(hana, 1);
    say(gus, 2);
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(gus.received.filter(audioFrom("hana", 1)).length, 0);
    assertEquals(hana.received.filter(audioFrom("gus", 2)).length, 0);
    assertEquals(
      gus.meetingEvents().filter((m) => m.eventType === MeetingEventType.PARTICIPANT_JOINED).length,
      0,
    );

    // A guest cannot admit anyone.
    const guest = await ApiClient.guest(server, "gus");
    const denied = await guest.call("POST", `/meetings/${room}/admit`, { user_id: "gus" });
    assertEquals(denied.status, 403);
    assertEquals(denied.body.result.code, "not_host");

    const admitted = await host.call("POST", `/meetings/${room}/admit`, { user_id: "gus" });
    assertEquals(admitted.status, 200, JSON.stringify(admitted.body));
    await gus.next((r) => {
      if (r.wrapper.packetType !== PacketType.MEETING) return false;
      return gus.meetingEvents().some((m) => m.eventType === MeetingEventType.PARTICIPANT_ADMITTED);
    });
    await gus.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, hana.sessionId);
    say(hana, 3);
    await gus.next(audioFrom("hana", 3));
    gus.heartbeat();
    await hana.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, gus.sessionId);
  });
});

function say(client: WireClient, byte: number) {
  client.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([byte]) });
}

Deno.test("a removed participant is disconnected and cannot come back; an ended meeting closes everyone", async () => {
  await withServer({}, async (server, pool) => {
    const room = uniqueRoom();
    const host = await ApiClient.guest(server, "hana");
    await host.call("POST", `/meetings/${room}/join`, { display_name: "Hana" });
    const hana = await pool.joinActive(server.wsUrl, "hana", room, [], host.query);
    const mal = await pool.joinActive(server.wsUrl, "mal", room, [hana]);
    const removed = await host.call("POST", `/meetings/${room}/remove`, { user_id: "mal" });
    assertEquals(removed.status, 200);
    const closed = await mal.closed;
    assertEquals([closed.code, closed.reason], [4403, "A host removed you from this meeting"]);
    const again = await fetch(`${server.httpUrl}/lobby/mal/${room}`, {
      headers: { upgrade: "websocket", connection: "upgrade" },
    });
    assertEquals(again.status, 403);
    assertEquals((await again.json()).result.message, "A host removed you from this meeting");
    // Nobody can remove the host.
    const cohostTry = await host.call("POST", `/meetings/${room}/remove`, { user_id: "hana" });
    assertEquals(cohostTry.status, 403);

    const ended = await host.call("POST", `/meetings/${room}/end`);
    assertEquals(ended.body.result.state, "ended");
    const hanaClosed = await hana.closed;
    assertEquals([hanaClosed.code, hanaClosed.reason], [4410, "The meeting has ended"]);
    assert(hana.meetingEvents().some((m) => m.eventType === MeetingEventType.MEETING_ENDED));
    const late = await fetch(`${server.httpUrl}/lobby/zed/${room}`, {
      headers: { upgrade: "websocket", connection: "upgrade" },
    });
    assertEquals(late.status, 410);
    await late.body?.cancel();
  });
});

Deno.test("a locked meeting keeps newcomers out and lets the admitted back in; passwords are checked", async () => {
  await withServer({}, async (server, pool) => {
    const room = uniqueRoom();
    const host = await ApiClient.guest(server, "hana");
    await host.call("POST", "/meetings", { meeting_id: room, password: "s3cret" });
    const guest = await ApiClient.guest(server, "gus");
    const wrong = await guest.call("POST", `/meetings/${room}/join`, { password: "nope" });
    assertEquals([wrong.status, wrong.body.result.code], [403, "wrong_password"]);
    const right = await guest.call("POST", `/meetings/${room}/join`, { password: "s3cret" });
    assertEquals(right.body.result.participant.status, "admitted");
    await host.call("POST", `/meetings/${room}/lock`);
    const newcomer = await ApiClient.guest(server, "nia");
    const locked = await newcomer.call("POST", `/meetings/${room}/join`, { password: "s3cret" });
    assertEquals([locked.status, locked.body.result.code], [423, "locked"]);
    // Gus was admitted before the lock: his media connection is let in.
    const gus = await pool.join(server.wsUrl, "gus", room, guest.query);
    assertGreater(Number(gus.sessionId), 0);
  });
});

Deno.test("bad API input gets a 4xx with a message and stores nothing odd", async () => {
  await withServer({}, async (server) => {
    const room = uniqueRoom();
    const host = await ApiClient.guest(server, "hana");
    const cases: [string, string, unknown, number, string][] = [
      ["POST", "/meetings", "not json", 400, "The body is not valid JSON"],
      ["POST", "/meetings", "[1,2]", 400, "The body must be a JSON object"],
      ["POST", "/meetings", { meeting_id: "a.b" }, 400, "may only contain letters"],
      [
        "POST",
        "/meetings",
        { meeting_id: room, waiting_room_enabled: "yes" },
        400,
        "must be true or false",
      ],
      ["POST", "/meetings", { meeting_id: room, attendees: "x" }, 400, "attendees"],
      ["POST", `/meetings/${room}/admit`, {}, 400, '"user_id" is required'],
      ["GET", `/meetings/${"x".repeat(65)}`, undefined, 400, "longer than 64"],
      ["POST", `/meetings/${room}/join`, { display_name: "x".repeat(101) }, 400, "longer than 100"],
      ["GET", "/meetings/nope-nope/explode", undefined, 404, "Nothing at"],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await host.call(method, path, body);
      assertEquals(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert(r.body.result.message.includes(message), `${path}: ${r.body.result.message}`);
    }
    const huge = await host.call(
      "POST",
      "/meetings",
      JSON.stringify({ meeting_id: room, pad: "x".repeat(20_000) }),
    );
    assertEquals([huge.status, huge.body.result.code], [413, "body_too_large"]);
    // SQL metacharacters in a display name round-trip unchanged.
    const name = `Robert'); DROP TABLE meetings; -- "\\ 😀`;
    const joined = await host.call("POST", `/meetings/${room}/join`, { display_name: name });
    assertEquals(joined.body.result.participant.display_name, name);
    const list = await host.call("GET", `/meetings/${room}/participants`);
    assertEquals(list.body.result[0].display_name, name);
    // No session, no API.
    const anonymous = await fetch(`${server.httpUrl}/api/v1/meetings`);
    assertEquals(anonymous.status, 401);
    await anonymous.body?.cancel();
  });
});

Deno.test("with AUTH=required only valid tokens get in, with reasons that help the user", async () => {
  await withServer({ AUTH: "required", JWT_SECRET: SECRET }, async (server) => {
    const room = uniqueRoom();
    const open = await fetch(`${server.httpUrl}/lobby/alice/${room}`, {
      headers: { upgrade: "websocket", connection: "upgrade" },
    });
    assertEquals(open.status, 401);
    await open.body?.cancel();
    const token = await mintToken(secretBytes, {
      userId: "alice",
      room,
      role: "host",
      ttlSeconds: 60,
    });
    const forged = await mintToken(
      new TextEncoder().encode("another-secret-that-is-also-long-enough"),
      {
        userId: "alice",
        room,
        ttlSeconds: 60,
      },
    );
    const expired = await mintToken(secretBytes, {
      userId: "alice",
      room,
      ttlSeconds: 1,
      now: new Date(Date.now() - 3_600_000),
    });
    for (
      const [t, status, reason] of [
        [forged, 401, "The token is invalid"],
        [expired, 401, "The token has expired; ask for a new link"],
        ["garbage", 401, "The token is invalid"],
      ] as const
    ) {
      const r = await fetch(`${server.httpUrl}/lobby?token=${t}`, {
        headers: { upgrade: "websocket", connection: "upgrade" },
      });
      assertEquals(r.status, status);
      assertEquals((await r.json()).result.message, reason);
    }
    const noToken = await new ApiClient(server.httpUrl).call("GET", "/meetings");
    assertEquals([noToken.status, noToken.body.result.code], [401, "unauthenticated"]);
    const hostApi = new ApiClient(server.httpUrl, token);
    const created = await hostApi.call("POST", `/meetings/${room}/join`);
    assertEquals(created.status, 201, JSON.stringify(created.body));
    const guestSession = await fetch(`${server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(guestSession.status, 403);
    await guestSession.body?.cancel();

    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`${server.wsUrl}/lobby?token=${token}`);
    const got: Uint8Array[] = [];
    ws.on("message", (d: Uint8Array) => got.push(d));
    await eventually(() => got.length >= 2, 5000, "SESSION_ASSIGNED and MEETING_STARTED");
    ws.close();
    await new Promise((r) => ws.once("close", r));
  });
});

Deno.test({
  name: "a host's kick on instance A closes the participant's session on instance B (NATS)",
  ignore: natsUrl === undefined,
  async fn() {
    const { testDatabase } = await import("./support/database.ts");
    const db = await testDatabase();
    const env = { NATS_URL: natsUrl!, JWT_SECRET: SECRET, ...db.env };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const pool = new ClientPool();
    try {
      const room = uniqueRoom();
      const host = await ApiClient.guest(a, "hana");
      await host.call("POST", `/meetings/${room}/join`);
      const hana = await pool.joinActive(a.wsUrl, "hana", room, [], host.query);
      const mal = await pool.joinActive(b.wsUrl, "mal", room);
      await hana.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, mal.sessionId);
      const started = performance.now();
      const removed = await host.call("POST", `/meetings/${room}/remove`, { user_id: "mal" });
      assertEquals(removed.status, 200);
      const closed = await mal.closed;
      assertEquals(closed.code, 4403);
      console.log(
        `kick on A closed the session on B after ${Math.round(performance.now() - started)} ms`,
      );
      await hana.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, mal.sessionId, 5000);
    } finally {
      await pool.closeAll();
      await Promise.all([a.stop(), b.stop()]);
      await db.cleanup();
    }
  },
});

Deno.test("meetings persist in the embedded Postgres across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "videocall-pglite-" });
  try {
    const env = { DATABASE_URL: "", DATA_DIR: dir, JWT_SECRET: SECRET };
    const room = uniqueRoom();
    let server = await startServerProcess(env);
    try {
      const host = await ApiClient.guest(server, "hana");
      const created = await host.call("POST", "/meetings", {
        meeting_id: room,
        waiting_room_enabled: true,
      });
      assertEquals(created.status, 201, JSON.stringify(created.body));
      assert(server.logs.some((l) => l.event === "store_ready" && l.store === "pglite"));
    } finally {
      await server.stop();
    }
    server = await startServerProcess(env);
    try {
      const host = await ApiClient.guest(server, "hana");
      const again = await host.call("GET", `/meetings/${room}`);
      assertEquals(again.status, 200, JSON.stringify(again.body));
      assertEquals(again.body.result.waiting_room_enabled, true);
      assertEquals(again.body.result.host, "hana");
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("room-scoped tokens act on their meeting only; an operator's host token makes a co-host", async () => {
  await withServer({ AUTH: "required", JWT_SECRET: SECRET }, async (server) => {
    const room = uniqueRoom();
    const ownerToken = await mintToken(secretBytes, {
      userId: "olga",
      room,
      role: "host",
      ttlSeconds: 60,
    });
    const owner = new ApiClient(server.httpUrl, ownerToken);
    await owner.call("POST", "/meetings", { meeting_id: room, waiting_room_enabled: true });
    const elsewhere = await owner.call("GET", `/meetings/${uniqueRoom()}`);
    assertEquals([elsewhere.status, elsewhere.body.result.message], [
      403,
      "The token is for another meeting",
    ]);
    const createElsewhere = await owner.call("POST", "/meetings", { meeting_id: uniqueRoom() });
    assertEquals([createElsewhere.status, createElsewhere.body.result.code], [403, "wrong_room"]);

    const modToken = await mintToken(secretBytes, {
      userId: "mo",
      room,
      role: "host",
      ttlSeconds: 60,
    });
    const mod = new ApiClient(server.httpUrl, modToken);
    const joined = await mod.call("POST", `/meetings/${room}/join`);
    assertEquals(joined.body.result.participant.role, "cohost");
    assertEquals(
      joined.body.result.participant.status,
      "admitted",
      "managers skip the waiting room",
    );

    const guestToken = await mintToken(secretBytes, { userId: "gus", room, ttlSeconds: 60 });
    const guest = new ApiClient(server.httpUrl, guestToken);
    assertEquals(
      (await guest.call("POST", `/meetings/${room}/join`)).body.result.participant.status,
      "waiting",
    );
    // Two managers decide about the same person at once: exactly one decision wins.
    const [admit, remove] = await Promise.all([
      mod.call("POST", `/meetings/${room}/admit`, { user_id: "gus" }),
      owner.call("POST", `/meetings/${room}/reject`, { user_id: "gus" }),
    ]);
    const statuses = [admit.status, remove.status].sort();
    assertEquals(statuses, [200, 409], JSON.stringify([admit.body, remove.body]));
    const status = await guest.call("GET", `/meetings/${room}/status`);
    assertEquals(status.body.result.status, admit.status === 200 ? "admitted" : "rejected");
  });
});

Deno.test({
  name:
    "the API and /readyz answer 503 while the database is away, the process stays healthy, and both recover when it returns",
  ignore: await sharedDatabaseUrl() === undefined,
  async fn() {
    const { TcpProxy, viaPort } = await import("./support/tcp_proxy.ts");
    const { testDatabase } = await import("./support/database.ts");
    const db = await testDatabase();
    const target = new URL(db.env.DATABASE_URL);
    const proxy = new TcpProxy({ hostname: target.hostname, port: Number(target.port || 5432) });
    proxy.start();
    const server = await startServerProcess({
      ...db.env,
      DATABASE_URL: viaPort(db.env.DATABASE_URL, proxy.port),
    });
    try {
      const room = uniqueRoom();
      const host = await ApiClient.guest(server, "hana");
      assertEquals((await host.call("POST", "/meetings", { meeting_id: room })).status, 201);
      const ready = async () => {
        const r = await fetch(`${server.httpUrl}/readyz`);
        return { status: r.status, text: await r.text() };
      };
      assertEquals(await ready(), { status: 200, text: "ready\n" });
      await proxy.stop();
      const down = await host.call("GET", `/meetings/${room}`);
      assertEquals([down.status, down.body.result.code], [503, "database_unavailable"]);
      // Not ready (a load balancer sends new people elsewhere), with the reason; alive all along.
      await eventually(
        async () => {
          const r = await ready();
          return r.status === 503 && r.text.startsWith("database unavailable");
        },
        15_000,
        "/readyz to say 503 while the database is away",
      );
      const health = await fetch(`${server.httpUrl}/healthz`);
      assertEquals([health.status, await health.text()], [200, "ok\n"]);
      proxy.start();
      await eventually(
        async () => (await host.call("GET", `/meetings/${room}`)).status === 200,
        10_000,
        "recovery",
      );
      await eventually(async () => (await ready()).status === 200, 15_000, "ready again");
    } finally {
      await server.stop();
      await proxy.stop();
      await db.cleanup();
    }
  },
});

Deno.test("the host changes settings and roles; participants leave; the host deletes the meeting", async () => {
  await withServer({}, async (server) => {
    const room = uniqueRoom();
    const host = await ApiClient.guest(server, "hana");
    await host.call("POST", "/meetings", { meeting_id: room });
    const patched = await host.call("PATCH", `/meetings/${room}`, {
      waiting_room_enabled: true,
      password: "pw",
    });
    assertEquals([patched.body.result.waiting_room_enabled, patched.body.result.has_password], [
      true,
      true,
    ]);
    const gus = await ApiClient.guest(server, "gus");
    assertEquals(
      (await gus.call("POST", `/meetings/${room}/join`, { password: "pw" })).body.result.participant
        .status,
      "waiting",
    );
    assertEquals((await host.call("POST", `/meetings/${room}/admit-all`)).body.result.length, 1);
    const promoted = await host.call("POST", `/meetings/${room}/role`, {
      user_id: "gus",
      role: "cohost",
    });
    assertEquals(promoted.body.result.role, "cohost");
    // A co-host manages, but cannot change roles or delete.
    assertEquals((await gus.call("POST", `/meetings/${room}/lock`)).body.result.locked, true);
    assertEquals(
      (await gus.call("POST", `/meetings/${room}/role`, { user_id: "hana", role: "guest" })).status,
      403,
    );
    assertEquals((await gus.call("DELETE", `/meetings/${room}`)).status, 403);
    const left = await gus.call("POST", `/meetings/${room}/leave`);
    assertEquals(left.body.result.status, "left");
    const listed = await host.call("GET", "/meetings");
    assert(listed.body.result.some((m: { meeting_id: string }) => m.meeting_id === room));
    assertEquals((await host.call("DELETE", `/meetings/${room}`)).status, 200);
    assertEquals((await host.call("GET", `/meetings/${room}`)).status, 404);
  });
});

Deno.test("leaving through the API closes the media connection and tells the others at once", async () => {
  await withServer({ LEAVE_GRACE_MS: "60000" }, async (server, pool) => {
    const room = uniqueRoom();
    const hana = await pool.joinActive(server.wsUrl, "hana", room);
    const gus = await pool.joinActive(server.wsUrl, "gus", room, [hana]);
    const api = await ApiClient.guest(server, "gus");
    const left = await api.call("POST", `/meetings/${room}/leave`);
    assertEquals(left.body.result.status, "left");
    const closed = await gus.closed;
    assertEquals([closed.code, closed.reason], [1000, "You left the meeting"]);
    // Not after the 60 s grace: now.
    await hana.nextMeetingEvent(MeetingEventType.PARTICIPANT_LEFT, gus.sessionId, 3000);
  });
});

Deno.test("a guest session's token on /lobby/<user>/<room> carries the display name; another user's is refused", async () => {
  await withServer({}, async (server, pool) => {
    const room = uniqueRoom();
    const response = await fetch(`${server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "ada", display_name: "Ada Lovelace" }),
    });
    const token = (await response.json()).result.token;
    const bob = await pool.joinActive(server.wsUrl, "bob", room);
    const ada = await pool.join(server.wsUrl, "ada", room, `?token=${token}`);
    ada.heartbeat();
    const joined = await bob.next((r) => {
      if (r.wrapper.packetType !== PacketType.MEETING) return false;
      const m = decodeMeetingPacket(r.wrapper.data);
      return m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_JOINED &&
        new TextDecoder().decode(m.value.displayName) === "Ada Lovelace";
    });
    assertEquals(joined.userId, "system-&^%$#@!");
    const participants = await (await ApiClient.guest(server, "bob")).call(
      "GET",
      `/meetings/${room}/participants`,
    );
    const names = participants.body.result.map((p: { display_name: string }) => p.display_name);
    assert(names.includes("Ada Lovelace"), JSON.stringify(names));

    const refused = await fetch(`${server.httpUrl}/lobby/mallory/${room}?token=${token}`, {
      headers: { upgrade: "websocket", connection: "upgrade" },
    });
    const body = await refused.json();
    assertEquals(refused.status, 403);
    assertEquals(body.result.message, 'The token is for "ada", not "mallory"');
  });
});
