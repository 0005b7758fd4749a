// One suite of behaviour tests, run against every Store implementation: PGlite (a clone of one
// migrated template) and PostgreSQL (a schema of its own per test, dropped after).
import { assert, assertEquals, assertGreater, assertRejects } from "../../tests/support/assert.ts";
import {
  pgliteTestStore,
  postgresTestStore,
  sharedDatabaseUrl,
  type TestStore,
} from "../../tests/support/store_fixtures.ts";
import { MAX_DISPLAY_NAME_CHARS, MAX_LIST_ROWS } from "./limits.ts";
import type { SqlStore } from "./sql_store.ts";
import {
  type Participant,
  type ParticipantStatus,
  type Role,
  StoreConflictError,
  StoreInvalidError,
  StoreUnavailableError,
} from "./store.ts";

const databaseUrl = await sharedDatabaseUrl();

interface Backend {
  name: string;
  ignore: boolean;
  open(): Promise<TestStore<SqlStore>>;
}

const BACKENDS: Backend[] = [
  { name: "pglite", ignore: false, open: pgliteTestStore },
  {
    name: "postgres",
    ignore: databaseUrl === undefined,
    open: () => postgresTestStore(databaseUrl!),
  },
];

function contract(name: string, fn: (store: SqlStore) => Promise<void>): void {
  for (const backend of BACKENDS) {
    Deno.test({
      name: `${backend.name} - ${name}`,
      ignore: backend.ignore,
      async fn() {
        const { store, dispose } = await backend.open();
        try {
          assertEquals(store.kind, backend.name);
          await fn(store);
        } finally {
          await dispose();
        }
      },
    });
  }
}

async function rejectsWith(
  kind: typeof StoreConflictError | typeof StoreInvalidError | typeof StoreUnavailableError,
  fn: () => Promise<unknown>,
  what: string,
): Promise<void> {
  const error = await assertRejects(fn, `Expected ${what} to be refused`);
  assert(
    error instanceof kind,
    `Expected ${what} to throw ${kind.name}, got ${error.name}: ${error.message}`,
  );
}

/**
 * Lets the database clock move on (PGlite runs in-process and answers within a millisecond), so
 * that a timestamp rewritten by the next statement would differ from the one before it.
 */
function clockTick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

function join(
  store: SqlStore,
  meetingId: string,
  userId: string,
  status: ParticipantStatus = "waiting",
  role: Role = "guest",
): Promise<Participant> {
  return store.upsertParticipant({ meetingId, userId, displayName: userId, role, status });
}

/** Strings that break SQL built by concatenation, and text that is merely unusual. */
const HOSTILE = [
  "'; DROP TABLE meetings; --",
  "Robert'); DROP TABLE participants;--",
  `"double" 'single' \`back\` ''`,
  "back\\slash \\\\ \\' \\0 \\x00 E'\\n'",
  "$1 $2 ::text %s %d ? :name @x",
  "emoji 🎥👩🏽‍💻, 中文, עברית, Ünïcödé",
  "\u202eright-to-left override\u200b zero width",
  "tab\tnewline\ncarriage\rreturn",
  "  leading and trailing spaces  ",
  "U&'\\0041' $$dollar$$ $tag$x$tag$",
];

contract("createMeeting() stores the meeting and admits its host", async (store) => {
  const before = Date.now();
  const meeting = await store.createMeeting({
    id: "standup",
    hostUserId: "ada",
    hostDisplayName: "Ada Lovelace",
    waitingRoomEnabled: true,
    passwordHash: "hash",
  });
  assertEquals(meeting.id, "standup");
  assertEquals(meeting.hostUserId, "ada");
  assertEquals(meeting.state, "idle");
  assertEquals(meeting.waitingRoomEnabled, true);
  assertEquals(meeting.locked, false);
  assertEquals(meeting.e2eeRequired, false);
  assertEquals(meeting.hasPassword, true);
  assertEquals(meeting.startedAt, null);
  assertEquals(meeting.endedAt, null);
  assert(meeting.createdAt.getTime() >= before - 60_000, "createdAt is recent");
  assertEquals(await store.getMeeting("standup"), meeting);
  assertEquals(await store.passwordHash("standup"), "hash");
  const host = await store.getParticipant("standup", "ada");
  assertEquals(host?.role, "host");
  assertEquals(host?.status, "admitted");
  assertEquals(host?.displayName, "Ada Lovelace");
  assertEquals(await store.getMeeting("nope"), undefined);
  assertEquals(await store.passwordHash("nope"), undefined);
  assertEquals(await store.getParticipant("standup", "bob"), undefined);

  const plain = await store.createMeeting({ id: "plain", hostUserId: "ada", hostDisplayName: "A" });
  assertEquals(plain.hasPassword, false);
  assertEquals(await store.passwordHash("plain"), null);
});

