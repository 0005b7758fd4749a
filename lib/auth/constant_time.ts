/**
 * Comparison of secret bytes in time that does not depend on where they differ.
 *
 * @module
 */

/**
 * Whether `a` and `b` hold the same bytes, taking time that depends only on their lengths, so
 * that timing reveals nothing about how much of a secret an attacker has guessed. A length
 * difference returns `false` at once: lengths here are public (fixed by the hash format).
 *
 * @param a Bytes to compare.
 * @param b Bytes to compare.
 * @returns `true` when both have the same length and contents.
 *
 * @example
 * ```ts
 * import { timingSafeEqual } from "./constant_time.ts";
 *
 * const a = new Uint8Array([1, 2, 3]);
 * if (!timingSafeEqual(a, new Uint8Array([1, 2, 3]))) throw new Error("equal");
 * if (timingSafeEqual(a, new Uint8Array([1, 2, 4]))) throw new Error("different");
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
