/**
 * A small deterministic fuzzer for the parsers we own. A {@linkcode FuzzTarget} gives valid
 * encodings made by our own encoders (its seeds) and a `check` that feeds one input to the parser
 * and throws when the parser breaks its contract (an unexpected exception type, a wrong result
 * shape, a round trip that does not hold, an output out of proportion to the input).
 * {@linkcode fuzz} feeds a target random bytes and mutations of its seeds — bit flips, truncation,
 * insertion, deletion, duplication, splicing, and length fields set huge or off by one — drawn
 * from a seeded PRNG, so a seed reproduces a run exactly, and stops at the first violation with
 * the input that caused it.
 *
 * There is no coverage feedback; inputs the parser accepted join the corpus (up to a cap), so
 * mutations can reach past the first checks.
 *
 * @example Find the input that breaks a parser
 * ```ts
 * import { fuzz, Rng } from "./fuzz.ts";
 *
 * const report = await fuzz({
 *   name: "first byte below 0xf0",
 *   seeds: (rng: Rng) => [Uint8Array.of(rng.below(0xf0))],
 *   check(input: Uint8Array) {
 *     if (input.length > 0 && input[0] >= 0xf0) throw new Error("a byte above 0xef");
 *     return input.length > 0;
 *   },
 * }, { seed: 1, iterations: 10_000 });
 * if (report.failure === undefined || report.failure.input[0] < 0xf0) throw new Error();
 * ```
 *
 * @module
 */

/**
 * A seeded 32-bit PRNG: a Weyl sequence (a counter stepped by an odd constant) put through the
 * murmur3 32-bit finaliser. Not for cryptography; fast, and the same on every machine.
 */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next 32 random bits, as an unsigned integer. */
  next(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0;
    let z = this.#state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A whole number in [0, n) (n at most 2^32). */
  below(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** A whole number in [min, max]. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A random unsigned 64-bit integer, small more often than not. */
  uint64(): bigint {
    const bits = this.pick([7, 14, 32, 53, 64]);
    const value = (BigInt(this.next()) << 32n) | BigInt(this.next());
    return BigInt.asUintN(bits, value);
  }

  /** A new generator whose sequence depends on this one's next output. */
  fork(): Rng {
    return new Rng(this.next());
  }
}

/** A 32-bit FNV-1a hash of text or bytes (seeds per target, chunk sizes per input). */
export function hash32(data: string | Uint8Array): number {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/** `bytes` as lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from hex; whitespace and `#` comments to the end of a line are ignored. */
export function fromHex(text: string): Uint8Array<ArrayBuffer> {
  const digits = text.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error("Not an even run of hex digits");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A parser under test. */
export interface FuzzTarget {
  /** Short and stable: seeds, reports and regression file names use it. */
  readonly name: string;
  /** Valid encodings made by our own encoders, varied with `rng`. */
  seeds(rng: Rng): Uint8Array[];
  /**
   * Feeds `input` to the parser; throws when the parser broke its contract. Returns whether the
   * parser accepted the input (accepted inputs join the corpus).
   */
  check(input: Uint8Array): boolean | Promise<boolean>;
  /** A mutation that knows the format, tried alongside the byte-level ones. */
  mutate?(input: Uint8Array, rng: Rng): Uint8Array;
  /** Prepares what `seeds` and `check` need (keys, certificates); called once per run. */
  open?(): Promise<void>;
  /** Releases what `open` made (timers, sessions). */
  close?(): Promise<void> | void;
  /** Largest input generated (default {@linkcode DEFAULT_MAX_INPUT_BYTES}). */
  readonly maxInputBytes?: number;
}

/** Largest input the mutator makes unless a target says otherwise. */
export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024;
/** Accepted inputs kept for further mutation, at most. */
const MAX_CORPUS = 512;

// Values a length or count field is set to: the largest of each width, just above the common
// limits, and protobuf and QUIC varints of the largest values.
const HUGE: readonly Uint8Array[] = [
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), // protobuf varint 2^32 - 1
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), // varint 2^64 - 1
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x08), // varint 2^31
  Uint8Array.of(0xff, 0xff, 0xff, 0xff), // u32 max, either order
  Uint8Array.of(0x7f, 0xff, 0xff, 0xff), // i32 max, big-endian
  Uint8Array.of(0xff, 0xff, 0xff, 0x7f), // i32 max, little-endian
  Uint8Array.of(0x00, 0x3d, 0x09, 0x01), // 4,000,001 big-endian (just over a 4 MB limit)
  Uint8Array.of(0x01, 0x09, 0x3d, 0x00), // the same, little-endian
  Uint8Array.of(0x00, 0x80, 0x00, 0x01), // 8 MiB + 1, little-endian
  Uint8Array.of(0xff, 0xff), // u16 max
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // u64 / QUIC varint max
  Uint8Array.of(0xc0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), // QUIC 8-byte varint, 2^32 - 1
];
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x3f, 0x40, 0xc0];

