/**
 * Limits the store enforces, in one place. The database enforces the same numbers in
 * `migrations/0001_meetings.sql`; the contract tests check that the two agree.
 *
 * @module
 */

/** Longest participant display name, in Unicode code points (Postgres `char_length`). */
export const MAX_DISPLAY_NAME_CHARS = 128;

/** Most rows one list call returns, whatever `limit` the caller asks for. */
export const MAX_LIST_ROWS = 1000;

/** How long postgres.js waits for a TCP connection and the startup handshake, in seconds. */
export const POSTGRES_CONNECT_TIMEOUT_S = 5;

/** Connections a `PostgresStore` keeps open at most. */
export const POSTGRES_MAX_CONNECTIONS = 5;

/** A pooled Postgres connection idle this long is closed, in seconds. */
export const POSTGRES_IDLE_TIMEOUT_S = 60;

/**
 * How long `PostgresStore.close()` lets running queries finish before it drops the
 * connections, in seconds. Also the bound on a postgres.js quirk: a connection whose query died
 * with the server never ends by itself (porsager/postgres#1097).
 */
export const POSTGRES_CLOSE_TIMEOUT_S = 5;
