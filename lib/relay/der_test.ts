import { assert, assertEquals } from "../../tests/support/assert.ts";
import {
  decodeChildren,
  decodeElement,
  decodeTime,
  DER_TAG,
  DerError,
  encodeBitString,
  encodeExplicit,
  encodeInteger,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
} from "./der.ts";

function throwsDerError(fn: () => unknown): boolean {
  try {
    fn();
  } catch (error) {
    if (error instanceof DerError) return true;
    throw error;
  }
  return false;
}

Deno.test("encodeInteger() writes minimal two's complement, with a sign byte only when needed", () => {
  const cases: [bigint, number[]][] = [
    [0n, [0]],
    [127n, [0x7f]],
    [128n, [0, 0x80]],
    [256n, [1, 0]],
    [-128n, [0x80]],
    [-129n, [0xff, 0x7f]],
    [2n ** 64n, [1, 0, 0, 0, 0, 0, 0, 0, 0]],
  ];
  for (const [value, content] of cases) {
    assertEquals([...encodeInteger(value)], [2, content.length, ...content], String(value));
  }
});

Deno.test("encodeUnsignedInteger() strips leading zeros and keeps the value positive", () => {
  assertEquals([...encodeUnsignedInteger(Uint8Array.of(0, 0, 0, 1))], [2, 1, 1]);
  assertEquals([...encodeUnsignedInteger(Uint8Array.of(0, 0x80))], [2, 2, 0, 0x80]);
  assertEquals([...encodeUnsignedInteger(Uint8Array.of(0xff, 1))], [2, 3, 0, 0xff, 1]);
  assertEquals([...encodeUnsignedInteger(Uint8Array.of(0, 0, 0))], [2, 1, 0]);
  assertEquals([...encodeUnsignedInteger(new Uint8Array(0))], [2, 1, 0]);
});

Deno.test("encodeTlv() uses short, one-byte and two-byte lengths at their boundaries", () => {
  const header = (n: number) => [...encodeTlv(4, new Uint8Array(n)).subarray(0, 4)];
  assertEquals(header(127).slice(0, 2), [4, 127]);
  assertEquals(header(128).slice(0, 3), [4, 0x81, 128]);
  assertEquals(header(255).slice(0, 3), [4, 0x81, 255]);
  assertEquals(header(256), [4, 0x82, 1, 0]);
  assertEquals(header(70000).slice(0, 2), [4, 0x83]);
});

Deno.test("encodeOid() encodes multi-byte arcs and refuses malformed identifiers", () => {
  // 2.5.29.17 (subjectAltName) and an arc above 2^32.
  assertEquals([...encodeOid("2.5.29.17")], [6, 3, 0x55, 0x1d, 0x11]);
  assertEquals([...encodeOid("1.2.840.113549")], [6, 6, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]);
  assertEquals([...encodeOid("2.999.4294967296")].slice(2), [
    0x88,
    0x37,
    0x90,
    0x80,
    0x80,
    0x80,
    0,
  ]);
  for (const bad of ["", "1", "3.1", "1.40", "1.2.", "1..2", "1.02", "a.b", "1.2.-3"]) {
    assert(throwsDerError(() => encodeOid(bad)), `accepted "${bad}"`);
  }
});

Deno.test("encodeBitString() refuses unused bits that are out of range or not zero", () => {
  assert(throwsDerError(() => encodeBitString(Uint8Array.of(0x81), 7)));
  assert(throwsDerError(() => encodeBitString(Uint8Array.of(0x80), 8)));
  assert(throwsDerError(() => encodeBitString(new Uint8Array(0), 1)));
});