contract(
  "createMeeting() conflicts on a taken id and leaves the first untouched",
  async (store) => {
    const first = await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
    await rejectsWith(
      StoreConflictError,
      () => store.createMeeting({ id: "m", hostUserId: "bob", hostDisplayName: "Bob" }),
      "a duplicate id",
    );
    assertEquals(await store.getMeeting("m"), first);
    // The failed create's host row was rolled back with it.
    assertEquals(await store.getParticipant("m", "bob"), undefined);
    assertEquals((await store.listParticipants("m", undefined, 10)).map((p) => p.userId), ["ada"]);

    // Concurrent creates of one id: exactly one wins.
    const results = await Promise.allSettled(
      Array.from(
        { length: 10 },
        (_, i) => store.createMeeting({ id: "race", hostUserId: `u${i}`, hostDisplayName: "U" }),
      ),
    );
    assertEquals(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) {
      if (r.status === "rejected") assert(r.reason instanceof StoreConflictError, String(r.reason));
    }
    assertEquals((await store.listParticipants("race", undefined, 100)).length, 1);
  },
);

contract("listMeetings() lists a host's meetings newest first, paged", async (store) => {
  for (let i = 0; i < 5; i++) {
    await store.createMeeting({ id: `m${i}`, hostUserId: "ada", hostDisplayName: "Ada" });
  }
  await store.createMeeting({ id: "other", hostUserId: "bob", hostDisplayName: "Bob" });
  const ids = async (limit: number, offset: number) =>
    (await store.listMeetings("ada", limit, offset)).map((m) => m.id);
  assertEquals(await ids(10, 0), ["m4", "m3", "m2", "m1", "m0"]);
  assertEquals(await ids(2, 0), ["m4", "m3"]);
  assertEquals(await ids(2, 2), ["m2", "m1"]);
  assertEquals(await ids(2, 4), ["m0"]);
  assertEquals(await ids(2, 10), []);
  assertEquals(await ids(0, 0), []);
  assertEquals(await store.listMeetings("nobody", 10, 0), []);
  await rejectsWith(StoreInvalidError, () => store.listMeetings("ada", -1, 0), "limit -1");
  await rejectsWith(StoreInvalidError, () => store.listMeetings("ada", 1.5, 0), "limit 1.5");
  await rejectsWith(StoreInvalidError, () => store.listMeetings("ada", NaN, 0), "limit NaN");
  await rejectsWith(StoreInvalidError, () => store.listMeetings("ada", 10, -1), "offset -1");
  // Huge limits and offsets are capped or simply empty, not errors.
  assertEquals((await ids(Number.MAX_SAFE_INTEGER, 0)).length, 5);
  assertEquals(await ids(10, Number.MAX_SAFE_INTEGER), []);
});

