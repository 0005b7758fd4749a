// PostgresStore against the real server: concurrent start-up, refused and silent servers, and
// recovery after the server goes away and comes back (through a TCP proxy this test starts on
// loopback, so the shared server is never stopped).
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import {
  adminQuery,
  createTestSchema,
  dropTestSchema,
  postgresTestStore,
  sharedDatabaseUrl,
} from "../../tests/support/store_fixtures.ts";
import { freePort } from "../../tests/support/nats.ts";
import { closeQuietly, TcpProxy, viaPort } from "../../tests/support/tcp_proxy.ts";
import { PostgresStore } from "./postgres_store.ts";
import { StoreInvalidError, StoreUnavailableError } from "./store.ts";

const databaseUrl = await sharedDatabaseUrl();
const ignore = databaseUrl === undefined;

async function unavailable(fn: () => Promise<unknown>, what: string): Promise<Error> {
  const error = await assertRejects(fn, `Expected ${what} to fail`);
  assert(error instanceof StoreUnavailableError, `${what}: ${error.name}: ${error.message}`);
  return error;
}

Deno.test({
  name: "PostgresStore recovers by itself when the server goes away and comes back",
  ignore,
  async fn() {
    const target = new URL(databaseUrl!);
    const proxy = new TcpProxy({
      hostname: target.hostname,
      port: Number(target.port || 5432),
    });
    proxy.start();
    const { store, dispose } = await postgresTestStore(databaseUrl!, {
      connectUrl: viaPort(databaseUrl!, proxy.port),
      connectTimeoutSeconds: 1,
    });
    try {
      await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
      await proxy.stop();
      // Every call during the outage fails as unavailable (503) instead of hanging.
      for (let i = 0; i < 3; i++) {
        await unavailable(() => store.getMeeting("m"), "a read during the outage");
      }
      await unavailable(
        () => store.createMeeting({ id: "n", hostUserId: "ada", hostDisplayName: "Ada" }),
        "a write during the outage",
      );
      proxy.start();
      // The next call reconnects; allow postgres.js's reconnect backoff a few seconds.
      const deadline = Date.now() + 10_000;
      let meeting;
      while (meeting === undefined) {
        try {
          meeting = await store.getMeeting("m");
        } catch (error) {
          assert(error instanceof StoreUnavailableError, String(error));
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      assertEquals(meeting.id, "m");
      assertEquals(await store.getMeeting("n"), undefined, "the failed write left nothing");
      await store.createMeeting({ id: "n", hostUserId: "ada", hostDisplayName: "Ada" });
      assertEquals((await store.listMeetings("ada", 10, 0)).map((m) => m.id), ["n", "m"]);
    } finally {
      // Takes POSTGRES_CLOSE_TIMEOUT_S: postgres.js never ends a connection whose query died
      // with it (porsager/postgres#1097), so close() waits out its timeout, then destroys it.
      await dispose();
      await proxy.stop();
    }
  },
});

Deno.test({
  name: "PostgresStore.connect() fails as unavailable when nothing listens",
  ignore,
  async fn() {
    const error = await unavailable(
      () => PostgresStore.connect(viaPort(databaseUrl!, freePort()), { connectTimeoutSeconds: 1 }),
      "connecting to a closed port",
    );
    assert(error.message.startsWith("Cannot "), error.message);
  },
});

Deno.test({
  name: "PostgresStore.connect() times out on a server that never answers",
  ignore,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      try {
        for await (const conn of listener) held.push(conn);
      } catch {
        // Closed below.
      }
    })();
    try {
      const started = performance.now();
      await unavailable(
        () =>
          PostgresStore.connect(viaPort(databaseUrl!, listener.addr.port), {
            connectTimeoutSeconds: 1,
          }),
        "connecting to a silent server",
      );
      // The 1 s connect timeout is what ended it, not an earlier failure.
      const elapsed = performance.now() - started;
      assert(elapsed >= 900, `gave up after ${elapsed} ms, before its 1 s timeout`);
    } finally {
      listener.close();
      await accepting;
      for (const conn of held) closeQuietly(conn);
    }
  },
});

Deno.test({
  name: "PostgresStore.connect() migrates once when several servers start at once",
  ignore,
  async fn() {
    const schema = await createTestSchema(databaseUrl!);
    const stores: PostgresStore[] = [];
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () => PostgresStore.connect(databaseUrl!, { schema })),
      );
      for (const r of results) if (r.status === "fulfilled") stores.push(r.value);
      for (const r of results) if (r.status === "rejected") throw r.reason;
      const rows = await adminQuery(
        databaseUrl!,
        `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
      );
      assertEquals(rows.map((r) => r.version), ["0001_meetings", "0002_claims"]);
      for (const store of stores) assertEquals(await store.migrate(), []);
      await stores[0].createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
      assertEquals((await stores[5].getMeeting("m"))?.id, "m");
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropTestSchema(databaseUrl!, schema);
    }
  },
});

Deno.test({
  name: "PostgresStore.connect() keeps each schema's tables apart",
  ignore,
  async fn() {
    const a = await postgresTestStore(databaseUrl!);
    const b = await postgresTestStore(databaseUrl!);
    try {
      await a.store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
      assertEquals(await b.store.getMeeting("m"), undefined);
      await b.store.createMeeting({ id: "m", hostUserId: "bob", hostDisplayName: "Bob" });
      assertEquals((await a.store.getMeeting("m"))?.hostUserId, "ada");
      const tables = await adminQuery(
        databaseUrl!,
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
        [a.schema],
      );
      assertEquals(tables.map((t) => t.tablename), [
        "meeting_bans",
        "meetings",
        "participants",
        "schema_migrations",
      ]);
    } finally {
      await a.dispose();
      await b.dispose();
    }
  },
});

Deno.test({
  name: "PostgresStore.connect() refuses odd schema names",
  ignore,
  async fn() {
    for (const schema of ["", "Public", "a;b", 'x" CASCADE', "t-1", "a".repeat(64)]) {
      const error = await assertRejects(() => PostgresStore.connect(databaseUrl!, { schema }));
      assert(error instanceof StoreInvalidError, `${schema}: ${error}`);
    }
  },
});

Deno.test({
  name: "PostgresStore.connect() makes a missing schema, also when two instances start at once",
  ignore,
  async fn() {
    // A name of the test-schema shape (t_ and 16 hex digits), not created beforehand.
    const schema = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    const stores = await Promise.all(
      [0, 1].map(() => PostgresStore.connect(databaseUrl!, { schema })),
    );
    try {
      await stores[0].createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
      assertEquals((await stores[1].getMeeting("m"))?.hostUserId, "ada");
      const tables = await adminQuery(
        databaseUrl!,
        "SELECT tablename FROM pg_tables WHERE schemaname = $1",
        [schema],
      );
      assert(tables.some((t) => t.tablename === "meetings"), JSON.stringify(tables));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropTestSchema(databaseUrl!, schema);
    }
  },
});
