/**
 * Attacks on a real server process, each refused while honest users carry on: bodies larger than
 * any request needs (declared or chunked), connection floods from one address, meeting-creation
 * floods, and requests from pages of other sites (`/readyz` with the database away is in
 * meetings_test.ts, beside the API's own outage test).
 * Attackers speak raw HTTP over TCP where a polite client library would not send what they send.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom, withServer } from "./support/harness.ts";
import { WireClient } from "./support/wire_client.ts";

const MB = 1024 * 1024;

/** The status line and the body of a raw HTTP/1.1 exchange on a fresh connection. */
async function rawRequest(
  port: number,
  head: string,
  body?: (conn: Deno.Conn) => Promise<void>,
): Promise<{ status: number; text: string; sentBody: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reading = (async () => {
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch {
        break;
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
      const text = new TextDecoder().decode(
        new Uint8Array(chunks.flatMap((c) => [...c])),
      );
      // One response is enough: stop at the end of its body.
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      const end = text.indexOf("\r\n\r\n");
      if (length !== undefined && end !== -1 && text.length >= end + 4 + Number(length)) break;
      if (end !== -1 && text.startsWith("HTTP/1.1 101")) break; // upgraded: no body follows
    }
    return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  })();
  let sentBody = true;
  try {
    await conn.write(new TextEncoder().encode(head));
    if (body) await body(conn);
  } catch {
    sentBody = false; // the server stopped reading and closed: what we want
  }
  const text = await reading;
  try {
    conn.close();
  } catch {
    // Closed by the server.
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, text, sentBody };
}

/** Writes `total` bytes of chunked body in 64 KiB chunks, stopping when the server hangs up. */
async function chunked(conn: Deno.Conn, total: number): Promise<void> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const frame = new Uint8Array([
    ...new TextEncoder().encode(`${chunk.length.toString(16)}\r\n`),
    ...chunk,
    ...new TextEncoder().encode("\r\n"),
  ]);
  for (let sent = 0; sent < total; sent += chunk.length) await conn.write(frame);
  await conn.write(new TextEncoder().encode("0\r\n\r\n"));
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

Deno.test("bodies are bounded while they are read: a 200 MB chunked body or a huge declared length gets 413 and leaves memory where it was", async () => {
  await withServer({}, async (h) => {
    const port = portOf(h.server.httpUrl);
    const before = await h.server.metric("videocall_process_resident_memory_bytes");
    for (const path of ["/api/v1/session", "/api/v1/meetings"]) {
      const flood = await rawRequest(
        port,
        `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          "transfer-encoding: chunked\r\n\r\n",
        (conn) => chunked(conn, 200 * MB),
      );
      // The session endpoint reads it (and stops at 4 KB); the meetings API refuses the caller
      // before reading (401): either way nothing near 200 MB is kept.
      assert([413, 401].includes(flood.status), `${path}: ${flood.text.slice(0, 300)}`);
      if (path === "/api/v1/session") assert(flood.text.includes("body_too_large"), flood.text);
    }
    const declared = await rawRequest(
      port,
      "POST /api/v1/session HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        "content-length: 10000000000\r\n\r\n{",
    );
    assertEquals(declared.status, 413, declared.text);
    const form = await rawRequest(
      port,
      "POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\n" +
        "transfer-encoding: chunked\r\n\r\n",
      (conn) => chunked(conn, 50 * MB),
    );
    assertEquals(form.status, 413, form.text.slice(0, 300));
    const after = await h.server.metric("videocall_process_resident_memory_bytes");
    console.log(
      `resident memory ${(before / MB).toFixed(0)} MB before, ${(after / MB).toFixed(0)} MB ` +
        "after 450 MB of bodies were offered",
    );
    assert(
      after - before < 60 * MB,
      `refused bodies must not be kept: ${((after - before) / MB).toFixed(0)} MB more`,
    );
    assert(await h.server.metric("videocall_rejected_connections_total", 'reason="http_413"') >= 2);
    // An honest sign-in still works.
    const ok = await fetch(`${h.server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "ada" }),
    });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  });
});

/** A WebSocket upgrade as an attacker sends it; answers with the status and the body. */
function upgrade(port: number, path: string, headers = ""): ReturnType<typeof rawRequest> {
  return rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
      "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n" + headers +
      "\r\n",
  );
}

