/**
 * A small protobuf engine driven by message tables: {@linkcode message} describes a message's
 * fields (number, name, type; repeated fields capped), {@linkcode makeCodec} turns a description
 * into an encoder and a decoder. Built on protobufjs's low-level reader and writer. Decoding never
 * throws: it returns a typed {@linkcode DecodeError} for anything truncated, mistyped, too deeply
 * nested or with too many items. `codec.ts` holds the wire schema's tables.
 *
 * @example
 * ```ts
 * import { makeCodec, message } from "./message_codec.ts";
 *
 * const point = makeCodec<{ x: number; label: string }>(
 *   message("Point", [[1, "x", "uint32"], [2, "label", "string"]]),
 * );
 * const back = point.decode(point.encode({ x: 7, label: "a" }));
 * if (!back.ok || back.value.x !== 7) throw new Error();
 * ```
 *
 * @module
 */
import protobuf from "protobufjs/minimal.js";

type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

/** Why bytes could not be decoded as the named message. */
export class DecodeError extends Error {
  override name = "DecodeError";
  /** The message type that was being decoded, e.g. `"PacketWrapper"`. */
  readonly messageType: string;

  constructor(messageType: string, message: string, options?: ErrorOptions) {
    super(`Cannot decode ${messageType}: ${message}`, options);
    this.messageType = messageType;
  }
}

/** The outcome of a decode: the message, or why it failed. */
export type DecodeResult<T> =
  | { ok: true; value: T }
  | { ok: false; error: DecodeError };

export type Scalar =
  | "bytes"
  | "string"
  | "bool"
  | "uint32"
  | "enum"
  | "uint64"
  | "int64"
  | "double"
  | "float";

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly type: Scalar | MessageSpec;
  /** A repeated field: decoded into an array of at most this many items. */
  readonly repeated?: number;
}

export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
}

// Protobuf wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

function wireTypeOf(type: Scalar | MessageSpec): number {
  if (typeof type !== "string") return LEN;
  switch (type) {
    case "bytes":
    case "string":
      return LEN;
    case "double":
      return FIXED64;
    case "float":
      return FIXED32;
    default:
      return VARINT;
  }
}

function defaultOf(type: Scalar | MessageSpec): unknown {
  switch (type) {
    case "bytes":
      return new Uint8Array(0);
    case "string":
      return "";
    case "bool":
      return false;
    case "uint64":
    case "int64":
      return 0n;
    case "uint32":
    case "enum":
    case "double":
    case "float":
      return 0;
    default:
      return undefined;
  }
}

export function message(
  name: string,
  fields: [number, string, Scalar | MessageSpec, { repeated: number }?][],
): MessageSpec {
  return {
    name,
    fields: fields.map(([no, fieldName, type, options]) => ({
      no,
      name: fieldName,
      type,
      repeated: options?.repeated,
    })),
  };
}

/** The most items a repeated field may hold (a hostile packet cannot build huge arrays). */
export const MAX_REPEATED_ITEMS = 1024;
/** Options of a repeated field capped at {@linkcode MAX_REPEATED_ITEMS}. */
export const REPEATED = { repeated: MAX_REPEATED_ITEMS };

interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

