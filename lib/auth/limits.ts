/**
 * Limits and protocol values for tokens, session cookies and meeting passwords, named with
 * their unit.
 *
 * @module
 */

/** Shortest HS256 secret accepted, in bytes (the HMAC-SHA-256 output size, RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

/** Longest token read before any parsing; longer ones are refused as invalid. */
export const MAX_TOKEN_BYTES = 4096;

/** Default allowance for clocks that disagree, applied to `exp`, `nbf` and `iat`. */
export const DEFAULT_LEEWAY_SECONDS = 30;

/** Longest display name a token may carry, in UTF-16 code units. */
export const MAX_DISPLAY_NAME_LENGTH = 100;

/** The `iss` claim of the tokens we mint. */
export const TOKEN_ISSUER = "videocall-ts";

/** The `iss` claim of videocall-rs's meeting backend, whose room access tokens we also accept. */
export const VIDEOCALL_RS_ISSUER = "videocall-meeting-backend";

/** The `typ` claim videocall-rs puts on room access tokens (absent on older ones). */
export const VIDEOCALL_RS_TOKEN_TYPE = "room_access";

/** Name of the HttpOnly cookie that carries the session token. */
export const SESSION_COOKIE_NAME = "vc_session";

/**
 * PBKDF2-SHA-256 iterations for new meeting password hashes, about 45 ms per hash. Measured on
 * the 2-core AMD EPYC build machine, best of 11 with little other load: 210,000 took 30 ms,
 * 310,000 took 40-47 ms, 600,000 (OWASP's 2023 figure for SHA-256) took 80-88 ms. Stored
 * hashes carry their own count, so raising this only affects new hashes.
 */
export const PBKDF2_ITERATIONS = 310_000;

/** Fewest iterations a stored hash may claim; below this it is treated as corrupt. */
export const PBKDF2_MIN_ITERATIONS = 1_000;

/** Most iterations a stored hash may claim, so a corrupt row cannot stall a CPU for minutes. */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;

/** Random salt length for new password hashes, in bytes. */
export const PBKDF2_SALT_BYTES = 16;

/** Derived hash length for new password hashes, in bytes. */
export const PBKDF2_HASH_BYTES = 32;

/** Longest meeting password accepted, in UTF-8 bytes. */
export const MAX_PASSWORD_BYTES = 1024;
