/**
 * A mutation that knows the protobuf wire format: it reads a message's fields and changes one —
 * a number set to an edge value (including forms our encoder never writes: `-0`, NaN payloads,
 * non-minimal and over-long varints), a length made wrong, a field repeated, dropped, moved or
 * given another wire type, an unknown field or a group added — or, for a field that holds a
 * message itself, mutates that message and fixes its length, so a change reaches a packet
 * inside a wrapper without breaking the wrapper. Bytes that are not a message get a byte-level
 * mutation instead.
 *
 * @module
 */
import { mutateBytes, type Rng } from "../support/fuzz.ts";
import { concat } from "./values.ts";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

/** One field of a message: where its tag, its value and its end are. */
interface Field {
  no: number;
  wire: number;
  start: number;
  /** Where the value starts (after the tag, and after the length for LEN fields). */
  value: number;
  end: number;
}

function readVarint(bytes: Uint8Array, at: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= bytes.length) return undefined;
    const b = bytes[at + i];
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return { value, next: at + i + 1 };
  }
  return undefined;
}

/** `value` as a minimal varint. */
export function varint(value: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** The fields of `bytes` as one message, or undefined when it is not one. */
function scan(bytes: Uint8Array): Field[] | undefined {
  const fields: Field[] = [];
  for (let at = 0; at < bytes.length;) {
    const tag = readVarint(bytes, at);
    if (tag === undefined || tag.value >> 3n === 0n || tag.value >= 1n << 32n) return undefined;
    const wire = Number(tag.value & 7n);
    const no = Number(tag.value >> 3n);
    let value = tag.next;
    let end: number;
    switch (wire) {
      case VARINT: {
        const v = readVarint(bytes, value);
        if (v === undefined) return undefined;
        end = v.next;
        break;
      }
      case FIXED64:
        end = value + 8;
        break;
      case FIXED32:
        end = value + 4;
        break;
      case LEN: {
        const length = readVarint(bytes, value);
        if (length === undefined) return undefined;
        value = length.next;
        end = value + Number(length.value);
        break;
      }
      default:
        return undefined;
    }
    if (end > bytes.length) return undefined;
    fields.push({ no, wire, start: at, value, end });
    at = end;
  }
  return fields;
}

const EDGE_VARINTS: readonly Uint8Array[] = [
  ...[0n, 1n, 2n, 3n, 7n, 8n, 127n, 128n, 255n, 256n, 1024n, 1025n, 0x7fffffffn, 0x80000000n]
    .map(varint),
  ...[0xffffffffn, 0x100000000n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, -1n].map(varint),
  Uint8Array.of(0x80, 0x00), // 0, not minimal
  Uint8Array.of(0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), // 1 in ten bytes
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), // bits past 64
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), // 11 bytes
  Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), // 2^35: past 32 bits in six bytes
];

function float64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value, true);
  return out;
}

function float32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, value, true);
  return out;
}

const EDGE_FIXED64: readonly Uint8Array[] = [
  ...[0, -0, 1, -1, 0.5, 5e-324, 1e308, Infinity, -Infinity, NaN, 2 ** 53, -(2 ** 63)]
    .map(float64),
  Uint8Array.of(1, 0, 0, 0, 0, 0, 0xf8, 0x7f), // a NaN with a payload
  Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), // a negative NaN
];
const EDGE_FIXED32: readonly Uint8Array[] = [
  ...[0, -0, 1, -1, 1.5e-45, 3.4e38, Infinity, -Infinity, NaN].map(float32),
  Uint8Array.of(1, 0, 0xc0, 0x7f), // a float NaN with a payload
  Uint8Array.of(0xff, 0xff, 0xff, 0xff),
];
const EDGE_CONTENTS: readonly Uint8Array[] = [
  new Uint8Array(0),
  Uint8Array.of(0xff), // not UTF-8
  Uint8Array.of(0xc3), // a cut UTF-8 sequence
  Uint8Array.of(0xed, 0xa0, 0x80), // an encoded surrogate
  Uint8Array.of(0xf4, 0x90, 0x80, 0x80), // past U+10FFFF
  new TextEncoder().encode(" "),
  new TextEncoder().encode("x".repeat(65)),
  new TextEncoder().encode("é".repeat(1001)), // 2002 characters' worth of bytes
  new Uint8Array(257),
];
const FIELD_NUMBERS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 99, 100, 101, 102, 536870911];

function tag(no: number, wire: number): Uint8Array {
  return varint((BigInt(no) << 3n) | BigInt(wire));
}