Deno.test("encodeTime() switches from UTCTime to GeneralizedTime at 2050, and decodeTime() reads both", () => {
  const cases: [string, number, string][] = [
    ["1950-01-01T00:00:00Z", DER_TAG.UTC_TIME, "500101000000Z"],
    ["2049-12-31T23:59:59Z", DER_TAG.UTC_TIME, "491231235959Z"],
    ["2050-01-01T00:00:00Z", DER_TAG.GENERALIZED_TIME, "20500101000000Z"],
    ["1949-12-31T23:59:59Z", DER_TAG.GENERALIZED_TIME, "19491231235959Z"],
    ["0050-06-01T00:00:00Z", DER_TAG.GENERALIZED_TIME, "00500601000000Z"],
  ];
  for (const [iso, tag, text] of cases) {
    const der = encodeTime(new Date(iso));
    assertEquals(der[0], tag, iso);
    assertEquals(new TextDecoder().decode(der.subarray(2)), text);
    assertEquals(decodeTime(decodeElement(der)).toISOString(), new Date(iso).toISOString());
  }
  assert(throwsDerError(() => encodeTime(new Date(NaN))));
});

Deno.test("decodeTime() refuses times that are not strict RFC 5280 or do not exist", () => {
  const bad: [number, string][] = [
    [DER_TAG.UTC_TIME, "3002300000Z"], // minutes missing
    [DER_TAG.UTC_TIME, "300230000000Z"], // February 30
    [DER_TAG.UTC_TIME, "301301000000Z"], // month 13
    [DER_TAG.UTC_TIME, "300101246000Z"], // 24:60
    [DER_TAG.UTC_TIME, "300101000000+0100"], // offset instead of Z
    [DER_TAG.GENERALIZED_TIME, "20300101000000.5Z"], // fraction
    [DER_TAG.GENERALIZED_TIME, "2030010100000０Z"], // non-ASCII digit
    [DER_TAG.OCTET_STRING, "300101000000Z"], // not a time at all
    [DER_TAG.UTC_TIME, "9".repeat(100_000)],
  ];
  for (const [tag, text] of bad) {
    const element = decodeElement(encodeTlv(tag, new TextEncoder().encode(text)));
    assert(throwsDerError(() => decodeTime(element)), `accepted "${text.slice(0, 20)}"`);
  }
});

Deno.test("decodeElement() refuses truncated, indefinite, non-minimal and oversized lengths", () => {
  const bad = [
    [],
    [0x30],
    [0x30, 0x80, 0, 0], // indefinite
    [0x30, 0x81, 0x05, 0, 0, 0, 0, 0], // long form for a short length
    [0x30, 0x82, 0x00, 0x80], // leading zero length byte
    [0x30, 0x85, 1, 0, 0, 0, 0], // five length bytes
    [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0], // claims 4 GiB
    [0x30, 0x03, 0, 0], // content shorter than claimed
    [0x1f, 0x01, 0], // multi-byte tag
  ];
  for (const bytes of bad) {
    assert(throwsDerError(() => decodeElement(Uint8Array.from(bytes))), `accepted ${bytes}`);
  }
});

Deno.test("decodeChildren() walks nested elements and refuses a primitive or overrunning child", () => {
  const inner = encodeOctetString(Uint8Array.of(1, 2, 3));
  const der = encodeSequence(encodeExplicit(0, encodeInteger(2n)), inner);
  const [version, octets] = decodeChildren(decodeElement(der));
  assertEquals(version.tag, 0xa0);
  assertEquals([...decodeChildren(version)[0].content], [2]);
  assertEquals([...octets.content], [1, 2, 3]);
  assert(throwsDerError(() => decodeChildren(octets)));
  // A SEQUENCE whose only child claims more bytes than the SEQUENCE holds.
  assert(throwsDerError(() => decodeChildren(decodeElement(Uint8Array.of(0x30, 2, 0x04, 5)))));
});

Deno.test("decodeElement() and decodeChildren() throw only DerError on random bytes", () => {
  for (let i = 0; i < 5000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 64)));
    bytes[0] = i % 2 === 0 ? 0x30 : bytes[0];
    try {
      const element = decodeElement(bytes);
      if (element.tag & 0x20) decodeChildren(element);
    } catch (error) {
      assert(error instanceof DerError, String(error));
    }
  }
});
