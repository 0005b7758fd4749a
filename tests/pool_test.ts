/**
 * The server pool: every instance tells the others, on its NATS heartbeat, where people reach it
 * and how busy it is; `GET /api/v1/servers` lists the live ones, the least loaded first; an
 * instance that is full (or draining) says where to go instead; the client library and the
 * meeting page choose from it.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { testDatabase } from "./support/database.ts";
import { ClientPool, eventually, uniqueRoom } from "./support/harness.ts";
import { freePort, sharedNatsUrl } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { TcpProxy } from "./support/tcp_proxy.ts";
import type { PoolEntry } from "../lib/relay/relay.ts";
import { Room } from "../lib/client/mod.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { openMeeting, waitForPeople, waitForScreen } from "./support/meeting_page.ts";

const natsUrl = await sharedNatsUrl();

Deno.test({
  name:
    "GET /api/v1/servers lists the live instances with their URLs and load, least loaded first; a full one names another",
  ignore: natsUrl === undefined,
  async fn() {
    const db = await testDatabase();
    const shared = {
      NATS_URL: natsUrl!,
      JWT_SECRET: "pool-test-secret-0123456789-abcdefghijkl",
      WT_PORT: "off",
      ...db.env,
    };
    // The URLs are names only: the listing carries them, nobody connects to them here.
    const a = await startServerProcess({ ...shared, PUBLIC_URL: "http://a.pool.test:8080" });
    const b = await startServerProcess({
      ...shared,
      PUBLIC_URL: "http://b.pool.test:8080",
      MAX_CONNECTIONS: "1",
    });
    const pool = new ClientPool();
    try {
      const list = async (server: typeof a): Promise<PoolEntry[]> =>
        (await (await server.fetch("/api/v1/servers")).json()).servers;
      // Other tests' servers share this NATS: look at ours only.
      const ours = (entries: PoolEntry[]) => entries.filter((e) => e.url.includes(".pool.test"));
      await eventually(async () => ours(await list(a)).length === 2, 10_000, "A to list both");
      await pool.join(b.wsUrl, "bea", uniqueRoom());
      await eventually(
        async () => ours(await list(a)).find((e) => e.url.startsWith("http://b."))?.sessions === 1,
        10_000,
        "B's session in A's listing",
      );
      const seen = ours(await list(a));
      assertEquals(seen.map((e) => [e.url, e.self, e.sessions, e.capacity]), [
        ["http://a.pool.test:8080", true, 0, 10_000],
        ["http://b.pool.test:8080", false, 1, 1],
      ]);
      assert(seen.every((e) => e.accepting && e.webTransport === false));
      // B is full: a newcomer is refused with where to go.
      const refused = await fetch(`${b.httpUrl}/lobby/cy/${uniqueRoom()}`, {
        headers: {
          upgrade: "websocket",
          connection: "upgrade",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      assertEquals(refused.status, 503);
      const body = await refused.json();
      assertEquals(body.result.code, "server_full");
      assert(body.result.alternatives.includes("http://a.pool.test:8080"), JSON.stringify(body));
      assert(body.result.message.includes("try http://"), body.result.message);
      const viaClient = await WireClient.connect(b.wsUrl, "dee", uniqueRoom()).then(
        () => "joined",
        (error: Error) => error.message,
      );
      assertEquals(viaClient, "HTTP 503");
    } finally {
      await pool.closeAll();
      await a.stop();
      await b.stop();
      await db.cleanup();
    }
  },
});

Deno.test("a lone server lists itself; a malformed card on the bus is ignored, the instance still counted alive", async () => {
  const { encodeLiveness, parseLiveness } = await import("../lib/relay/liveness.ts");
  const good = parseLiveness(encodeLiveness({
    t: "alive",
    i: "x1",
    card: {
      url: "https://x.example",
      sessions: 3,
      capacity: 10,
      accepting: true,
      webTransport: true,
    },
  }));
  assertEquals(good?.card?.sessions, 3);
  for (const bad of [{ u: "javascript:alert(1)" }, { s: -1 }, { c: 1.5 }, { a: "yes" }]) {
    const parsed = parseLiveness(
      new TextEncoder().encode(
        JSON.stringify({ t: "alive", i: "x2", u: "", s: 0, c: 1, a: true, w: false, ...bad }),
      ),
    );
    assertEquals(parsed?.i, "x2", JSON.stringify(bad));
    assertEquals(parsed?.card, undefined, JSON.stringify(bad));
  }
  const server = await startServerProcess({ PUBLIC_URL: "http://solo.pool.test:8080" });
  try {
    const servers = (await (await server.fetch("/api/v1/servers")).json()).servers;
    assertEquals(servers.length, 1);
    assertEquals(servers[0].self, true);
    assertEquals(servers[0].url, "http://solo.pool.test:8080");
    const post = await server.fetch("/api/v1/servers", { method: "POST" });
    assertEquals(post.status, 405);
    await post.body?.cancel();
  } finally {
    await server.stop();
  }
});

/** Two instances A and B in a pool on NATS, each with its own URL; B holds two people in `room`. */
async function withBusyB(
  room: string,
  fn: (a: ServerProcess, b: ServerProcess, origins: { a: string; b: string }) => Promise<void>,
): Promise<void> {
  const db = await testDatabase();
  const [portA, portB] = [await freePort(), await freePort()];
  const origins = { a: `http://127.0.0.1:${portA}`, b: `http://127.0.0.1:${portB}` };
  const shared = {
    NATS_URL: natsUrl!,
    JWT_SECRET: "pool-test-secret-0123456789-abcdefghijkl",
    WT_PORT: "off",
    ...db.env,
  };
  const a = await startServerProcess({ ...shared, PORT: String(portA), PUBLIC_URL: origins.a });
  const b = await startServerProcess({ ...shared, PORT: String(portB), PUBLIC_URL: origins.b });
  const pool = new ClientPool();
  try {
    await pool.joinActive(b.wsUrl, "bo", room);
    await pool.joinActive(b.wsUrl, "bi", room);
    await eventually(
      async () => {
        const servers: PoolEntry[] = (await (await b.fetch("/api/v1/servers")).json()).servers;
        return servers.find((e) => e.url === origins.b)?.sessions === 2 &&
          servers.some((e) => e.url === origins.a);
      },
      10_000,
      "B to list both, itself with two sessions",
    );
    await fn(a, b, origins);
  } finally {
    await pool.closeAll();
    await a.stop();
    await b.stop();
    await db.cleanup();
  }
}