function insertAt(input: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length + bytes.length);
  out.set(input.subarray(0, at));
  out.set(bytes, at);
  out.set(input.subarray(at), at + bytes.length);
  return out;
}

function overwriteAt(input: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(input.length, at + bytes.length));
  out.set(input);
  out.set(bytes, at);
  return out;
}

// Positions near the start are where headers and length prefixes live: favour them.
function position(rng: Rng, length: number): number {
  if (length === 0) return 0;
  return rng.chance(0.5) ? rng.below(Math.min(length, 16)) : rng.below(length);
}

/**
 * One random byte-level mutation of `input`; `other` is a second corpus entry for splicing.
 * The result is a new array (the input is never changed).
 */
export function mutateBytes(input: Uint8Array, rng: Rng, other: Uint8Array): Uint8Array {
  const n = input.length;
  switch (rng.below(10)) {
    case 0: { // flip one bit
      if (n === 0) return rng.bytes(1);
      const out = input.slice();
      out[rng.below(n)] ^= 1 << rng.below(8);
      return out;
    }
    case 1: { // set a byte to a boundary value
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
      const out = input.slice();
      out[position(rng, n)] = rng.chance(0.7) ? rng.pick(INTERESTING_BYTES) : rng.below(256);
      return out;
    }
    case 2: { // nudge a byte (a length off by a little)
      if (n === 0) return rng.bytes(1);
      const out = input.slice();
      const at = position(rng, n);
      out[at] = (out[at] + rng.pick([-2, -1, 1, 2, 16, -16])) & 0xff;
      return out;
    }
    case 3: // truncate
      return input.slice(0, rng.below(n + 1));
    case 4: { // delete a range
      const from = rng.below(n + 1);
      const to = Math.min(n, from + 1 + rng.below(rng.chance(0.8) ? 8 : n + 1));
      const out = new Uint8Array(n - (to - from));
      out.set(input.subarray(0, from));
      out.set(input.subarray(to), from);
      return out;
    }
    case 5: // insert random bytes
      return insertAt(input, rng.below(n + 1), rng.bytes(1 + rng.below(16)));
    case 6: { // duplicate a range (a field or frame repeated)
      if (n === 0) return input.slice();
      const from = rng.below(n);
      const length = 1 + rng.below(Math.min(n - from, 64));
      return insertAt(input, rng.below(n + 1), input.slice(from, from + length));
    }
    case 7: { // splice: a prefix of this input, a suffix of another
      const head = input.subarray(0, rng.below(n + 1));
      const tail = other.subarray(rng.below(other.length + 1));
      const out = new Uint8Array(head.length + tail.length);
      out.set(head);
      out.set(tail, head.length);
      return out;
    }
    case 8: // a length field set huge (overwritten in place, or inserted)
      return rng.chance(0.7)
        ? overwriteAt(input, position(rng, n), rng.pick(HUGE))
        : insertAt(input, position(rng, n), rng.pick(HUGE));
    default: { // insert a slice of another input (a field from another message)
      const from = rng.below(other.length + 1);
      const piece = other.subarray(from, from + 1 + rng.below(32));
      return insertAt(input, rng.below(n + 1), piece);
    }
  }
}

/** Why a run stopped early: the input, and what the parser did with it. */
export interface FuzzFailure {
  target: string;
  seed: number;
  /** 0-based index of the failing input in the run. */
  iteration: number;
  input: Uint8Array;
  error: unknown;
}

/** What a run did. */
export interface FuzzReport {
  target: string;
  seed: number;
  iterations: number;
  /** Inputs the parser accepted. */
  accepted: number;
  failure?: FuzzFailure;
}

/** How long a run lasts: a number of inputs, a deadline, or both (whichever comes first). */
export interface FuzzOptions {
  seed: number;
  iterations?: number;
  /** `performance.now()` value after which the run stops. */
  deadline?: number;
  /** Called with each input before it is checked (the long-mode tool shares it for hangs). */
  onInput?: (input: Uint8Array, iteration: number) => void;
}

/** The failure as text: target, seed, input as hex, and the error with its stack. */
export function describeFailure(failure: FuzzFailure): string {
  const error = failure.error instanceof Error
    ? failure.error.stack ?? String(failure.error)
    : String(failure.error);
  return `fuzz target "${failure.target}" failed (seed ${failure.seed}, input #${failure.iteration}, ` +
    `${failure.input.length} bytes)\ninput hex: ${toHex(failure.input)}\n${error}`;
}

