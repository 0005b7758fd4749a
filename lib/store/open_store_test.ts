import { assertEquals } from "../../tests/support/assert.ts";
import {
  createTestSchema,
  dropTestSchema,
  sharedDatabaseUrl,
} from "../../tests/support/store_fixtures.ts";
import { openStore } from "./open_store.ts";

const databaseUrl = await sharedDatabaseUrl();

Deno.test({
  name: "openStore() picks PostgreSQL when a database URL is set",
  ignore: databaseUrl === undefined,
  async fn() {
    const schema = await createTestSchema(databaseUrl!);
    try {
      const store = await openStore({ databaseUrl: databaseUrl!, schema, dataDir: "unused" });
      try {
        assertEquals(store.kind, "postgres");
        assertEquals(await store.getMeeting("m"), undefined);
      } finally {
        await store.close();
      }
    } finally {
      await dropTestSchema(databaseUrl!, schema);
    }
  },
});