function longToBigInt(value: number | LongLike, signed: boolean): bigint {
  const unsigned = typeof value === "number"
    ? BigInt(value)
    : (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return signed ? BigInt.asIntN(64, unsigned) : BigInt.asUintN(64, unsigned);
}

// protobufjs's writer takes anything with `low` and `high` 32-bit halves.
function bigIntToLong(value: bigint): protobuf.Long {
  const bits = BigInt.asUintN(64, value);
  const long: LongLike = {
    low: Number(bits & 0xffffffffn) | 0,
    high: Number(bits >> 32n) | 0,
    unsigned: true,
  };
  return long as unknown as protobuf.Long;
}

function isDefault(type: Scalar | MessageSpec, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  switch (type) {
    case "bytes":
      return (value as Uint8Array).length === 0;
    case "string":
      return value === "";
    case "bool":
      return value === false;
    case "uint64":
    case "int64":
      return value === 0n;
    case "uint32":
    case "enum":
      return value === 0;
    // -0 is not the default: a decoded -0 must encode, or it would come back as +0.
    case "double":
    case "float":
      return Object.is(value, 0);
    default:
      return false;
  }
}

function writeMessage(spec: MessageSpec, value: Record<string, unknown>, writer: Writer): void {
  for (const field of spec.fields) {
    const v = value[field.name];
    if (field.repeated !== undefined) {
      writeRepeated(field, v as unknown[] | undefined, writer);
      continue;
    }
    if (isDefault(field.type, v)) continue;
    writer.uint32((field.no << 3) | wireTypeOf(field.type));
    writeValue(field.type, v, writer);
  }
}

function isPackable(type: Scalar | MessageSpec): boolean {
  return typeof type === "string" && type !== "bytes" && type !== "string";
}

// proto3 packs repeated numbers into one length-delimited run; other types repeat the field.
function writeRepeated(field: FieldSpec, items: unknown[] | undefined, writer: Writer): void {
  if (items === undefined || items.length === 0) return;
  if (isPackable(field.type)) {
    writer.uint32((field.no << 3) | LEN);
    writer.fork();
    for (const item of items) writeValue(field.type, item, writer);
    writer.ldelim();
    return;
  }
  for (const item of items) {
    writer.uint32((field.no << 3) | wireTypeOf(field.type));
    writeValue(field.type, item, writer);
  }
}

function writeValue(type: Scalar | MessageSpec, v: unknown, writer: Writer): void {
  switch (type) {
    case "bytes":
      writer.bytes(v as Uint8Array);
      break;
    case "string":
      writer.string(v as string);
      break;
    case "bool":
      writer.bool(v as boolean);
      break;
    case "uint32":
      writer.uint32(v as number);
      break;
    case "enum":
      writer.int32(v as number);
      break;
    case "uint64":
      writer.uint64(bigIntToLong(v as bigint));
      break;
    case "int64":
      writer.int64(bigIntToLong(v as bigint));
      break;
    case "double":
      writer.double(v as number);
      break;
    case "float":
      writer.float(v as number);
      break;
    default:
      writer.fork();
      writeMessage(type, v as Record<string, unknown>, writer);
      writer.ldelim();
  }
}

function readField(type: Scalar | MessageSpec, reader: Reader, depth: number): unknown {
  switch (type) {
    case "bytes":
      return reader.bytes();
    case "string":
      return reader.string();
    case "bool":
      return reader.bool();
    case "uint32":
      return reader.uint32();
    case "enum":
      return reader.int32();
    case "uint64":
      return longToBigInt(reader.uint64() as number | LongLike, false);
    case "int64":
      return longToBigInt(reader.int64() as number | LongLike, true);
    case "double":
      return reader.double();
    case "float":
      return reader.float();
    default: {
      const length = reader.uint32();
      return readMessage(type, reader, reader.pos + length, depth + 1);
    }
  }
}

// Our schema nests one level deep; anything deeper is hostile.
const MAX_DEPTH = 4;

function readMessage(
  spec: MessageSpec,
  reader: Reader,
  end: number,
  depth: number,
): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new Error("messages are nested too deeply");
  if (end > reader.len) throw new Error("a nested message runs past the end of its parent");
  const out: Record<string, unknown> = {};
  for (const field of spec.fields) {
    out[field.name] = field.repeated !== undefined ? [] : defaultOf(field.type);
  }
  while (reader.pos < end) {
    const tag = reader.uint32();
    const no = tag >>> 3;
    const wireType = tag & 7;
    if (no === 0) throw new Error("field number 0 is invalid");
    const field = spec.fields.find((f) => f.no === no);
    if (field === undefined) {
      reader.skipType(wireType);
      continue;
    }
    const expected = wireTypeOf(field.type);
    if (field.repeated !== undefined) {
      const items = out[field.name] as unknown[];
      const push = (item: unknown) => {
        if (items.length >= field.repeated!) {
          throw new Error(`field "${field.name}" has more than ${field.repeated} items`);
        }
        items.push(item);
      };
      if (wireType === LEN && isPackable(field.type)) {
        const runEnd = reader.uint32() + reader.pos;
        if (runEnd > end) throw new Error(`field "${field.name}" runs past the end of its message`);
        while (reader.pos < runEnd) push(readField(field.type, reader, depth));
        if (reader.pos !== runEnd) throw new Error(`field "${field.name}" ends mid-value`);
        continue;
      }
      if (wireType !== expected) {
        throw new Error(`field "${field.name}" has wire type ${wireType}, expected ${expected}`);
      }
      push(readField(field.type, reader, depth));
      continue;
    }
    if (wireType !== expected) {
      throw new Error(`field "${field.name}" has wire type ${wireType}, expected ${expected}`);
    }
    out[field.name] = readField(field.type, reader, depth);
  }
  if (reader.pos !== end) throw new Error("the last field runs past the end of the message");
  return out;
}

/**
 * A plain `Uint8Array` view of `bytes`, without copying. Under Deno (and Node) protobufjs writes
 * Node `Buffer`s and reads a `Buffer` input into `Buffer` fields, whose `slice()` shares memory
 * where a `Uint8Array`'s copies; the npm `ws` client also delivers `Buffer`s. Every platform gets
 * the same type from this codec, in and out.
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function makeCodec<T>(spec: MessageSpec): {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): DecodeResult<T>;
} {
  return {
    encode(value: T): Uint8Array {
      const writer = protobuf.Writer.create();
      writeMessage(spec, value as Record<string, unknown>, writer);
      return plainBytes(writer.finish());
    },
    decode(bytes: Uint8Array): DecodeResult<T> {
      try {
        const reader = protobuf.Reader.create(plainBytes(bytes));
        return { ok: true, value: readMessage(spec, reader, bytes.length, 0) as T };
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        return { ok: false, error: new DecodeError(spec.name, reason, { cause }) };
      }
    },
  };
}