// A random well-formed field (or group) of any wire type.
function randomField(rng: Rng, no: number, depth = 0): Uint8Array {
  const wire = rng.pick([VARINT, FIXED64, LEN, START_GROUP, FIXED32]);
  switch (wire) {
    case VARINT:
      return concat([tag(no, wire), rng.pick(EDGE_VARINTS)]);
    case FIXED64:
      return concat([tag(no, wire), rng.pick(EDGE_FIXED64)]);
    case FIXED32:
      return concat([tag(no, wire), rng.pick(EDGE_FIXED32)]);
    case LEN: {
      const content = rng.chance(0.5) ? rng.pick(EDGE_CONTENTS) : rng.bytes(rng.below(24));
      return concat([tag(no, wire), varint(content.length), content]);
    }
    default: {
      // A group: fields up to the matching end tag, sometimes nested, sometimes never ended.
      const inner = depth < 3 && rng.chance(0.4)
        ? randomField(rng, rng.pick(FIELD_NUMBERS), depth + 1)
        : new Uint8Array(0);
      const end = rng.chance(0.9) ? tag(no, END_GROUP) : tag(no + 1, END_GROUP);
      return concat([tag(no, START_GROUP), inner, rng.chance(0.95) ? end : new Uint8Array(0)]);
    }
  }
}

function replace(input: Uint8Array, from: number, to: number, piece: Uint8Array): Uint8Array {
  return concat([input.subarray(0, from), piece, input.subarray(to)]);
}

/** One protobuf-aware mutation of `input` (see the module doc). */
export function mutateProtobuf(input: Uint8Array, rng: Rng, depth = 0): Uint8Array {
  const fields = scan(input);
  if (fields === undefined) return mutateBytes(input, rng, input);
  const insertAt = rng.pick([0, input.length, ...fields.map((f) => f.start)]);
  if (fields.length === 0 || rng.chance(0.15)) {
    return replace(input, insertAt, insertAt, randomField(rng, rng.pick(FIELD_NUMBERS)));
  }
  const f = rng.pick(fields);
  const whole = input.subarray(f.start, f.end);
  switch (rng.below(6)) {
    case 0: // the field twice (a scalar set twice, a repeated field one item longer)
      return replace(input, insertAt, insertAt, whole.slice());
    case 1: // the field dropped
      return replace(input, f.start, f.end, new Uint8Array(0));
    case 2: { // the field moved to another place
      const without = replace(input, f.start, f.end, new Uint8Array(0));
      const at = rng.below(without.length + 1);
      return replace(without, at, at, whole.slice());
    }
    case 3: { // the same field number with another wire type
      return replace(input, f.start, f.end, randomField(rng, f.no));
    }
    default:
      break;
  }
  const headerEnd = f.wire === LEN ? readVarint(input, f.start)!.next : f.value;
  switch (f.wire) {
    case VARINT: {
      if (rng.chance(0.5)) return replace(input, f.value, f.end, rng.pick(EDGE_VARINTS));
      // The same value plus a power of two: equal to it in 8, 16 or 32 bits (a field truncated
      // somewhere reads it as the original), or one away.
      const current = readVarint(input, f.value)!.value;
      const delta = rng.pick([1n << 8n, 1n << 16n, 1n << 31n, 1n << 32n, 1n << 63n, 1n, -1n]);
      return replace(input, f.value, f.end, varint(current + delta));
    }
    case FIXED64:
      return replace(input, f.value, f.end, rng.pick(EDGE_FIXED64));
    case FIXED32:
      return replace(input, f.value, f.end, rng.pick(EDGE_FIXED32));
    default: {
      const content = input.subarray(f.value, f.end);
      const choice = rng.below(4);
      if (choice === 0 && depth < 4 && scan(content) !== undefined && content.length > 0) {
        // A message inside: mutate it, and give the field its new length.
        const inner = mutateProtobuf(content, rng, depth + 1);
        return replace(input, headerEnd, f.end, concat([varint(inner.length), inner]));
      }
      if (choice === 1) {
        // A wrong length over the same bytes: off by a little, or huge.
        const length = rng.chance(0.5)
          ? Math.max(0, content.length + rng.pick([-2, -1, 1, 2]))
          : rng.pick([0xffffffff, 0x7fffffff, 2 ** 53]);
        return replace(input, headerEnd, f.value, varint(length));
      }
      const next = choice === 2
        ? rng.pick(EDGE_CONTENTS)
        : mutateBytes(content, rng, rng.pick(EDGE_CONTENTS));
      return replace(input, headerEnd, f.end, concat([varint(next.length), next]));
    }
  }
}
