// PgliteStore on disk: data survives close and reopen; bad directories fail clearly.
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { pgliteTestStore } from "../../tests/support/store_fixtures.ts";
import { PgliteStore } from "./pglite_store.ts";
import { StoreUnavailableError } from "./store.ts";

Deno.test("PgliteStore keeps its data across close and reopen of a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "videocall_pglite_" });
  try {
    const dataDir = `${dir}/nested/data`;
    const first = await PgliteStore.open(dataDir);
    try {
      await first.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada 🎥" });
      await first.upsertParticipant({
        meetingId: "m",
        userId: "bob",
        displayName: "'; DROP TABLE meetings; --",
        role: "guest",
        status: "waiting",
      });
      await first.updateMeeting("m", { locked: true, state: "active" });
    } finally {
      await first.close();
    }
    const second = await PgliteStore.open(dataDir);
    try {
      assertEquals(await second.migrate(), [], "migrations ran once, on the first open");
      const meeting = await second.getMeeting("m");
      assertEquals([meeting?.locked, meeting?.state], [true, "active"]);
      assertEquals(
        (await second.listParticipants("m", undefined, 10)).map((p) => p.displayName),
        ["Ada 🎥", "'; DROP TABLE meetings; --"],
      );
    } finally {
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PgliteStore.open() fails as unavailable when the directory cannot be used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "videocall_pglite_" });
  try {
    const file = `${dir}/not_a_dir`;
    await Deno.writeTextFile(file, "x");
    const error = await assertRejects(() => PgliteStore.open(file));
    assert(error instanceof StoreUnavailableError, String(error));
    assert(error.message.includes(file), error.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PgliteStore clones are independent of each other", async () => {
  const a = await pgliteTestStore();
  try {
    await a.store.createMeeting({ id: "m", hostUserId: "ada", hostDisplayName: "Ada" });
    const b = await a.store.clone();
    try {
      assertEquals((await b.getMeeting("m"))?.id, "m");
      await b.deleteMeeting("m");
      await a.store.updateMeeting("m", { locked: true });
      assertEquals(await b.getMeeting("m"), undefined);
      assertEquals((await a.store.getMeeting("m"))?.locked, true);
    } finally {
      await b.close();
    }
  } finally {
    await a.dispose();
  }
});
