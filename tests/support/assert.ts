/**
 * The few assertions the tests use (`@std/assert` lives on JSR, which is not reachable here).
 * Deep equality is Node's `deepStrictEqual`, which Deno has built in: a well-kept comparison
 * instead of our own.
 *
 * @module
 */
import { AssertionError as NodeAssertionError, deepStrictEqual } from "node:assert/strict";

/** Thrown when an assertion fails. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Asserts that `condition` is truthy. */
export function assert(
  condition: unknown,
  message = "Expected condition to be true",
): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Asserts that `condition` is falsy. */
export function assertFalse<T>(
  condition: T,
  message = "Expected condition to be false",
): asserts condition is Extract<T, false | { ok: false }> {
  if (condition) throw new AssertionError(message);
}

function format(value: unknown): string {
  return Deno.inspect(value, { depth: 6, iterableLimit: 50, strAbbreviateSize: 200 });
}

/**
 * Asserts deep equality with Node's `assert.deepStrictEqual` (built into Deno): types,
 * prototypes, `Date` times, `Map`/`Set` entries, typed-array kinds, array holes and keys whose
 * value is `undefined` all count.
 */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  try {
    deepStrictEqual(actual, expected);
  } catch (error) {
    if (!(error instanceof NodeAssertionError)) throw error;
    throw new AssertionError(
      `${message ? message + ": " : ""}values are not equal\n  actual:   ${
        format(actual)
      }\n  expected: ${format(expected)}\n${error.message}`,
    );
  }
}

/** Asserts that `actual` is strictly greater than `expected`. */
export function assertGreater(actual: number, expected: number, message?: string): void {
  if (!(actual > expected)) {
    throw new AssertionError(`${message ? message + ": " : ""}expected ${actual} > ${expected}`);
  }
}

/** Asserts that `fn` rejects, and returns the error. */
export async function assertRejects(fn: () => Promise<unknown>, message?: string): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new AssertionError(message ?? "Expected the promise to reject");
}

/** Asserts that `fn` throws, and returns the error. */
export function assertThrows(fn: () => unknown, message?: string): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new AssertionError(message ?? "Expected the function to throw");
}

/** Fails when `actual` and `expected` are equal (the same comparison as assertEquals). */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  let equal = true;
  try {
    assertEquals(actual, expected);
  } catch {
    equal = false;
  }
  if (equal) throw new AssertionError(message ?? `expected a value other than ${String(actual)}`);
}