Deno.test("one address may hold only so many media connections; more get 429 with the reason, counted, and a freed place can be taken again", async () => {
  await withServer({ MAX_CONNECTIONS_PER_ADDRESS: "3" }, async (h) => {
    const room = uniqueRoom("flood");
    const held = [await h.join("a", room), await h.join("b", room), await h.join("c", room)];
    const refused = await upgrade(portOf(h.server.httpUrl), `/lobby/d/${room}`);
    assertEquals(refused.status, 429, refused.text);
    assert(refused.text.includes("too_many_connections"), refused.text);
    assertEquals(
      await h.server.metric(
        "videocall_rejected_connections_total",
        'reason="too_many_connections"',
      ),
      1,
    );
    assertEquals(await h.server.metric("videocall_media_connections_open"), 3);
    await held[0].close();
    await eventually(
      async () => await h.server.metric("videocall_media_connections_open") === 2,
      5000,
    );
    const again = await h.join("e", room);
    assert(again.sessionId !== 0n);
  });
});

Deno.test("connecting too fast from one address gets 429, and the server's own cap gets 503, while connections already in carry on", async () => {
  await withServer(
    { CONNECTIONS_PER_ADDRESS_PER_MINUTE: "6", MAX_CONNECTIONS: "50" },
    async (h) => {
      const room = uniqueRoom("fast");
      const port = portOf(h.server.httpUrl);
      // The burst is 5 (a sixth of the minute's 6, at least 5).
      const first = await h.joinActive("first", room);
      const answers: number[] = [];
      for (let i = 0; i < 8; i++) {
        answers.push(
          (await upgrade(port, `/lobby/u${i}/${room}`)).status,
        );
      }
      assertEquals(answers.filter((s) => s === 429).length >= 4, true, JSON.stringify(answers));
      assert(
        await h.server.metric(
          "videocall_rejected_connections_total",
          'reason="connecting_too_fast"',
        ) >= 4,
      );
      // The one already in is still served.
      const alive = await Promise.race([
        first.closed.then(() => false),
        delay(300).then(() => true),
      ]);
      assert(alive, "the connection already in was not touched");
    },
  );
  await withServer({ MAX_CONNECTIONS: "2" }, async (h) => {
    const room = uniqueRoom("full");
    await h.join("a", room);
    await h.join("b", room);
    const full = await upgrade(portOf(h.server.httpUrl), `/lobby/c/${room}`);
    assertEquals(full.status, 503, full.text);
    assert(full.text.includes("server_full"), full.text);
  });
});