Deno.test({
  name:
    "a client-library room with pickServer joins the pool's least loaded instance, though given another's URL",
  ignore: natsUrl === undefined,
  async fn() {
    const room = uniqueRoom("pick");
    await withBusyB(room, async (a, b, origins) => {
      const ada = new Room({ url: b.httpUrl, userId: "ada", meetingId: room, pickServer: true });
      let chosen: string | undefined;
      ada.on("serverChosen", (origin) => chosen = origin);
      try {
        await ada.connect();
        assertEquals(chosen, origins.a);
        assertEquals(await a.metric("videocall_sessions"), 1, "ada is on A");
        assertEquals(await b.metric("videocall_sessions"), 2);
      } finally {
        await ada.leave().catch(() => {});
      }
    });
  },
});

Deno.test({
  name:
    "a meeting page opened on a busy instance moves to the pool's least loaded one before the camera opens, and joins there; its CSP lets it time the others",
  ignore: natsUrl === undefined || browserTestsIgnored(),
  async fn() {
    const room = uniqueRoom("pick-page");
    await withBusyB(room, async (a, b, { a: originA, b: originB }) => {
      const shell = await b.fetch(`/meeting/ada/${room}`);
      await shell.body?.cancel();
      const csp = shell.headers.get("content-security-policy");
      assert(csp?.includes(`connect-src 'self'`) && csp.includes(originA), `CSP: ${csp}`);
      await withBrowser(async (browser) => {
        const page = await openMeeting(browser, originB, "ada", room, "name=Ada&autojoin=1");
        try {
          await waitForScreen(page.page, "in-call", 20_000);
          const landed = new URL(page.page.url());
          assertEquals(landed.origin, originA, page.messages.join("\n"));
          assertEquals(landed.pathname, `/meeting/ada/${room}`);
          assertEquals(landed.searchParams.get("server"), "stay");
          assertEquals(landed.searchParams.get("name"), "Ada");
          await waitForPeople(page.page, 2, 15_000);
          assertEquals(
            await a.metric("videocall_sessions"),
            1,
            `the page is on A:\n${page.messages.join("\n")}`,
          );
        } finally {
          await page.close();
        }
        // ?server=stay keeps a page where it was opened.
        const staying = await openMeeting(
          browser,
          originB,
          "cy",
          room,
          "name=Cy&autojoin=1&server=stay",
        );
        try {
          await waitForScreen(staying.page, "in-call", 20_000);
          assertEquals(new URL(staying.page.url()).origin, originB);
        } finally {
          await staying.close();
        }
      });
    });
  },
});

Deno.test("a lone server listing its own PUBLIC_URL is no choice: a room reaching it at another address stays there", async () => {
  const port = await freePort();
  const server = await startServerProcess({
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    WT_PORT: "off",
  });
  // The same server at another origin (a proxy's port): its PUBLIC_URL answers too, so only the
  // rule keeps the room where it was pointed.
  const proxy = new TcpProxy({ hostname: "127.0.0.1", port });
  proxy.start();
  const via = `http://127.0.0.1:${proxy.port}`;
  const ada = new Room({
    url: via,
    userId: "ada",
    meetingId: uniqueRoom("solo"),
    pickServer: true,
  });
  let chosen: string | undefined;
  ada.on("serverChosen", (origin) => chosen = origin);
  try {
    await ada.connect();
    assertEquals(chosen, undefined);
    assertEquals(ada.api.origin, via);
  } finally {
    await ada.leave().catch(() => {});
    await proxy.stop();
    await server.stop();
  }
});
