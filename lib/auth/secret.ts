/**
 * The HS256 signing secret: read from `JWT_SECRET`, refused when too short to be safe.
 *
 * @module
 */
import { MIN_SECRET_BYTES } from "./limits.ts";

/** The outcome of {@linkcode secretFromEnv}. */
export type SecretResult = { ok: true; secret: Uint8Array } | { ok: false; error: string };

/**
 * Turns the value of `JWT_SECRET` into key bytes (its UTF-8 encoding, as videocall-rs uses
 * it), refusing a missing or short secret with a message that says how to make a good one.
 *
 * @param value The variable's value, e.g. `Deno.env.get("JWT_SECRET")`.
 * @param name The variable's name, used in the message.
 * @returns The key bytes, or an error written for the operator.
 *
 * @example
 * ```ts
 * import { secretFromEnv } from "./secret.ts";
 *
 * const good = secretFromEnv("a-secret-that-is-at-least-32-bytes-long");
 * const short = secretFromEnv("hunter2");
 * if (!good.ok || short.ok) throw new Error("unexpected");
 * if (!short.error.includes("at least 32 bytes")) throw new Error(short.error);
 * ```
 */
export function secretFromEnv(value: string | undefined, name = "JWT_SECRET"): SecretResult {
  const hint = "generate one with: openssl rand -base64 48";
  if (value === undefined || value === "") {
    return { ok: false, error: `${name} is not set; ${hint}` };
  }
  const secret = new TextEncoder().encode(value);
  if (secret.length < MIN_SECRET_BYTES) {
    return {
      ok: false,
      error: `${name} is ${secret.length} bytes long but must be at least ${MIN_SECRET_BYTES} ` +
        `bytes; ${hint}`,
    };
  }
  return { ok: true, secret };
}

/**
 * Throws when `secret` is too short for HS256: a programming error, since secrets should come
 * from {@linkcode secretFromEnv}, which refuses them with a better message.
 *
 * @param secret The key bytes.
 * @throws {RangeError} When `secret` has fewer than 32 bytes.
 *
 * @example
 * ```ts
 * import { assertSecret } from "./secret.ts";
 *
 * assertSecret(new Uint8Array(32));
 * let threw = false;
 * try {
 *   assertSecret(new Uint8Array(31));
 * } catch {
 *   threw = true;
 * }
 * if (!threw) throw new Error("a 31-byte secret should be refused");
 * ```
 */
export function assertSecret(secret: Uint8Array): void {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new RangeError(
      `Cannot use a ${secret.length}-byte secret: HS256 needs at least ${MIN_SECRET_BYTES} bytes`,
    );
  }
}
