/**
 * The few assertions the tests use (`@std/assert` lives on JSR, which is not reachable here).
 *
 * @module
 */

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

/** Asserts deep equality (structural, with typed arrays and bigints). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (!equal(actual, expected)) {
    throw new AssertionError(
      `${message ? message + ": " : ""}values are not equal\n  actual:   ${
        format(actual)
      }\n  expected: ${format(expected)}`,
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

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k))) return false;
    return true;
  }
  const ka = Object.keys(a as object).filter((k) =>
    (a as Record<string, unknown>)[k] !== undefined
  );
  const kb = Object.keys(b as object).filter((k) =>
    (b as Record<string, unknown>)[k] !== undefined
  );
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
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
