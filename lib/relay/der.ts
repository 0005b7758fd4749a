/**
 * A tiny ASN.1 DER encoder and reader: just what a self-signed X.509 certificate needs. The
 * encoder builds elements bottom-up as byte arrays; the reader walks a buffer one element at a
 * time, checks every length against the bytes present and throws {@linkcode DerError} on
 * anything that is not strict DER.
 *
 * @example
 * ```ts
 * import { decodeChildren, decodeElement, encodeInteger, encodeSequence } from "./der.ts";
 *
 * const der = encodeSequence(encodeInteger(1n), encodeInteger(256n));
 * const items = decodeChildren(decodeElement(der));
 * if (items.length !== 2 || items[1].content.length !== 2) throw new Error("unexpected");
 * ```
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";

/** Universal and context-specific tag bytes used by X.509. */
export const DER_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Bad or unsupported DER input. */
export class DerError extends Error {
  /** @param message What was wrong, and where. */
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

const textEncoder = new TextEncoder();

function encodeLength(length: number): Uint8Array<ArrayBuffer> {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/**
 * One element: tag byte, DER length, content.
 *
 * @example
 * ```ts
 * import { encodeTlv } from "./der.ts";
 *
 * const tlv = encodeTlv(0x04, new Uint8Array(200));
 * if (tlv[1] !== 0x81 || tlv[2] !== 200 || tlv.length !== 203) throw new Error("bad length");
 * ```
 */
export function encodeTlv(tag: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes([Uint8Array.of(tag), encodeLength(content.length), content]);
}

/**
 * A SEQUENCE of already encoded elements.
 *
 * @example
 * ```ts
 * import { encodeNull, encodeSequence } from "./der.ts";
 *
 * if (encodeSequence(encodeNull()).join() !== "48,2,5,0") throw new Error("bad sequence");
 * ```
 */
export function encodeSequence(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.SEQUENCE, concatBytes(items));
}

/**
 * A SET of already encoded elements. DER sorts a SET OF; callers here pass a single element.
 *
 * @example
 * ```ts
 * import { encodeNull, encodeSet } from "./der.ts";
 *
 * if (encodeSet(encodeNull()).join() !== "49,2,5,0") throw new Error("bad set");
 * ```
 */
export function encodeSet(...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.SET, concatBytes(items));
}

/**
 * An INTEGER in minimal two's complement.
 *
 * @example
 * ```ts
 * import { encodeInteger } from "./der.ts";
 *
 * if (encodeInteger(128n).join() !== "2,2,0,128") throw new Error("missing sign byte");
 * if (encodeInteger(-1n).join() !== "2,1,255") throw new Error("bad negative");
 * ```
 */
export function encodeInteger(value: bigint): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  let rest = value;
  // Emit low bytes until the remainder is pure sign extension of the last byte emitted.
  while (true) {
    const byte = Number(BigInt.asUintN(8, rest));
    bytes.unshift(byte);
    rest >>= 8n;
    if ((rest === 0n && byte < 0x80) || (rest === -1n && byte >= 0x80)) break;
  }
  return encodeTlv(DER_TAG.INTEGER, Uint8Array.from(bytes));
}

/**
 * A non-negative INTEGER from big-endian magnitude bytes: leading zero bytes are dropped and a
 * zero byte is added when the top bit is set, so the value stays positive.
 *
 * @example
 * ```ts
 * import { encodeUnsignedInteger } from "./der.ts";
 *
 * const der = encodeUnsignedInteger(Uint8Array.of(0, 0, 0xff));
 * if (der.join() !== "2,2,0,255") throw new Error(der.join());
 * ```
 */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.length === 0 ? Uint8Array.of(0) : magnitude.subarray(start);
  const content = trimmed[0] >= 0x80 ? concatBytes([Uint8Array.of(0), trimmed]) : trimmed;
  return encodeTlv(DER_TAG.INTEGER, content);
}

/**
 * An OBJECT IDENTIFIER from its dotted form.
 *
 * @example
 * ```ts
 * import { encodeOid } from "./der.ts";
 *
 * // ecdsa-with-SHA256
 * const der = encodeOid("1.2.840.10045.4.3.2");
 * if (der.join() !== "6,8,42,134,72,206,61,4,3,2") throw new Error(der.join());
 * ```
 */
export function encodeOid(dotted: string): Uint8Array<ArrayBuffer> {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) {
    throw new DerError(`Cannot encode object identifier "${dotted}"`);
  }
  const arcs = dotted.split(".").map(BigInt);
  if (arcs[0] < 2n && arcs[1] > 39n) {
    throw new DerError(`Cannot encode object identifier "${dotted}": second arc too large`);
  }
  const out: number[] = [];
  for (const arc of [arcs[0] * 40n + arcs[1], ...arcs.slice(2)]) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...group);
  }
  return encodeTlv(DER_TAG.OID, Uint8Array.from(out));
}