Deno.test("one address creates at most so many meetings an hour; joining existing meetings goes on", async () => {
  await withServer({ NEW_MEETINGS_PER_ADDRESS_PER_HOUR: "2" }, async (h) => {
    const rooms = [uniqueRoom("m1"), uniqueRoom("m2"), uniqueRoom("m3")];
    await h.join("a", rooms[0]);
    await h.join("a", rooms[1]);
    const refused = await upgrade(portOf(h.server.httpUrl), `/lobby/a/${rooms[2]}`);
    assertEquals(refused.status, 429, refused.text);
    assert(refused.text.includes("too_many_meetings"), refused.text);
    // Through the API too.
    const session = await fetch(`${h.server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "b" }),
    }).then((r) => r.json());
    const created = await fetch(`${h.server.httpUrl}/api/v1/meetings`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${session.result.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ meeting_id: rooms[2] }),
    });
    assertEquals(created.status, 429);
    await created.body?.cancel();
    // Existing meetings can still be joined by anyone.
    const joined = await h.join("b", rooms[0]);
    assert(joined.sessionId !== 0n);
  });
});

Deno.test("behind a trusted proxy the forwarded address is the one bounded; without TRUST_PROXY the header is ignored", async () => {
  await withServer({ MAX_CONNECTIONS_PER_ADDRESS: "1", TRUST_PROXY: "on" }, async (h) => {
    const room = uniqueRoom("proxy");
    const port = portOf(h.server.httpUrl);
    const pool = new ClientPool();
    try {
      await pool.join(h.server.wsUrl, "a", room);
      // The test's own connection counts as 127.0.0.1; another forwarded address is someone else.
      const other = await upgrade(port, `/lobby/b/${room}`, "x-forwarded-for: 203.0.113.9\r\n");
      assertEquals(other.status, 101, other.text);
      const same = await upgrade(port, `/lobby/c/${room}`, "x-forwarded-for: 127.0.0.1\r\n");
      assertEquals(same.status, 429, same.text);
    } finally {
      await pool.closeAll();
    }
  });
  await withServer({ MAX_CONNECTIONS_PER_ADDRESS: "1" }, async (h) => {
    const room = uniqueRoom("noproxy");
    await h.join("a", room);
    const spoofed = await upgrade(
      portOf(h.server.httpUrl),
      `/lobby/b/${room}`,
      "x-forwarded-for: 203.0.113.9\r\n",
    );
    assertEquals(spoofed.status, 429, "a client cannot choose its address");
  });
});

Deno.test("pages of other sites cannot open media connections or call the API with a visitor's cookie; JSON must say it is JSON", async () => {
  await withServer({ PUBLIC_URL: "https://meet.example.org" }, async (h) => {
    const port = portOf(h.server.httpUrl);
    const room = uniqueRoom("origin");
    const evil = await upgrade(port, `/lobby/a/${room}`, "origin: https://evil.example\r\n");
    assertEquals(evil.status, 403, evil.text);
    assert(evil.text.includes("origin_not_allowed"), evil.text);
    for (const origin of ["https://meet.example.org", `http://127.0.0.1:${port}`]) {
      const ok = await upgrade(port, `/lobby/a-${origin.length}/${room}`, `origin: ${origin}\r\n`);
      assertEquals(ok.status, 101, `${origin}: ${ok.text}`);
    }
    // Login CSRF: a cross-site form can send text/plain, never application/json without CORS.
    const plain = await fetch(`${h.server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ user_id: "victim" }),
    });
    assertEquals(plain.status, 415);
    assertEquals(plain.headers.get("set-cookie"), null);
    await plain.body?.cancel();
    const signed = await fetch(`${h.server.httpUrl}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: "ada" }),
    });
    const cookie = signed.headers.get("set-cookie") ?? "";
    await signed.body?.cancel();
    assert(/;\s*Secure/i.test(cookie), `the cookie is Secure under an https public URL: ${cookie}`);
    const crossSite = await fetch(`${h.server.httpUrl}/api/v1/meetings`, {
      headers: { cookie: cookie.split(";")[0], origin: "https://evil.example" },
    });
    assertEquals(crossSite.status, 403);
    await crossSite.body?.cancel();
    const sameSite = await fetch(`${h.server.httpUrl}/api/v1/meetings`, {
      headers: { cookie: cookie.split(";")[0], origin: "https://meet.example.org" },
    });
    assertEquals(sameSite.status, 200);
    await sameSite.body?.cancel();
    const page = await fetch(`${h.server.httpUrl}/`);
    await page.body?.cancel();
    assert(page.headers.get("content-security-policy")?.includes("frame-ancestors 'none'"));
    assertEquals(page.headers.get("strict-transport-security"), "max-age=31536000");
  });
});

// Connections from a load generator in the same test file must not starve each other.
Deno.test("a flood of connection attempts from one address does not stop another address's client from joining", async () => {
  await withServer({ TRUST_PROXY: "on", CONNECTIONS_PER_ADDRESS_PER_MINUTE: "60" }, async (h) => {
    const room = uniqueRoom("starve");
    const port = portOf(h.server.httpUrl);
    const statuses = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => upgrade(port, `/lobby/f${i}/${room}`, "x-forwarded-for: 198.51.100.7\r\n"),
      ),
    ).then((answers) => answers.map((a) => a.status));
    assert(statuses.filter((s) => s === 429).length >= 150, JSON.stringify(statuses));
    const honest = await WireClient.connect(h.server.wsUrl, "honest", room);
    try {
      assert(honest.sessionId !== 0n);
    } finally {
      await honest.close();
    }
  });
});

