// Turns driver errors (postgres.js, PGlite) into the store's three error classes, so nothing
// above the store sees a driver type.
import { StoreConflictError, StoreInvalidError, StoreUnavailableError } from "./store.ts";

// SQLSTATE codes: https://www.postgresql.org/docs/15/errcodes-appendix.html
const CONFLICT_CODES = new Set([
  "23505", // unique_violation
  "23503", // foreign_key_violation
]);
const INVALID_CODES = new Set([
  "23502", // not_null_violation
  "23514", // check_violation
  "22001", // string_data_right_truncation
  "22021", // character_not_in_repertoire (a NUL in text)
  "22P02", // invalid_text_representation
  "22P05", // untranslatable_character
]);

/** The SQLSTATE of a database error, if `error` carries one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * The store error for a failed driver call. Constraint violations become conflicts or invalid
 * input; everything else (refused or dropped connections, timeouts, a closed database, a
 * server shutting down) means the store cannot serve the call now.
 */
export function storeError(error: unknown, doing: string): Error {
  if (
    error instanceof StoreConflictError || error instanceof StoreInvalidError ||
    error instanceof StoreUnavailableError
  ) {
    return error;
  }
  const code = sqlState(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code !== undefined && CONFLICT_CODES.has(code)) {
    return new StoreConflictError(`Cannot ${doing}: ${detail}`, { cause: error });
  }
  if (code !== undefined && INVALID_CODES.has(code)) {
    return new StoreInvalidError(`Cannot ${doing}: ${detail}`, { cause: error });
  }
  return new StoreUnavailableError(`Cannot ${doing}: the database failed (${detail})`, {
    cause: error,
  });
}