/**
 * A BIT STRING. Keys and signatures fill whole bytes; a named bit list (such as keyUsage) sets
 * `unusedBits` to the count of trailing zero bits DER leaves out of the last byte.
 *
 * @example
 * ```ts
 * import { encodeBitString } from "./der.ts";
 *
 * if (encodeBitString(Uint8Array.of(7)).join() !== "3,2,0,7") throw new Error("bad bit string");
 * // keyUsage digitalSignature: only bit 0 set, 7 unused bits.
 * if (encodeBitString(Uint8Array.of(0x80), 7).join() !== "3,2,7,128") throw new Error("bad");
 * ```
 */
export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw new DerError(`Cannot encode a bit string with ${unusedBits} unused bits`);
  }
  if (
    unusedBits > 0 && (bytes.length === 0 || (bytes[bytes.length - 1] & ((1 << unusedBits) - 1)))
  ) {
    throw new DerError(`Cannot encode a bit string whose unused bits are not zero`);
  }
  return encodeTlv(DER_TAG.BIT_STRING, concatBytes([Uint8Array.of(unusedBits), bytes]));
}

/**
 * An OCTET STRING.
 *
 * @example
 * ```ts
 * import { encodeOctetString } from "./der.ts";
 *
 * if (encodeOctetString(Uint8Array.of(1, 2)).join() !== "4,2,1,2") throw new Error("bad");
 * ```
 */
export function encodeOctetString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.OCTET_STRING, bytes);
}

/**
 * A UTF8String.
 *
 * @example
 * ```ts
 * import { encodeUtf8String } from "./der.ts";
 *
 * if (encodeUtf8String("é").join() !== "12,2,195,169") throw new Error("bad string");
 * ```
 */
export function encodeUtf8String(text: string): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.UTF8_STRING, textEncoder.encode(text));
}

/**
 * A BOOLEAN (DER writes true as 0xff).
 *
 * @example
 * ```ts
 * import { encodeBoolean } from "./der.ts";
 *
 * if (encodeBoolean(true).join() !== "1,1,255") throw new Error("bad boolean");
 * ```
 */
export function encodeBoolean(value: boolean): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0));
}

/**
 * A NULL.
 *
 * @example
 * ```ts
 * import { encodeNull } from "./der.ts";
 *
 * if (encodeNull().join() !== "5,0") throw new Error("bad null");
 * ```
 */
