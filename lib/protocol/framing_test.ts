import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { encodeFrame, FrameReader, FrameTooLargeError } from "./framing.ts";

Deno.test("FrameReader reads a 1 MB frame sent 16 bytes at a time (work linear in the bytes, not one copy of everything held per chunk)", () => {
  // Each chunk used to copy every byte held so far: 16-byte chunks of one 4 MB frame took
  // about ten minutes. Now a byte is copied a bounded number of times.
  const payload = Uint8Array.from({ length: 1 << 20 }, (_, i) => i & 0xff);
  const stream = encodeFrame(payload);
  const reader = new FrameReader(4_000_000);
  const packets: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += 16) {
    packets.push(...reader.push(stream.subarray(at, at + 16)));
  }
  assertEquals(packets.length, 1);
  assertEquals(packets[0], payload);
  assertEquals(reader.pendingBytes, 0);
});

Deno.test("FrameReader refuses a length over its limit once the header is whole, before any body", () => {
  const reader = new FrameReader(100);
  assertEquals(reader.push(Uint8Array.of(0, 0)), []);
  const error = assertThrows(() => reader.push(Uint8Array.of(0, 101)));
  assert(error instanceof FrameTooLargeError);
  assertEquals(error.length, 101);
});

Deno.test("FrameReader keeps its own copy: a caller that reuses its chunk does not change a packet", () => {
  const reader = new FrameReader(100);
  const chunk = Uint8Array.of(0, 0, 0, 3, 7, 8);
  assertEquals(reader.push(chunk), []);
  chunk.fill(0xee);
  assertEquals(reader.push(Uint8Array.of(9, 0, 0, 0)), [Uint8Array.of(7, 8, 9)]);
  assertEquals(reader.pendingBytes, 3);
  assertEquals(reader.push(new Uint8Array(0)), []);
});

Deno.test("FrameReader reads empty packets, and frames whose header is split over chunks", () => {
  const stream = Uint8Array.from([
    ...encodeFrame(new Uint8Array(0)),
    ...encodeFrame(Uint8Array.of(1, 2, 3)),
    ...encodeFrame(new Uint8Array(0)),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new FrameReader(10);
    const packets = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assertEquals(packets, [new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array(0)]);
    assertEquals(reader.pendingBytes, 0);
  }
});
