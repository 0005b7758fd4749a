/**
 * Stores for tests (docs/PROTOCOL.md, "PGlite").
 *
 * - PGlite: ONE migrated in-memory template per test process, built on first use (3–4 s) and
 *   kept as a snapshot; each test gets a clone restored from it (~0.8 s). Never
 *   `PgliteStore.open()` per test.
 * - Postgres: `DATABASE_URL`, else the local server at 127.0.0.1:5432 (database `test`); each
 *   store gets its own schema `t_<random>`, dropped when the store is disposed. Under
 *   `CI=true` an unreachable Postgres is a failure, never a skip.
 *
 * @module
 */
import postgres from "postgres";
import { PgliteStore } from "../../lib/store/pglite_store.ts";
import { PostgresStore, type PostgresStoreOptions } from "../../lib/store/postgres_store.ts";

/** A store for one test, and how to throw it away. */
export interface TestStore<S> {
  store: S;
  /** Closes the store (and drops its Postgres schema). */
  dispose(): Promise<void>;
}

let template: Promise<Blob> | undefined;

async function migratedSnapshot(): Promise<Blob> {
  const store = await PgliteStore.open(undefined);
  try {
    return await store.snapshot();
  } finally {
    // Closed at once: a live PGlite keeps a Postgres stats timer armed, which would fire (and
    // trip the ops sanitizer) in whatever test runs ten seconds later.
    await store.close();
  }
}

/**
 * A fresh PGlite store with the migrations applied, cloned from this process's template (a
 * snapshot of a migrated in-memory database, made on first use).
 */
export async function pgliteTestStore(): Promise<TestStore<PgliteStore>> {
  template ??= migratedSnapshot();
  const store = await PgliteStore.restore(await template);
  return { store, dispose: () => store.close() };
}

/** The Postgres the tests use by default (docs/ARCHITECTURE.md, "Testing"). */
export const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/**
 * The Postgres URL shared tests should use, or undefined (with a loud message) when there is
 * none outside CI.
 */
export async function sharedDatabaseUrl(): Promise<string | undefined> {
  const url = Deno.env.get("DATABASE_URL") || DEFAULT_TEST_DATABASE_URL;
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  let failure: unknown;
  try {
    await sql`SELECT 1`;
  } catch (error) {
    failure = error;
  } finally {
    await sql.end({ timeout: 5 });
  }
  if (failure === undefined) return url;
  const why = failure instanceof Error ? failure.message : String(failure);
  if (Deno.env.get("CI") === "true") {
    throw new Error(`Postgres is not reachable at ${redact(url)} (${why}), and CI requires it`);
  }
  console.warn(
    `\n*** Postgres not reachable at ${redact(url)} (${why}): Postgres tests are skipped ***\n`,
  );
  return undefined;
}

/** A schema name no other run uses: `t_` and 16 hex digits. */
export function randomSchemaName(): string {
  return `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/**
 * Runs one admin statement (schema DDL, a look behind the store's back) on its own
 * short-lived connection and returns its rows.
 */
export async function adminQuery(
  url: string,
  text: string,
  params: string[] = [],
): Promise<Record<string, unknown>[]> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return [...await sql.unsafe(text, params)];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Creates a schema of {@linkcode randomSchemaName} and returns its name. */
export async function createTestSchema(url: string): Promise<string> {
  const schema = randomSchemaName();
  await adminQuery(url, `CREATE SCHEMA ${schema}`);
  return schema;
}

/** Drops a schema {@linkcode createTestSchema} made, with everything in it. */
export async function dropTestSchema(url: string, schema: string): Promise<void> {
  if (!/^t_[0-9a-f]{16}$/.test(schema)) throw new Error(`Refusing to drop schema "${schema}"`);
  await adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/**
 * A migrated {@linkcode PostgresStore} in a schema of its own, dropped on dispose. `connectUrl`
 * lets a test reach the same server another way (through a proxy).
 */
export async function postgresTestStore(
  url: string,
  options: PostgresStoreOptions & { connectUrl?: string } = {},
): Promise<TestStore<PostgresStore> & { schema: string }> {
  const { connectUrl, ...storeOptions } = options;
  const schema = await createTestSchema(url);
  let store: PostgresStore;
  try {
    store = await PostgresStore.connect(connectUrl ?? url, { ...storeOptions, schema });
  } catch (error) {
    await dropTestSchema(url, schema);
    throw error;
  }
  return {
    store,
    schema,
    async dispose() {
      try {
        await store.close();
      } finally {
        await dropTestSchema(url, schema);
      }
    },
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