export function encodeNull(): Uint8Array<ArrayBuffer> {
  return encodeTlv(DER_TAG.NULL, new Uint8Array(0));
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * A time as X.509 wants it (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` for the years 1950 to
 * 2049, GeneralizedTime `YYYYMMDDHHMMSSZ` otherwise. Milliseconds are dropped.
 *
 * @example
 * ```ts
 * import { encodeTime } from "./der.ts";
 *
 * const utc = new TextDecoder().decode(encodeTime(new Date("2030-01-02T03:04:05.678Z")));
 * if (utc.slice(2) !== "300102030405Z") throw new Error(utc);
 * const generalized = encodeTime(new Date("2050-01-01T00:00:00Z"));
 * if (generalized[0] !== 0x18) throw new Error("expected GeneralizedTime");
 * ```
 */
export function encodeTime(date: Date): Uint8Array<ArrayBuffer> {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 0 || year > 9999) {
    throw new DerError(`Cannot encode time "${String(date)}"`);
  }
  const rest = pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) + pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + "Z";
  if (year >= 1950 && year < 2050) {
    return encodeTlv(DER_TAG.UTC_TIME, textEncoder.encode(pad(year % 100, 2) + rest));
  }
  return encodeTlv(DER_TAG.GENERALIZED_TIME, textEncoder.encode(pad(year, 4) + rest));
}

/**
 * An EXPLICIT context-specific tag `[n]` wrapping one encoded element.
 *
 * @example
 * ```ts
 * import { encodeExplicit, encodeInteger } from "./der.ts";
 *
 * // The X.509 version field: [0] EXPLICIT INTEGER 2.
 * if (encodeExplicit(0, encodeInteger(2n)).join() !== "160,3,2,1,2") throw new Error("bad tag");
 * ```
 */
export function encodeExplicit(tagNumber: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(0xa0 | checkTagNumber(tagNumber), inner);
}

/**
 * An IMPLICIT context-specific tag `[n]` replacing the tag of primitive content.
 *
 * @example
 * ```ts
 * import { encodeImplicit } from "./der.ts";
 *
 * // A dNSName in subjectAltName: [2] IMPLICIT IA5String.
 * const name = encodeImplicit(2, new TextEncoder().encode("a"));
 * if (name.join() !== "130,1,97") throw new Error(name.join());
 * ```
 */
export function encodeImplicit(tagNumber: number, content: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(0x80 | checkTagNumber(tagNumber), content);
}

function checkTagNumber(tagNumber: number): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) {
    throw new DerError(`Cannot encode context tag number "${tagNumber}"`);
  }
  return tagNumber;
}

/** One decoded element: its tag, where it lies in the buffer, and a view of its content. */
export interface DerElement {
  /** The identifier byte (class, constructed bit and tag number). */
  tag: number;
  /** Offset of the identifier byte in the buffer. */
  start: number;
  /** Offset just past the element's last content byte. */
  end: number;
  /** The content bytes (a view into the buffer, not a copy). */
  content: Uint8Array;
  /** The whole element, identifier and length included (a view). */
  bytes: Uint8Array;
}

/**
 * Decodes the element that starts at `offset`. Throws {@linkcode DerError} when the buffer is
 * too short, the length is indefinite or not minimal, or the tag uses the multi-byte form.
 *
 * @example
 * ```ts
 * import { decodeElement, DerError } from "./der.ts";
 *
 * const element = decodeElement(Uint8Array.of(0x04, 0x02, 0xaa, 0xbb));
 * if (element.end !== 4 || element.content[1] !== 0xbb) throw new Error("bad element");
 * try {
 *   decodeElement(Uint8Array.of(0x04, 0x05, 0xaa));
 *   throw new Error("should have failed");
 * } catch (error) {
 *   if (!(error instanceof DerError)) throw error;
 * }
 * ```
 */
export function decodeElement(buffer: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > buffer.length) throw new DerError(`Truncated element at offset ${offset}`);
  const tag = buffer[offset];
  if ((tag & 0x1f) === 0x1f) {
    throw new DerError(`Unsupported multi-byte tag at offset ${offset}`);
  }
  const first = buffer[offset + 1];
  let length: number;
  let at = offset + 2;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`Indefinite length at offset ${offset}`);
    if (count > 4) throw new DerError(`Length too large at offset ${offset}`);
    if (at + count > buffer.length) throw new DerError(`Truncated length at offset ${offset}`);
    if (buffer[at] === 0) throw new DerError(`Non-minimal length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[at + i];
    if (length < 0x80) throw new DerError(`Non-minimal length at offset ${offset}`);
    at += count;
  }
  if (length > buffer.length - at) {
    throw new DerError(`Element at offset ${offset} claims ${length} bytes, past the end`);
  }
  const end = at + length;
  return {
    tag,
    start: offset,
    end,
    content: buffer.subarray(at, end),
    bytes: buffer.subarray(offset, end),
  };
}

/**
 * Decodes the elements inside a constructed element (a SEQUENCE, SET or EXPLICIT tag), which
 * must fill its content exactly.
 *
 * @example
 * ```ts
 * import { decodeChildren, decodeElement, encodeBoolean, encodeSequence } from "./der.ts";
 *
 * const children = decodeChildren(decodeElement(encodeSequence(encodeBoolean(true))));
 * if (children.length !== 1 || children[0].tag !== 0x01) throw new Error("bad children");
 * ```
 */
export function decodeChildren(element: DerElement): DerElement[] {
  if ((element.tag & 0x20) === 0) {
    throw new DerError(`Element at offset ${element.start} is not constructed`);
  }
  const children: DerElement[] = [];
  for (let at = 0; at < element.content.length;) {
    const child = decodeElement(element.content, at);
    children.push(child);
    at = child.end;
  }
  return children;
}

/**
 * Decodes a UTCTime or GeneralizedTime in the strict form RFC 5280 requires (`Z`, seconds, no
 * fraction), rejecting impossible dates such as February 30.
 *
 * @example
 * ```ts
 * import { decodeElement, decodeTime, encodeTime } from "./der.ts";
 *
 * const date = new Date("2031-05-06T07:08:09Z");
 * if (decodeTime(decodeElement(encodeTime(date))).getTime() !== date.getTime()) {
 *   throw new Error("round trip failed");
 * }
 * ```
 */
export function decodeTime(element: DerElement): Date {
  // The longest valid form, GeneralizedTime, has 15 characters; refuse more before decoding.
  if (element.content.length > 15) {
    throw new DerError(`Time at offset ${element.start} is too long`);
  }
  const text = String.fromCharCode(...element.content);
  let match: RegExpMatchArray | null;
  let year: number;
  if (element.tag === DER_TAG.UTC_TIME) {
    match = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!match) throw new DerError(`Cannot parse UTCTime "${text}"`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (element.tag === DER_TAG.GENERALIZED_TIME) {
    match = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!match) throw new DerError(`Cannot parse GeneralizedTime "${text}"`);
    year = Number(match[1]);
  } else {
    throw new DerError(`Expected a time at offset ${element.start}, found tag ${element.tag}`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // Date rolls over out-of-range fields; a valid time survives the round trip unchanged.
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) {
    throw new DerError(`Impossible time "${text}"`);
  }
  return date;
}