/**
 * The next input of a run: fresh random bytes one time in eight, otherwise one to four stacked
 * mutations of a corpus entry (byte-level, or the target's own one time in three).
 */
function nextInput(target: FuzzTarget, rng: Rng, corpus: Uint8Array[]): Uint8Array {
  const max = target.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  if (corpus.length === 0 || rng.chance(0.125)) {
    return rng.bytes(rng.below(rng.chance(0.8) ? 64 : Math.min(max, 2048) + 1));
  }
  let input = rng.pick(corpus);
  const rounds = 1 + rng.below(rng.chance(0.7) ? 2 : 4);
  for (let r = 0; r < rounds; r++) {
    input = target.mutate !== undefined && rng.chance(0.3)
      ? target.mutate(input, rng)
      : mutateBytes(input, rng, rng.pick(corpus));
  }
  return input.length > max ? input.slice(0, max) : input;
}

/**
 * Runs `target` from `options.seed` for `options.iterations` inputs or until `options.deadline`,
 * stopping at the first input whose check throws. The same seed gives the same inputs. Opens
 * the target first and closes it after.
 */
export async function fuzz(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  await target.open?.();
  try {
    return await run(target, options);
  } finally {
    await target.close?.();
  }
}

async function run(target: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const seed = options.seed >>> 0;
  const rng = new Rng(seed ^ hash32(target.name));
  const report: FuzzReport = { target: target.name, seed, iterations: 0, accepted: 0 };
  const corpus = target.seeds(rng.fork());
  const seeds = corpus.length;
  const limit = options.iterations ?? Infinity;
  for (let i = 0; i < limit; i++) {
    if (options.deadline !== undefined && (i & 15) === 0 && performance.now() > options.deadline) {
      break;
    }
    // The seeds go first, as they are: our own encodings must keep the contract too.
    const input = i < seeds ? corpus[i] : nextInput(target, rng, corpus);
    options.onInput?.(input, i);
    let accepted: boolean;
    try {
      const result = target.check(input);
      accepted = typeof result === "boolean" ? result : await result;
    } catch (error) {
      report.failure = { target: target.name, seed, iteration: i, input, error };
      report.iterations = i + 1;
      return report;
    }
    report.iterations = i + 1;
    if (!accepted) continue;
    report.accepted++;
    if (i < seeds) continue;
    if (corpus.length < MAX_CORPUS) corpus.push(input);
    else corpus[seeds + rng.below(MAX_CORPUS - seeds)] = input;
  }
  return report;
}

/** A parser broke its contract (the message says how). */
export class ContractViolation extends Error {
  override name = "ContractViolation";
}

/** Throws a {@linkcode ContractViolation} unless `condition` holds. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message);
}

/**
 * Rethrows `error` as a violation unless it is an instance of one of `allowed` (the exception
 * types a parser documents).
 */
export function expectThrownType(
  error: unknown,
  allowed: readonly (abstract new (...args: never[]) => Error)[],
  what: string,
): void {
  if (allowed.some((type) => error instanceof type)) return;
  throw new ContractViolation(
    `${what} threw ${
      error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    }, which it does not document`,
    { cause: error },
  );
}

/**
 * A rough size in bytes of a parsed value (typed arrays, strings, numbers, arrays, maps and
 * objects), to check that output stays in proportion to input.
 */
export function footprint(value: unknown, depth = 0): number {
  if (depth > 64) throw new ContractViolation("A parsed value is nested more than 64 deep");
  if (value === null || value === undefined) return 8;
  if (typeof value === "string") return 16 + 2 * value.length;
  if (typeof value !== "object") return 16;
  if (ArrayBuffer.isView(value)) return 32 + value.byteLength;
  let size = 32;
  if (value instanceof Map) {
    for (const [k, v] of value) size += footprint(k, depth + 1) + footprint(v, depth + 1);
    return size;
  }
  if (value instanceof Set || Array.isArray(value)) {
    for (const v of value) size += 8 + footprint(v, depth + 1);
    return size;
  }
  for (const v of Object.values(value)) size += 16 + footprint(v, depth + 1);
  return size;
}

/** Output may take this many bytes per input byte, plus {@linkcode FOOTPRINT_BASE}. */
export const FOOTPRINT_PER_BYTE = 64;
/** Output any input may have, whatever its length (default fields, empty containers). */
export const FOOTPRINT_BASE = 8192;

/** Throws unless `value` is in proportion to an input of `inputBytes` bytes. */
export function expectProportionate(value: unknown, inputBytes: number, what: string): void {
  const size = footprint(value);
  expect(
    size <= FOOTPRINT_BASE + FOOTPRINT_PER_BYTE * inputBytes,
    `${what} made about ${size} bytes of output from ${inputBytes} bytes of input`,
  );
}