contract("updateMeeting() changes only what the patch names", async (store) => {
  const created = await store.createMeeting({
    id: "m",
    hostUserId: "ada",
    hostDisplayName: "Ada",
  });
  await clockTick();
  const locked = await store.updateMeeting("m", { locked: true });
  assertEquals(locked?.locked, true);
  assertEquals(locked?.waitingRoomEnabled, false);
  assertEquals(locked?.e2eeRequired, false);
  assertEquals(locked?.state, "idle");
  assertEquals(locked?.createdAt, created.createdAt);
  assert(locked!.updatedAt > created.updatedAt, "updatedAt moves forward");

  const both = await store.updateMeeting("m", { waitingRoomEnabled: true, e2eeRequired: true });
  assertEquals([both?.locked, both?.waitingRoomEnabled, both?.e2eeRequired], [true, true, true]);
  assertEquals(await store.updateMeeting("m", {}), both);

  const withPassword = await store.updateMeeting("m", { passwordHash: "h1" });
  assertEquals(withPassword?.hasPassword, true);
  assertEquals(await store.passwordHash("m"), "h1");
  assertEquals((await store.updateMeeting("m", { locked: false }))?.hasPassword, true);
  assertEquals((await store.updateMeeting("m", { passwordHash: null }))?.hasPassword, false);
  assertEquals(await store.passwordHash("m"), null);

  const active = await store.updateMeeting("m", { state: "active" });
  assertEquals(active?.state, "active");
  assert(active?.startedAt instanceof Date, "startedAt is set");
  await clockTick();
  const again = await store.updateMeeting("m", { state: "active" });
  assertEquals(again?.startedAt, active?.startedAt, "a second activation keeps startedAt");
  const ended = await store.updateMeeting("m", { state: "ended" });
  assertEquals(ended?.state, "ended");
  assert(ended?.endedAt instanceof Date, "endedAt is set");
  assertEquals(ended?.startedAt, active?.startedAt);

  assertEquals(await store.updateMeeting("nope", { locked: true }), undefined);
  assertEquals(await store.updateMeeting("nope", {}), undefined);
  await rejectsWith(
    StoreInvalidError,
    () => store.updateMeeting("m", { state: "paused" as "idle" }),
    "an unknown state",
  );
  assertEquals((await store.getMeeting("m"))?.state, "ended");
});

contract("deleteMeeting() soft-deletes: the meeting and its people vanish", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await store.createMeeting({ id: "kept", hostUserId: "ada", hostDisplayName: "Ada" });
  await join(store, "m", "bob");
  assertEquals(await store.deleteMeeting("m"), true);
  assertEquals(await store.deleteMeeting("m"), false);
  assertEquals(await store.deleteMeeting("nope"), false);

  assertEquals(await store.getMeeting("m"), undefined);
  assertEquals((await store.listMeetings("ada", 10, 0)).map((m) => m.id), ["kept"]);
  assertEquals(await store.passwordHash("m"), undefined);
  assertEquals(await store.updateMeeting("m", { locked: true }), undefined);
  assertEquals(await store.getParticipant("m", "bob"), undefined);
  assertEquals(await store.listParticipants("m", undefined, 10), []);
  assertEquals(await store.transitionParticipant("m", "bob", ["waiting"], "admitted"), undefined);
  assertEquals(await store.setRole("m", "bob", "cohost"), undefined);
  await rejectsWith(StoreConflictError, () => join(store, "m", "carol"), "joining a deleted one");
  await rejectsWith(
    StoreConflictError,
    () => join(store, "nope", "carol"),
    "joining a missing one",
  );
  // The id stays taken: a deleted meeting's id is not handed to someone else.
  await rejectsWith(
    StoreConflictError,
    () => store.createMeeting({ id: "m", hostUserId: "eve", hostDisplayName: "Eve" }),
    "reusing a deleted meeting's id",
  );
  assertEquals((await store.getMeeting("kept"))?.id, "kept");
});

contract("upsertParticipant() inserts, then updates name and status", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  const first = await join(store, "m", "bob", "waiting");
  assertEquals([first.role, first.status, first.displayName], ["guest", "waiting", "bob"]);
  await clockTick();
  const second = await store.upsertParticipant({
    meetingId: "m",
    userId: "bob",
    displayName: "Bobby",
    role: "cohost",
    status: "admitted",
  });
  assertEquals([second.role, second.status, second.displayName], ["guest", "admitted", "Bobby"]);
  assertEquals(second.createdAt, first.createdAt);
  assert(second.updatedAt > first.updatedAt, "updatedAt moves forward");
  const promoted = await store.upsertParticipant({
    meetingId: "m",
    userId: "bob",
    displayName: "Bobby",
    role: "cohost",
    status: "admitted",
    updateRole: true,
  });
  assertEquals(promoted.role, "cohost");
  assertEquals(await store.getParticipant("m", "bob"), promoted);
});

