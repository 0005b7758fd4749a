/**
 * A tiny migration runner: applies `migrations/NNNN_name.sql` in order, one transaction per
 * file, and records each in `schema_migrations`. A second run applies nothing. Two servers
 * starting at once against one Postgres are safe: each transaction first takes a transaction
 * advisory lock named for the current schema, so one waits while the other migrates, then finds
 * the work done. Tables go to the first schema of the connection's `search_path`.
 *
 * The files are read at run time with `Deno.readTextFile` relative to this module (so the
 * `.sql` files are the single source, reviewed and run as plain SQL), which needs read access
 * to this folder; Deno's text imports would embed them but still need `--unstable-raw-imports`.
 *
 * @module
 */
import { storeError } from "./_errors.ts";
import type { Database } from "./queryable.ts";
import { StoreUnavailableError } from "./store.ts";

/** One migration file. */
export interface Migration {
  /** The file name without `.sql`, e.g. `"0001_meetings"`; ordered by its number. */
  version: string;
  /** The statements, run as one script. */
  sql: string;
}

const FILE_PATTERN = /^([0-9]{4})_[a-z0-9_]+\.sql$/;

/** Where the migration files live. */
export const MIGRATIONS_DIR: URL = new URL("./migrations/", import.meta.url);

/**
 * Reads the migration files of `dir`, ordered by number. Throws on a `.sql` file whose name
 * does not look like `0001_name.sql` and on two files with one number.
 *
 * @example
 * ```ts
 * import { readMigrations } from "./migrate.ts";
 *
 * const migrations = await readMigrations();
 * if (migrations[0].version !== "0001_meetings") throw new Error("unexpected first migration");
 * ```
 */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    if (!FILE_PATTERN.test(entry.name)) {
      throw new Error(`Migration file "${entry.name}" is not named like "0001_name.sql"`);
    }
    names.push(entry.name);
  }
  names.sort();
  const migrations: Migration[] = [];
  for (const [i, name] of names.entries()) {
    if (i > 0 && name.slice(0, 4) === names[i - 1].slice(0, 4)) {
      throw new Error(`Migration files "${names[i - 1]}" and "${name}" share a number`);
    }
    migrations.push({
      version: name.slice(0, -".sql".length),
      sql: await Deno.readTextFile(new URL(name, dir)),
    });
  }
  return migrations;
}

/**
 * Applies the migrations `db` has not seen yet and returns their versions (empty when it was
 * up to date).
 *
 * @example
 * ```ts ignore
 * import { migrate } from "./migrate.ts";
 *
 * const applied = await migrate(db); // ["0001_meetings"] the first time, [] afterwards
 * ```
 */
export async function migrate(
  db: Database,
  migrations?: readonly Migration[],
): Promise<string[]> {
  const files = migrations ?? await readMigrations();
  const applied: string[] = [];
  for (const migration of files) {
    let ran: boolean;
    try {
      ran = await db.transaction(async (tx) => {
        const [{ schema }] = await tx.query("SELECT current_schema() AS schema");
        if (typeof schema !== "string") {
          throw new StoreUnavailableError(
            "Cannot migrate: no schema named in the search_path exists",
          );
        }
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1::text))", [
          `videocall.migrate.${schema}`,
        ]);
        const table = await tx.query(
          "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2",
          [schema, "schema_migrations"],
        );
        if (table.length === 0) {
          await tx.exec(
            `CREATE TABLE schema_migrations (
              version text PRIMARY KEY,
              applied_at timestamptz NOT NULL DEFAULT now()
            )`,
          );
        }
        const done = await tx.query("SELECT 1 FROM schema_migrations WHERE version = $1", [
          migration.version,
        ]);
        if (done.length > 0) return false;
        await tx.exec(migration.sql);
        await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [migration.version]);
        return true;
      });
    } catch (error) {
      throw storeError(error, `apply migration "${migration.version}"`);
    }
    if (ran) applied.push(migration.version);
  }
  return applied;
}
