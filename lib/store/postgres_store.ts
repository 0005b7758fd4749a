/**
 * The {@linkcode Store} on a PostgreSQL server through postgres.js (plain TCP). Used when
 * `DATABASE_URL` is set. A lost server makes calls fail with
 * {@linkcode StoreUnavailableError}; postgres.js reconnects on the next call, so the store
 * recovers by itself when the server is back.
 *
 * @module
 */
import postgres from "postgres";
import { storeError } from "./_errors.ts";
import {
  POSTGRES_CLOSE_TIMEOUT_S,
  POSTGRES_CONNECT_TIMEOUT_S,
  POSTGRES_IDLE_TIMEOUT_S,
  POSTGRES_MAX_CONNECTIONS,
} from "./limits.ts";
import { migrate } from "./migrate.ts";
import type { Database, Queryable, Row } from "./queryable.ts";
import { SqlStore } from "./sql_store.ts";
import { StoreInvalidError } from "./store.ts";

/** Options of {@linkcode PostgresStore.connect}. */
export interface PostgresStoreOptions {
  /**
   * The schema to keep the tables in, made if it does not exist (the database user then needs
   * the CREATE privilege); it becomes the connections' whole `search_path`. Tests give each run
   * its own. Lower-case letters, digits and `_` only.
   * @default {the server's search_path, usually "public"}
   */
  schema?: string;
  /** Most connections open at once. @default {5} */
  maxConnections?: number;
  /** Seconds to wait for a connection before a call fails. @default {5} */
  connectTimeoutSeconds?: number;
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

type Sql = postgres.Sql | postgres.TransactionSql;

function adapt(sql: Sql): Queryable {
  return {
    async query(text: string, params: readonly unknown[] = []): Promise<Row[]> {
      return await sql.unsafe(text, params as never[]) as unknown as Row[];
    },
    async exec(script: string): Promise<void> {
      await sql.unsafe(script).simple();
    },
  };
}

function database(sql: postgres.Sql): Database {
  return {
    ...adapt(sql),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return await sql.begin((tx) => fn(adapt(tx))) as T;
    },
    async close(): Promise<void> {
      await sql.end({ timeout: POSTGRES_CLOSE_TIMEOUT_S });
    },
  };
}

/** A {@linkcode Store} on PostgreSQL. */
export class PostgresStore extends SqlStore {
  private constructor(db: Database) {
    super("postgres", db);
  }

  /**
   * Connects to `url` (`postgres://user@host:port/database`), applies pending migrations and
   * returns the store. Throws {@linkcode StoreUnavailableError} when the server cannot be
   * reached.
   *
   * @example
   * ```ts ignore
   * import { PostgresStore } from "./postgres_store.ts";
   *
   * const store = await PostgresStore.connect("postgres://postgres@127.0.0.1:5432/test");
   * console.log(await store.getMeeting("standup"));
   * await store.close();
   * ```
   */
  static async connect(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const connection: Record<string, string> = { application_name: "videocall" };
    if (options.schema !== undefined) {
      if (!SCHEMA_PATTERN.test(options.schema)) {
        throw new StoreInvalidError(
          `The schema name "${options.schema.replace(/[^\x20-\x7e]/g, "?")}" may only ` +
            `contain lower-case letters, digits and "_"`,
        );
      }
      connection.search_path = options.schema;
    }
    const sql = postgres(url, {
      max: options.maxConnections ?? POSTGRES_MAX_CONNECTIONS,
      connect_timeout: options.connectTimeoutSeconds ?? POSTGRES_CONNECT_TIMEOUT_S,
      idle_timeout: POSTGRES_IDLE_TIMEOUT_S,
      onnotice: () => {},
      connection,
    });
    const db = database(sql);
    try {
      // The schema is made if missing (the name is checked above, so it may be spliced in).
      // Instances starting together may race to make it; the loser finds it made.
      if (options.schema !== undefined) {
        await db.exec(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`).catch(async (error) => {
          const exists = await db.query(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            [options.schema],
          );
          if (exists.length === 0) throw error;
        });
      }
      await migrate(db);
    } catch (error) {
      await sql.end({ timeout: POSTGRES_CLOSE_TIMEOUT_S });
      throw storeError(error, "open the Postgres store");
    }
    return new PostgresStore(db);
  }
}