contract("upsertParticipant() stays consistent under 20 concurrent joins", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  const names = Array.from({ length: 20 }, (_, i) => `Bob ${i}`);
  const same = await Promise.all(names.map((displayName, i) =>
    store.upsertParticipant({
      meetingId: "m",
      userId: "bob",
      displayName,
      role: i % 2 === 0 ? "guest" : "cohost",
      status: i % 2 === 0 ? "waiting" : "admitted",
    })
  ));
  const stored = await store.getParticipant("m", "bob");
  assert(stored !== undefined, "bob is stored");
  assert(names.includes(stored.displayName), `unexpected name ${stored.displayName}`);
  assertEquals(new Set(same.map((p) => p.createdAt.getTime())).size, 1, "one row, one createdAt");
  // The role is the first insert's, whichever that was, and never changed afterwards.
  assertEquals(new Set(same.map((p) => p.role)).size, 1, "role set once");
  assertEquals(
    (await store.listParticipants("m", undefined, 100)).map((p) => p.userId).sort(),
    ["ada", "bob"],
  );

  const many = await Promise.all(
    Array.from({ length: 20 }, (_, i) => join(store, "m", `user${i}`, "waiting")),
  );
  assertEquals(new Set(many.map((p) => p.userId)).size, 20);
  const waiting = await store.listParticipants("m", ["waiting"], 100);
  assertEquals(
    waiting.filter((p) => p.userId.startsWith("user")).map((p) => p.userId).sort(),
    many.map((p) => p.userId).sort(),
  );
  assertEquals((await store.listParticipants("m", undefined, 100)).length, 22);
});

contract("transitionParticipant() moves only from the given statuses", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await join(store, "m", "bob", "waiting");
  assertEquals(await store.transitionParticipant("m", "bob", ["admitted"], "left"), undefined);
  assertEquals(await store.transitionParticipant("m", "bob", [], "admitted"), undefined);
  assertEquals((await store.getParticipant("m", "bob"))?.status, "waiting");
  const admitted = await store.transitionParticipant("m", "bob", ["waiting"], "admitted");
  assertEquals(admitted?.status, "admitted");
  assertEquals(await store.transitionParticipant("m", "bob", ["waiting"], "rejected"), undefined);
  const left = await store.transitionParticipant("m", "bob", ["admitted", "waiting"], "left");
  assertEquals(left?.status, "left");
  assertEquals(await store.transitionParticipant("m", "nobody", ["waiting"], "left"), undefined);
  assertEquals(await store.transitionParticipant("nope", "bob", ["left"], "removed"), undefined);
  await rejectsWith(
    StoreInvalidError,
    () => store.transitionParticipant("m", "bob", ["left"], "gone" as ParticipantStatus),
    "an unknown status",
  );
  assertEquals((await store.getParticipant("m", "bob"))?.status, "left");
});

contract("transitionParticipant() lets exactly one of two racing hosts win", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  for (let i = 0; i < 10; i++) {
    const user = `guest${i}`;
    await join(store, "m", user, "waiting");
    const [admit, reject] = await Promise.all([
      store.transitionParticipant("m", user, ["waiting"], "admitted"),
      store.transitionParticipant("m", user, ["waiting"], "rejected"),
    ]);
    assert((admit === undefined) !== (reject === undefined), `exactly one wins for ${user}`);
    const winner = admit ?? reject;
    assertEquals((await store.getParticipant("m", user))?.status, winner?.status);
  }
});

contract("setRole() changes the role of participants only", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await join(store, "m", "bob", "admitted");
  const cohost = await store.setRole("m", "bob", "cohost");
  assertEquals([cohost?.role, cohost?.status], ["cohost", "admitted"]);
  // A later join without updateRole keeps the co-host a co-host.
  assertEquals((await join(store, "m", "bob", "admitted", "guest")).role, "cohost");
  assertEquals((await store.setRole("m", "bob", "guest"))?.role, "guest");
  assertEquals(await store.setRole("m", "nobody", "cohost"), undefined);
  assertEquals(await store.setRole("nope", "bob", "cohost"), undefined);
  await rejectsWith(
    StoreInvalidError,
    () => store.setRole("m", "bob", "admin" as Role),
    "an unknown role",
  );
  assertEquals((await store.getParticipant("m", "bob"))?.role, "guest");
});

