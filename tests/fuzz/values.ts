/**
 * What the fuzz targets share: random field values for seeds (text with awkward characters,
 * numbers at their edges), the chunk sizes a stream reader is fed in, a mutation that knows
 * JSON, and the check that a decoder's result has the shape its contract promises.
 *
 * @module
 */
import { expect, hash32, mutateBytes, Rng } from "../support/fuzz.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const TEXT_PIECES = [
  "a",
  "Ada",
  " ",
  "\n",
  "é",
  "ß",
  "山田",
  "😀",
  "\u0000",
  "\u202e",
  "\ud800", // a lone surrogate
  "\udfff",
  "-",
  "_",
  "0",
  ":",
  '"',
  "\\",
];

/** Random text of up to `max` pieces: letters, accents, emoji, controls, lone surrogates. */
export function randomText(rng: Rng, max = 12): string {
  let out = "";
  const n = rng.below(max + 1);
  for (let i = 0; i < n; i++) out += rng.pick(TEXT_PIECES);
  return out;
}

/** Random id-like text: what room and user ids look like, sometimes not quite. */
export function randomId(rng: Rng): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
  const n = rng.chance(0.9) ? rng.between(1, 20) : rng.pick([0, 64, 65]);
  let out = "";
  for (let i = 0; i < n; i++) out += alphabet[rng.below(alphabet.length)];
  return rng.chance(0.05) ? out + rng.pick([".", " ", "é", "/"]) : out;
}

/** Random bytes, usually short. */
export function randomBytes(rng: Rng, max = 48): Uint8Array<ArrayBuffer> {
  return rng.bytes(rng.below(max + 1));
}

/** A uint32 at its edges or anywhere. */
export function randomUint32(rng: Rng): number {
  return rng.chance(0.5)
    ? rng.pick([0, 1, 2, 7, 127, 128, 255, 256, 0x7fffffff, 0xffffffff])
    : rng.next();
}

/** An enum value: usually one of `values`, sometimes any int32 (negative too). */
export function randomEnum(rng: Rng, values: Record<string, number>): number {
  return rng.chance(0.85) ? rng.pick(Object.values(values)) : rng.next() | 0;
}

/** A double: ordinary, huge, tiny, -0, infinite or NaN. */
export function randomDouble(rng: Rng): number {
  return rng.chance(0.7)
    ? rng.next() / rng.between(1, 1000)
    : rng.pick([0, -0, 1.5, -1, 1e308, 5e-324, Infinity, -Infinity, NaN, 2 ** 53]);
}

/** A float as a 32-bit float can hold it. */
export function randomFloat(rng: Rng): number {
  return Math.fround(randomDouble(rng));
}

/** Random text encoded as UTF-8. */
export function randomUtf8(rng: Rng, max = 12): Uint8Array<ArrayBuffer> {
  return encoder.encode(randomText(rng, max));
}

/**
 * The chunks a stream reader is fed `input` in: sizes chosen from the input's own hash (so one
 * input always splits the same way, and its hex alone reproduces a failure).
 */
export function chunksOf(input: Uint8Array): Uint8Array[] {
  const rng = new Rng(hash32(input));
  const sizes = [1, 2, 3, 4, 5, 7, 12, 16, 27, 64, 255, 1000];
  const style = rng.below(3); // 0: random sizes, 1: one size throughout, 2: all at once
  const fixed = rng.pick(sizes);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < input.length;) {
    const size = style === 2 ? input.length : style === 1 ? fixed : rng.pick(sizes);
    // Copies: a reader may keep a chunk, and must not see later changes to the input.
    chunks.push(input.slice(at, at + size));
    at += size;
  }
  return chunks;
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** `parts` joined. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// JSON text that JSON.stringify never writes but a peer may: -0, overflowing numbers, deep
// nesting, wrong types, ids at and past their limits.
const JSON_LITERALS = [
  "-0",
  "1e400",
  "-1e400",
  "0.5",
  "-1",
  "4294967295",
  "4294967296",
  "9007199254740993",
  "null",
  "true",
  "false",
  '""',
  "[]",
  "{}",
  '"1:1"',
  '"1:2"',
  '"18446744073709551615:3"',
  '"18446744073709551616:1"',
  '"0"',
  '"18446744073709551616"',
  '"-1"',
  '"1e3"',
  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
  '{"__proto__":{"t":"join"}}',
  '"\\ud800"',
  `"${"x".repeat(65)}"`,
  `"${"x".repeat(64)}"`,
  `[${new Array(40).fill('"1:1"').join(",")}]`,
];

// Every path to a value inside `value` (object keys and array indexes).
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (prefix.length >= 32) return out;
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  }
  return out;
}

// JSON.stringify, but the value at `path` is written as `literal`, text as it is.
function stringifyWith(value: unknown, path: (string | number)[], literal: string): string {
  if (path.length === 0) return literal;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    return `[${
      value.map((v, i) => i === head ? stringifyWith(v, rest, literal) : JSON.stringify(v)).join(
        ",",
      )
    }]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
    `${JSON.stringify(k)}:${k === head ? stringifyWith(v, rest, literal) : JSON.stringify(v)}`
  );
  return `{${entries.join(",")}}`;
}

/**
 * A mutation of JSON text that keeps it JSON: a value replaced by another (of another type, at
 * a limit, or text JSON.stringify never writes), a key dropped or added, an array item doubled.
 * Input that is not JSON gets a byte-level mutation.
 */
export function mutateJson(input: Uint8Array, rng: Rng): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(input));
  } catch {
    return mutateBytes(input, rng, input);
  }
  const all = paths(value);
  const path = rng.pick(all);
  const choice = rng.below(4);
  if (choice === 0 && path.length > 0) {
    // Drop the value at `path` (a missing key or a shorter array).
    const parentPath = path.slice(0, -1);
    const key = path[path.length - 1];
    const parent = parentPath.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete (parent as Record<string, unknown>)[key];
    return encoder.encode(JSON.stringify(value));
  }
  if (choice === 1) {
    const target = path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
    if (Array.isArray(target) && target.length > 0) {
      target.push(...target.slice(0, rng.between(1, target.length)));
      return encoder.encode(JSON.stringify(value));
    }
    if (typeof target === "object" && target !== null) {
      (target as Record<string, unknown>)[rng.pick(["t", "i", "p", "s", "w", "x", "type"])] = JSON
        .parse(rng.pick(JSON_LITERALS));
      return encoder.encode(JSON.stringify(value));
    }
  }
  return encoder.encode(stringifyWith(value, path, rng.pick(JSON_LITERALS)));
}

/** A decode result of this codebase: `{ ok: true, value }` or `{ ok: false, error }`. */
export function expectResultShape(result: unknown, what: string): void {
  expect(
    typeof result === "object" && result !== null && "ok" in result &&
      typeof result.ok === "boolean",
    `${what} did not return { ok, ... }`,
  );
}
