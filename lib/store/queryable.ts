/**
 * The two calls the shared SQL needs from a driver, so that the queries live once
 * (`sql_store.ts`, `migrate.ts`) and postgres.js and PGlite are thin adapters around them.
 *
 * @module
 */

/** One result row, keyed by column name, with the driver's type parsing applied. */
export type Row = Record<string, unknown>;

/** Runs SQL. Parameters are always bound (`$1`, `$2`, …), never spliced into the text. */
export interface Queryable {
  /** Runs one statement with bound parameters and returns its rows. */
  query(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (a migration file). */
  exec(script: string): Promise<void>;
}

/** A database: queries, transactions, and the end of it. */
export interface Database extends Queryable {
  /**
   * Runs `fn` in one transaction on one connection: committed when `fn` resolves, rolled back
   * when it throws.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Releases connections; later calls fail. */
  close(): Promise<void>;
}