contract("listParticipants() filters by status, oldest first, capped", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await join(store, "m", "w1", "waiting");
  await join(store, "m", "a1", "admitted");
  await join(store, "m", "w2", "waiting");
  await join(store, "m", "l1", "left");
  const ids = async (statuses: ParticipantStatus[] | undefined, limit = 100) =>
    (await store.listParticipants("m", statuses, limit)).map((p) => p.userId);
  assertEquals(await ids(undefined), ["ada", "w1", "a1", "w2", "l1"]);
  assertEquals(await ids(["waiting"]), ["w1", "w2"]);
  assertEquals(await ids(["admitted", "left"]), ["ada", "a1", "l1"]);
  assertEquals(await ids(["waiting"], 1), ["w1"]);
  assertEquals(await ids([]), []);
  assertEquals(await ids(["'; DROP TABLE participants; --" as ParticipantStatus]), []);
  assertEquals(await store.listParticipants("nope", undefined, 10), []);
  await rejectsWith(StoreInvalidError, () => ids(undefined, -5), "limit -5");

  // MAX_LIST_ROWS caps any limit.
  const more = MAX_LIST_ROWS;
  for (let i = 0; i < more; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, more - i) }, (_, j) => join(store, "m", `bulk${i + j}`)),
    );
  }
  assertEquals((await ids(undefined, MAX_LIST_ROWS * 10)).length, MAX_LIST_ROWS);
  assertEquals((await ids(["waiting"], MAX_LIST_ROWS + 1)).length, MAX_LIST_ROWS);
});

contract("hostile strings round-trip unchanged and break nothing", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: HOSTILE[0] });
  assertEquals((await store.getParticipant("m", "ada"))?.displayName, HOSTILE[0]);
  for (const [i, text] of HOSTILE.entries()) {
    const p = await store.upsertParticipant({
      meetingId: "m",
      userId: `u${i}`,
      displayName: text,
      role: "guest",
      status: "waiting",
    });
    assertEquals(p.displayName, text);
    assertEquals((await store.getParticipant("m", `u${i}`))?.displayName, text);
    assertEquals((await store.updateMeeting("m", { passwordHash: text }))?.hasPassword, true);
    assertEquals(await store.passwordHash("m"), text);
    // Hostile lookups find nothing and fail nothing.
    assertEquals(await store.getMeeting(text), undefined);
    assertEquals(await store.listMeetings(text, 10, 0), []);
    assertEquals(await store.getParticipant(text, text), undefined);
    assertEquals(await store.transitionParticipant("m", text, ["waiting"], "left"), undefined);
    assertEquals(await store.deleteMeeting(text), false);
  }
  const names = (await store.listParticipants("m", ["waiting"], 100)).map((p) => p.displayName);
  assertEquals(names, HOSTILE);
  // Both tables are still there and still work.
  await store.createMeeting({ id: "after", hostUserId: "ada", hostDisplayName: "Ada" });
  assertEquals((await store.listMeetings("ada", 10, 0)).map((m) => m.id), ["after", "m"]);
  assertEquals((await store.listParticipants("m", undefined, 100)).length, HOSTILE.length + 1);
});

contract("the database refuses ids, names and values its constraints forbid", async (store) => {
  const badIds = [
    "",
    "a.b",
    "a b",
    "x".repeat(65),
    "ü",
    "abc\n",
    "\nabc",
    "a/b",
    "../etc",
    "'; DROP TABLE meetings; --",
  ];
  for (const id of badIds) {
    const shown = JSON.stringify(id);
    await rejectsWith(
      StoreInvalidError,
      () => store.createMeeting({ id, hostUserId: "ada", hostDisplayName: "Ada" }),
      `meeting id ${shown}`,
    );
    await rejectsWith(
      StoreInvalidError,
      () => store.createMeeting({ id: "ok", hostUserId: id, hostDisplayName: "Ada" }),
      `host user id ${shown}`,
    );
  }
  assertEquals(await store.listMeetings("ada", 10, 0), []);
  const longest = "x".repeat(64);
  assertEquals(
    (await store.createMeeting({ id: longest, hostUserId: "A-z_09", hostDisplayName: "A" })).id,
    longest,
  );
  for (const id of badIds) {
    await rejectsWith(StoreInvalidError, () => join(store, longest, id), `user id ${id}`);
  }

  // The display name cap agrees with MAX_DISPLAY_NAME_CHARS, counted in code points.
  const name = (displayName: string) =>
    store.upsertParticipant({
      meetingId: longest,
      userId: "bob",
      displayName,
      role: "guest",
      status: "waiting",
    });
  const emoji = "🎥".repeat(MAX_DISPLAY_NAME_CHARS);
  assertGreater(emoji.length, MAX_DISPLAY_NAME_CHARS);
  assertEquals((await name(emoji)).displayName, emoji);
  await rejectsWith(StoreInvalidError, () => name(emoji + "x"), "an over-long name");
  await rejectsWith(StoreInvalidError, () => name(""), "an empty name");
  await rejectsWith(StoreInvalidError, () => name("a\0b"), "a NUL in a name");
  await rejectsWith(
    StoreInvalidError,
    () => store.updateMeeting(longest, { passwordHash: "" }),
    "an empty password hash",
  );
  assertEquals((await store.getParticipant(longest, "bob"))?.displayName, emoji);
});

