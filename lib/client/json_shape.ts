/**
 * Reading JSON whose shape is not guaranteed (a server's answer) into typed values: each reader
 * checks what it returns and throws a {@linkcode ShapeError} naming the field that is wrong, so
 * no response is ever trusted by a cast.
 *
 * @example
 * ```ts
 * import { readBoolean, readObject, readString, ShapeError } from "./json_shape.ts";
 *
 * const body = readObject(JSON.parse('{"name": "Ada", "admin": true}'), "user");
 * if (readString(body, "name") !== "Ada" || !readBoolean(body, "admin")) throw new Error();
 * try {
 *   readString(body, "admin");
 *   throw new Error("not reached");
 * } catch (error) {
 *   if (!(error instanceof ShapeError)) throw error;
 * }
 * ```
 *
 * @module
 */

/** A value did not have the expected shape. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

/** A JSON object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

/** `value` as an object, or a ShapeError naming `what`. */
export function readObject(value: unknown, what: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ShapeError(`Expected ${what} to be an object`);
  }
  return value as JsonObject;
}

/** `object[key]` as a string. */
export function readString(object: JsonObject, key: string): string {
  const value = object[key];
  if (typeof value !== "string") throw new ShapeError(`Expected "${key}" to be a string`);
  return value;
}

/** `object[key]` as a string, or undefined when absent or null. */
export function readOptionalString(object: JsonObject, key: string): string | undefined {
  return object[key] === undefined || object[key] === null ? undefined : readString(object, key);
}

/** `object[key]` as a boolean. */
export function readBoolean(object: JsonObject, key: string): boolean {
  const value = object[key];
  if (typeof value !== "boolean") throw new ShapeError(`Expected "${key}" to be true or false`);
  return value;
}

/** `object[key]` as a finite number. */
export function readNumber(object: JsonObject, key: string): number {
  const value = object[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ShapeError(`Expected "${key}" to be a number`);
  }
  return value;
}

/** `object[key]` as one of `choices`. */
export function readChoice<T extends string>(
  object: JsonObject,
  key: string,
  choices: readonly T[],
): T {
  const value = readString(object, key);
  if (!(choices as readonly string[]).includes(value)) {
    throw new ShapeError(`Expected "${key}" to be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value as T;
}

/** `value` as an array whose items `item` reads. */
export function readArray<T>(value: unknown, what: string, item: (value: unknown) => T): T[] {
  if (!Array.isArray(value)) throw new ShapeError(`Expected ${what} to be a list`);
  return value.map(item);
}
