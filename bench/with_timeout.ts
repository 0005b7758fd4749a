/**
 * A promise with a deadline, for the benchmark's setup and teardown.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./with_timeout.ts";
 *
 * const value = await withTimeout(Promise.resolve(1), 100, "Resolving");
 * if (value !== 1) throw new Error("should pass the value through");
 * ```
 *
 * @module
 */

/** Resolves as `promise` does, or rejects once `ms` have passed, naming `what` did not finish. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