contract("migrations are idempotent: running them again applies nothing", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  assertEquals(await store.migrate(), []);
  assertEquals(await store.migrate(), []);
  const extra = [{
    version: "9999_extra",
    sql: "CREATE TABLE extra (x int); INSERT INTO extra VALUES (1)",
  }];
  assertEquals(await store.migrate(extra), ["9999_extra"]);
  assertEquals(await store.migrate(extra), []);
  // A failing migration rolls back as a whole and is not recorded.
  const broken = [{ version: "9998_broken", sql: "CREATE TABLE broken (x int); SELECT 1/0;" }];
  for (let i = 0; i < 2; i++) {
    const error = await assertRejects(() => store.migrate(broken));
    assert(error instanceof StoreUnavailableError, String(error));
    // Not "relation already exists": the first attempt's CREATE TABLE was rolled back.
    assert(error.message.includes("division by zero"), error.message);
  }
  assertEquals((await store.getMeeting("m"))?.id, "m");
});

contract("a closed store fails calls as unavailable", async (store) => {
  await store.close();
  await rejectsWith(StoreUnavailableError, () => store.getMeeting("m"), "a call after close");
  await rejectsWith(
    StoreUnavailableError,
    () => store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" }),
    "a create after close",
  );
});

contract("upsertParticipant() never revives someone a host removed or declined", async (store) => {
  await store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
  await join(store, "m", "bob", "admitted");
  await store.transitionParticipant("m", "bob", ["admitted"], "removed");
  await join(store, "m", "cy", "waiting");
  await store.transitionParticipant("m", "cy", ["waiting"], "rejected");
  // A join that raced with the host's decision writes "admitted": the decision stands.
  assertEquals((await join(store, "m", "bob", "admitted")).status, "removed");
  assertEquals((await join(store, "m", "cy", "admitted")).status, "rejected");
  assertEquals((await store.getParticipant("m", "bob"))?.status, "removed");
});

contract(
  "claims: the host's is set at creation, a participant's by its first session, replaced only when asked; bans are per meeting",
  async (store) => {
    await store.createMeeting({
      id: "m",
      hostUserId: "ada",
      hostDisplayName: "Ada",
      hostClaim: "k.a",
    });
    await store.createMeeting({ id: "other", hostUserId: "zed", hostDisplayName: "Zed" });
    assertEquals((await store.getParticipant("m", "ada"))?.claim, "k.a");
    assertEquals((await store.getParticipant("other", "zed"))?.claim, undefined);
    const base = { meetingId: "m", userId: "bob", displayName: "Bob", role: "guest" as const };
    const anonymous = await store.upsertParticipant({ ...base, status: "admitted" });
    assertEquals(anonymous.claim, undefined, "a join without a session claims nothing");
    const claimed = await store.upsertParticipant({ ...base, status: "admitted", claim: "k.b" });
    assertEquals(claimed.claim, "k.b");
    const other = await store.upsertParticipant({ ...base, status: "admitted", claim: "k.x" });
    assertEquals(other.claim, "k.b", "a claim is never overwritten by accident");
    const replaced = await store.upsertParticipant({
      ...base,
      status: "admitted",
      claim: "j.b",
      replaceClaim: true,
    });
    assertEquals(replaced.claim, "j.b");
    assertEquals(await store.isBanned("m", "j.b"), false);
    await store.banClaim("m", "j.b");
    await store.banClaim("m", "j.b"); // twice is once
    assertEquals(await store.isBanned("m", "j.b"), true);
    assertEquals(await store.isBanned("other", "j.b"), false, "a ban holds in its meeting only");
    await store.deleteMeeting("m");
    await store.banClaim("m", "k.z"); // a deleted meeting takes no new bans, and says nothing
    assertEquals(await store.isBanned("m", "k.z"), false);
  },
);
