/**
 * Meeting password hashing: PBKDF2-SHA-256 through WebCrypto, stored as
 * `pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>` so that the count can rise later
 * without breaking stored hashes.
 *
 * @module
 */
import { timingSafeEqual } from "./constant_time.ts";
import {
  MAX_PASSWORD_BYTES,
  PBKDF2_HASH_BYTES,
  PBKDF2_ITERATIONS,
  PBKDF2_MAX_ITERATIONS,
  PBKDF2_MIN_ITERATIONS,
  PBKDF2_SALT_BYTES,
} from "./limits.ts";

const SCHEME = "pbkdf2-sha256";
// Bounds on what a stored hash may hold; outside them it is corrupt or hostile.
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 64;
const MAX_STORED_CHARS = 256;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ITERATIONS = /^[1-9][0-9]{0,7}$/;

/** Options of {@linkcode hashPassword}, for tests that need it fast. */
export interface HashPasswordOptions {
  /** @default {PBKDF2_ITERATIONS} (310,000) */
  iterations?: number;
}

/**
 * Hashes a meeting password with a fresh random salt.
 *
 * @param password The password as typed, 1 to 1024 UTF-8 bytes.
 * @param options The iteration count.
 * @returns The encoded hash, safe to store.
 * @throws {RangeError} When the password is empty or too long, or the count out of range.
 *
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password.ts";
 *
 * const stored = await hashPassword("open sesame", { iterations: 1000 });
 * if (!stored.startsWith("pbkdf2-sha256$1000$")) throw new Error(stored);
 * if (!await verifyPassword("open sesame", stored)) throw new Error("should match");
 * ```
 */
export async function hashPassword(
  password: string,
  options: HashPasswordOptions = {},
): Promise<string> {
  const { iterations = PBKDF2_ITERATIONS } = options;
  const bytes = new TextEncoder().encode(password);
  if (bytes.length === 0 || bytes.length > MAX_PASSWORD_BYTES) {
    throw new RangeError(
      `Cannot hash a password of ${bytes.length} bytes: use 1 to ${MAX_PASSWORD_BYTES}`,
    );
  }
  if (
    !Number.isSafeInteger(iterations) || iterations < PBKDF2_MIN_ITERATIONS ||
    iterations > PBKDF2_MAX_ITERATIONS
  ) {
    throw new RangeError(`Cannot hash with ${iterations} iterations`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(PBKDF2_SALT_BYTES));
  const hash = await derive(bytes, salt, iterations, PBKDF2_HASH_BYTES);
  return [SCHEME, iterations, salt.toBase64(), hash.toBase64()].join("$");
}

/**
 * Checks a password against a stored hash, comparing in constant time. A stored value that is
 * not a well-formed hash (wrong scheme, bad base64, absurd iteration count or lengths) gives
 * `false`; this never throws.
 *
 * @param password The password as typed.
 * @param stored A value from {@linkcode hashPassword}.
 * @returns Whether the password matches.
 *
 * @example
 * ```ts
 * import { hashPassword, verifyPassword } from "./password.ts";
 *
 * const stored = await hashPassword("open sesame", { iterations: 1000 });
 * if (await verifyPassword("open sesame!", stored)) throw new Error("should not match");
 * if (await verifyPassword("open sesame", "pbkdf2-sha256$x$y$z")) throw new Error("corrupt");
 * ```
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStored(stored);
  if (parsed === undefined || typeof password !== "string") return false;
  const bytes = new TextEncoder().encode(password);
  if (bytes.length === 0 || bytes.length > MAX_PASSWORD_BYTES) return false;
  try {
    const hash = await derive(bytes, parsed.salt, parsed.iterations, parsed.hash.length);
    return timingSafeEqual(hash, parsed.hash);
  } catch {
    return false;
  }
}

interface StoredHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

function parseStored(stored: unknown): StoredHash | undefined {
  if (typeof stored !== "string" || stored.length > MAX_STORED_CHARS) return undefined;
  const parts = stored.split("$");
  if (parts.length !== 4 || parts[0] !== SCHEME || !ITERATIONS.test(parts[1])) return undefined;
  const iterations = Number(parts[1]);
  if (iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) return undefined;
  const salt = decodeBase64(parts[2]);
  const hash = decodeBase64(parts[3]);
  if (salt === undefined || salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) {
    return undefined;
  }
  if (hash === undefined || hash.length < MIN_HASH_BYTES || hash.length > MAX_HASH_BYTES) {
    return undefined;
  }
  return { iterations, salt, hash };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64.test(text)) return undefined;
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

async function derive(
  password: Uint8Array<ArrayBuffer>,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
  lengthBytes: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    lengthBytes * 8,
  );
  return new Uint8Array(bits);
}