/** Signs in as a guest (open mode); `cookie` is the browser's current session cookie, if any. */
async function guestSession(
  base: string,
  userId: string,
  cookie = "",
): Promise<{ token: string; cookie: string }> {
  const response = await fetch(`${base}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ user_id: userId }),
  });
  const body = await response.json();
  assertEquals(response.status, 200, JSON.stringify(body));
  return { token: body.result.token, cookie: response.headers.get("set-cookie")!.split(";")[0] };
}

async function apiCall(base: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

Deno.test("open mode binds a meeting's identities to the session that took them: the host's id cannot be claimed by URL or by a new guest session, and a removal bans the session under any name", async () => {
  await withServer({}, async (h) => {
    const base = h.server.httpUrl;
    const port = portOf(base);
    const room = uniqueRoom("claims");
    const hana = await guestSession(base, "hana");
    assertEquals(
      (await apiCall(base, hana.token, "POST", "/meetings", { meeting_id: room })).status,
      201,
    );
    const host = await h.joinActive("hana", room, [], `?token=${hana.token}`);
    // Someone who read "hana" from a PARTICIPANT_JOINED: by URL, and with their own session.
    const byUrl = await upgrade(port, `/lobby/hana/${room}`);
    assertEquals(byUrl.status, 403, byUrl.text);
    assert(byUrl.text.includes("identity_taken"), byUrl.text);
    const impostor = await guestSession(base, "hana");
    for (
      const [method, path] of [["POST", `/meetings/${room}/lock`], [
        "POST",
        `/meetings/${room}/end`,
      ]]
    ) {
      const tried = await apiCall(base, impostor.token, method, path);
      assertEquals([tried.status, tried.body.result.code], [403, "identity_taken"], path);
    }
    const impostorMedia = await upgrade(port, `/lobby/hana/${room}?token=${impostor.token}`);
    assertEquals(impostorMedia.status, 403, impostorMedia.text);
    // The host's own session still works, on the API and on a second connection.
    assertEquals((await apiCall(base, hana.token, "POST", `/meetings/${room}/lock`)).status, 200);
    assertEquals((await apiCall(base, hana.token, "POST", `/meetings/${room}/unlock`)).status, 200);
    const second = await h.join("hana", room, `?token=${hana.token}`);
    assert(second.sessionId !== 0n);

    // Mal joins, is removed, and tries to come back under another name from the same browser.
    const mal = await guestSession(base, "mal");
    const malMedia = await h.joinActive("mal", room, [host], `?token=${mal.token}`);
    const removed = await apiCall(base, hana.token, "POST", `/meetings/${room}/remove`, {
      user_id: "mal",
    });
    assertEquals(removed.status, 200, JSON.stringify(removed.body));
    assertEquals((await malMedia.closed).code, 4403);
    // A second later, so the new token's expiry differs from the banned one's (a ban is of the
    // session, not of one token).
    await delay(1100);
    const renamed = await guestSession(base, "mal2", mal.cookie);
    const back = await apiCall(base, renamed.token, "POST", `/meetings/${room}/join`);
    assertEquals([back.status, back.body.result.code], [403, "removed"]);
    const backMedia = await upgrade(port, `/lobby/mal2/${room}?token=${renamed.token}`);
    assertEquals(backMedia.status, 403, backMedia.text);
    // An id nobody's session holds is still free to use by URL (the streamer, upstream clients).
    const streamer = await h.join("pi", room);
    assert(streamer.sessionId !== 0n);
  });
});

Deno.test("a claim lasts as long as its guest session: once that session has expired, another may take the name", async () => {
  const secret = "hardening-test-secret-0123456789abcdef";
  await withServer({ JWT_SECRET: secret }, async (h) => {
    const { mintToken } = await import("../lib/auth/tokens.ts");
    const key = new TextEncoder().encode(secret);
    const room = uniqueRoom("expiry");
    const token = (sessionId: string, ttlSeconds: number) =>
      mintToken(key, { userId: "pi", ttlSeconds, sessionId });
    const join = (t: string) => apiCall(h.server.httpUrl, t, "POST", `/meetings/${room}/join`);
    assertEquals((await join(await token("first-session-0001", 60))).status, 201);
    const early = await join(await token("second-session-0002", 60));
    assertEquals([early.status, early.body.result.code], [403, "identity_taken"]);
    // The same session with another token still holds it (here one that expires in a second).
    assertEquals((await join(await token("first-session-0001", 1))).status, 200);
    await delay(2100);
    // Nobody can prove the expired session any more: the name is free, and now held by another.
    assertEquals((await join(await token("second-session-0002", 60))).status, 200);
    const late = await join(await token("first-session-0001", 60));
    assertEquals([late.status, late.body.result.code], [403, "identity_taken"]);
  });
});
