// The migration files and their reader; running them is covered for both drivers by
// store_contract_test.ts and, for concurrent start-up, by postgres_store_test.ts.
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { readMigrations } from "./migrate.ts";

Deno.test("readMigrations() returns the repository's files in order", async () => {
  const migrations = await readMigrations();
  assert(migrations.length >= 1, "at least one migration");
  assertEquals(migrations[0].version, "0001_meetings");
  const versions = migrations.map((m) => m.version);
  assertEquals(versions, [...versions].sort());
  for (const m of migrations) {
    // Each file runs inside the runner's transaction; its own would break that.
    assert(!/^\s*(BEGIN|COMMIT|ROLLBACK)\b/im.test(m.sql), `${m.version} manages transactions`);
  }
});

Deno.test("readMigrations() orders by number, ignores other files, refuses odd names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "videocall_migrations_" });
  const url = new URL(`file://${dir}/`);
  try {
    await Deno.writeTextFile(`${dir}/0002_second.sql`, "SELECT 2");
    await Deno.writeTextFile(`${dir}/0001_first.sql`, "SELECT 1");
    await Deno.writeTextFile(`${dir}/README.md`, "not a migration");
    await Deno.mkdir(`${dir}/0003_a_directory.sql`);
    assertEquals(await readMigrations(url), [
      { version: "0001_first", sql: "SELECT 1" },
      { version: "0002_second", sql: "SELECT 2" },
    ]);

    await Deno.writeTextFile(`${dir}/0002_clash.sql`, "SELECT 3");
    const clash = await assertRejects(() => readMigrations(url));
    assertEquals(
      clash.message,
      'Migration files "0002_clash.sql" and "0002_second.sql" share a number',
    );
    await Deno.remove(`${dir}/0002_clash.sql`);

    await Deno.writeTextFile(`${dir}/3_Bad Name.sql`, "SELECT 4");
    const odd = await assertRejects(() => readMigrations(url));
    assertEquals(odd.message, 'Migration file "3_Bad Name.sql" is not named like "0001_name.sql"');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
