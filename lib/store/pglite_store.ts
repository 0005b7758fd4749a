/**
 * The {@linkcode Store} on PGlite, PostgreSQL compiled to WASM and run in-process: the default
 * when `DATABASE_URL` is unset. Persisted in a directory (`DATA_DIR`), or in memory. PGlite runs
 * one query at a time; its transactions are serialised with everything else.
 *
 * Measured here: a fresh directory takes 3–4 s to initialise, reopening one ~0.2 s, and
 * {@linkcode PgliteStore.clone} of a migrated store ~0.8 s, which is why tests clone one
 * template (`tests/support/store_fixtures.ts`) instead of creating a database each.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { storeError } from "./_errors.ts";
import type { Database, Queryable, Row } from "./queryable.ts";
import { SqlStore } from "./sql_store.ts";

interface PgliteLike {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(script: string): Promise<unknown>;
}

function adapt(db: PgliteLike): Queryable {
  return {
    async query(text: string, params: readonly unknown[] = []): Promise<Row[]> {
      return (await db.query<Row>(text, [...params])).rows;
    },
    async exec(script: string): Promise<void> {
      await db.exec(script);
    },
  };
}

function database(db: PGlite): Database {
  return {
    ...adapt(db),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return await db.transaction((tx) => fn(adapt(tx)));
    },
    async close(): Promise<void> {
      if (!db.closed) await db.close();
    },
  };
}

/** A {@linkcode Store} on an in-process PGlite database. */
export class PgliteStore extends SqlStore {
  readonly #pglite: PGlite;

  private constructor(pglite: PGlite) {
    super("pglite", database(pglite));
    this.#pglite = pglite;
  }

  /**
   * Opens (creating when needed) the database in `dataDir`, or an in-memory one when
   * `dataDir` is undefined, and applies pending migrations.
   *
   * @example
   * ```ts
   * import { PgliteStore } from "./pglite_store.ts";
   *
   * const store = await PgliteStore.open(undefined);
   * try {
   *   await store.createMeeting({ id: "standup", hostUserId: "ada", hostDisplayName: "Ada" });
   *   const [host] = await store.listParticipants("standup", ["admitted"], 10);
   *   if (host.role !== "host") throw new Error("the creator should host");
   * } finally {
   *   await store.close();
   * }
   * ```
   */
  static async open(dataDir: string | undefined): Promise<PgliteStore> {
    let pglite: PGlite;
    try {
      if (dataDir === undefined) {
        pglite = await PGlite.create();
      } else {
        await Deno.mkdir(dataDir, { recursive: true });
        // The file:// prefix keeps a directory named like "memory://x" from picking another
        // file system.
        pglite = await PGlite.create(`file://${await Deno.realPath(dataDir)}`);
      }
    } catch (error) {
      throw storeError(error, `open the PGlite database${dataDir ? ` in "${dataDir}"` : ""}`);
    }
    return await PgliteStore.#migrated(pglite);
  }

  /**
   * A new in-memory store holding a copy of this one's data (~0.8 s, against 3–4 s for
   * {@linkcode PgliteStore.open}). Writes to either do not reach the other.
   */
  async clone(): Promise<PgliteStore> {
    return await PgliteStore.restore(await this.snapshot());
  }

  /**
   * The database files as an uncompressed tarball, for {@linkcode PgliteStore.restore}. A test
   * process keeps one snapshot of a migrated store and restores it per test; unlike keeping a
   * live template to clone, that leaves no open instance (whose internal timers would fire in
   * later tests).
   */
  async snapshot(): Promise<Blob> {
    try {
      return await this.#pglite.dumpDataDir("none");
    } catch (error) {
      throw storeError(error, "snapshot the PGlite database");
    }
  }

  /** A new in-memory store from a {@linkcode PgliteStore.snapshot}, migrated. */
  static async restore(snapshot: Blob): Promise<PgliteStore> {
    let pglite: PGlite;
    try {
      pglite = await PGlite.create({ loadDataDir: snapshot });
    } catch (error) {
      throw storeError(error, "restore a PGlite snapshot");
    }
    return await PgliteStore.#migrated(pglite);
  }

  static async #migrated(pglite: PGlite): Promise<PgliteStore> {
    const store = new PgliteStore(pglite);
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }
}
