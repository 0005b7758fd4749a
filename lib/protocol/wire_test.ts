import { assert, assertEquals } from "../../tests/support/assert.ts";
import { decodePacketWrapper, encodePacketWrapper } from "./codec.ts";
import { MediaKind, PacketType } from "./packets.ts";
import { encodeIdentity, encodeStampedPacket, varintLength, writeVarint } from "./wire.ts";

const enc = new TextEncoder();

Deno.test("encodeStampedPacket() writes the same bytes as the generic encoder", () => {
  for (const sessionId of [1n, 127n, 128n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
    for (const size of [0, 1, 127, 128, 300, 70_000]) {
      const layer = size % 3;
      const packet = {
        packetType: PacketType.MEDIA,
        userId: enc.encode("alice"),
        data: new Uint8Array(size).fill(7),
        sessionId,
        simulcastLayerId: layer,
        mediaKind: layer === 0 ? MediaKind.UNSPECIFIED : MediaKind.VIDEO,
        audioLevel: layer === 2 ? 0 : 90 + layer,
      };
      const fast = encodeStampedPacket(
        0,
        packet.packetType,
        encodeIdentity("alice", sessionId),
        packet.data,
        { layer: packet.simulcastLayerId, kind: packet.mediaKind, audioLevel: packet.audioLevel },
      );
      const generic = encodePacketWrapper(packet);
      const a = decodePacketWrapper(fast);
      assert(a.ok);
      assertEquals(a.value, packet);
      assertEquals(fast.length, generic.length);
    }
  }
});

Deno.test("encodeStampedPacket() leaves the requested prefix free", () => {
  const bytes = encodeStampedPacket(
    18,
    PacketType.AES_KEY,
    encodeIdentity("bob", 9n),
    new Uint8Array([1]),
  );
  assertEquals([...bytes.subarray(0, 18)], new Array(18).fill(0));
  const decoded = decodePacketWrapper(bytes.subarray(18));
  assert(decoded.ok);
  assertEquals(decoded.value.sessionId, 9n);
});

Deno.test("writeVarint() and varintLength() agree for 32-bit and 64-bit values", () => {
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2n ** 63n, 2n ** 64n - 1n]) {
    const buf = new Uint8Array(10);
    assertEquals(writeVarint(buf, 0, v), varintLength(v), `value ${v}`);
  }
});
