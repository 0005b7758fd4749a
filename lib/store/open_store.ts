/**
 * Chooses and opens the {@linkcode Store} for a server (docs/ARCHITECTURE.md, "Meetings, identities and permissions"): PostgreSQL when a
 * database URL is configured, else PGlite in the data directory. Each driver is imported only
 * when chosen, so a server on PostgreSQL never loads PGlite's WASM (a PGlite instance costs
 * ~0.3–0.4 GiB RSS; a Postgres-backed server stays near 60 MiB).
 *
 * @module
 */
import type { Store } from "./store.ts";

/** Where the store lives. */
export interface StoreConfig {
  /** `DATABASE_URL`: when set, PostgreSQL through postgres.js. */
  databaseUrl?: string;
  /** With PostgreSQL: the schema for the tables. @default {the server's search_path} */
  schema?: string;
  /** Without a database URL: PGlite's directory (`DATA_DIR`); undefined keeps it in memory. */
  dataDir?: string;
}

/**
 * Opens the configured store with its migrations applied.
 *
 * @example
 * ```ts ignore
 * import { openStore } from "./open_store.ts";
 *
 * const store = await openStore({
 *   databaseUrl: Deno.env.get("DATABASE_URL"),
 *   dataDir: Deno.env.get("DATA_DIR") ?? "./data",
 * });
 * ```
 */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.databaseUrl) {
    const { PostgresStore } = await import("./postgres_store.ts");
    return await PostgresStore.connect(config.databaseUrl, { schema: config.schema });
  }
  const { PgliteStore } = await import("./pglite_store.ts");
  return await PgliteStore.open(config.dataDir);
}
