import { assertEquals } from "../../tests/support/assert.ts";
import { type DropReason, OutboundQueue } from "./outbound_queue.ts";
import { PacketClass } from "./packet_class.ts";

function setup(maxPackets: number, maxBytes = 1_000_000) {
  const drops: { sender: bigint; cls: PacketClass; reason: DropReason }[] = [];
  const queue = new OutboundQueue(
    { maxPackets, maxBytes },
    (sender, cls, reason) => drops.push({ sender, cls, reason }),
  );
  const push = (cls: PacketClass, sender = 1n, size = 10) =>
    queue.push(new Uint8Array(size), cls, sender);
  const drain = () => {
    const out: PacketClass[] = [];
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) out.push(p.cls);
    return out;
  };
  return { queue, drops, push, drain };
}

Deno.test("OutboundQueue drops camera deltas before screen, key frames, heartbeats and audio", () => {
  const { drops, push, drain } = setup(5);
  push(PacketClass.AUDIO, 1n);
  push(PacketClass.INFO, 1n);
  push(PacketClass.SCREEN_KEY, 2n);
  push(PacketClass.VIDEO_KEY, 3n);
  push(PacketClass.SCREEN_DELTA, 4n);
  push(PacketClass.VIDEO_DELTA, 5n);
  push(PacketClass.AUDIO, 1n);
  push(PacketClass.AUDIO, 1n);
  assertEquals(drops.map((d) => d.cls), [
    PacketClass.VIDEO_DELTA,
    PacketClass.SCREEN_DELTA,
    PacketClass.VIDEO_KEY,
  ]);
  assertEquals(drain(), [
    PacketClass.AUDIO,
    PacketClass.INFO,
    PacketClass.SCREEN_KEY,
    PacketClass.AUDIO,
    PacketClass.AUDIO,
  ]);
});

Deno.test("OutboundQueue never drops control packets and reports overflow instead", () => {
  const { drops, push } = setup(3);
  push(PacketClass.CONTROL);
  push(PacketClass.CONTROL);
  push(PacketClass.AUDIO);
  assertEquals(push(PacketClass.CONTROL), "queued");
  assertEquals(drops.map((d) => d.cls), [PacketClass.AUDIO]);
  assertEquals(push(PacketClass.CONTROL), "overflow");
});

Deno.test("OutboundQueue drops the oldest delta, then the undecodable rest of that stream until a key frame", () => {
  const { queue, drops, push, drain } = setup(4);
  push(PacketClass.VIDEO_KEY, 7n);
  push(PacketClass.VIDEO_DELTA, 7n);
  push(PacketClass.VIDEO_DELTA, 7n);
  push(PacketClass.VIDEO_DELTA, 8n);
  push(PacketClass.VIDEO_DELTA, 7n); // over the bound: sender 7's oldest delta goes, and its later ones
  assertEquals(drops.map((d) => `${d.sender}:${d.reason}`), [
    "7:queue_full",
    "7:stale_delta",
    "7:stale_delta",
  ]);
  assertEquals(queue.isStale(PacketClass.VIDEO_DELTA, 7n), true);
  assertEquals(
    queue.isStale(PacketClass.SCREEN_DELTA, 7n),
    false,
    "the screen stream is unaffected",
  );
  assertEquals(push(PacketClass.VIDEO_DELTA, 7n), "dropped");
  push(PacketClass.VIDEO_KEY, 7n);
  assertEquals(push(PacketClass.VIDEO_DELTA, 7n), "queued");
  assertEquals(drain(), [
    PacketClass.VIDEO_KEY,
    PacketClass.VIDEO_DELTA,
    PacketClass.VIDEO_KEY,
    PacketClass.VIDEO_DELTA,
  ]);
});

Deno.test("OutboundQueue enforces its byte bound as well as its packet bound", () => {
  const { queue, drops, push } = setup(100, 100);
  push(PacketClass.AUDIO, 1n, 60);
  push(PacketClass.VIDEO_KEY, 2n, 60);
  assertEquals(drops.length, 1);
  assertEquals(queue.bytes, 60);
  assertEquals(queue.length, 1);
});

Deno.test("OutboundQueue stays correct over many pushes and shifts", () => {
  const { queue, push } = setup(64);
  let shifted = 0;
  for (let i = 0; i < 10_000; i++) {
    push(i % 3 === 0 ? PacketClass.AUDIO : PacketClass.INFO);
    if (i % 2 === 0 && queue.shift()) shifted++;
  }
  assertEquals(queue.length <= 64, true);
  let rest = 0;
  while (queue.shift()) rest++;
  assertEquals(queue.length, 0);
  assertEquals(queue.bytes, 0);
  assertEquals(shifted + rest > 5000, true);
});

Deno.test("OutboundQueue drops video that waited too long, and that stream's deltas, but keeps audio", () => {
  const drops: string[] = [];
  const queue = new OutboundQueue(
    { maxPackets: 100, maxBytes: 1_000_000, maxVideoAgeMs: 500 },
    (sender, _cls, reason) => drops.push(`${sender}:${reason}`),
  );
  queue.push(new Uint8Array(1), PacketClass.VIDEO_KEY, 1n, 0);
  queue.push(new Uint8Array(1), PacketClass.AUDIO, 2n, 0);
  queue.push(new Uint8Array(1), PacketClass.VIDEO_DELTA, 1n, 400);
  queue.push(new Uint8Array(1), PacketClass.VIDEO_DELTA, 3n, 400);
  const out: string[] = [];
  for (let p = queue.shift(600); p !== undefined; p = queue.shift(600)) {
    out.push(`${p.sender}:${p.cls}`);
  }
  assertEquals(drops, ["1:too_late", "1:stale_delta"]);
  assertEquals(out, [`2:${PacketClass.AUDIO}`, `3:${PacketClass.VIDEO_DELTA}`]);
});

Deno.test("OutboundQueue takes a stream's deltas again once a key frame went out past the queue", () => {
  const { queue, push } = setup(1);
  push(PacketClass.VIDEO_DELTA, 7n);
  push(PacketClass.VIDEO_DELTA, 7n); // the first is dropped: the stream is broken
  assertEquals(queue.isStale(PacketClass.VIDEO_DELTA, 7n), true);
  queue.noteSent(PacketClass.VIDEO_KEY, 7n); // a key frame written straight to the socket
  assertEquals(queue.isStale(PacketClass.VIDEO_DELTA, 7n), false);
});

Deno.test("OutboundQueue keeps the deltas that follow a newer queued key frame of the same stream", () => {
  const { drops, push, drain } = setup(6);
  push(PacketClass.VIDEO_KEY, 7n);
  push(PacketClass.VIDEO_DELTA, 7n);
  push(PacketClass.VIDEO_KEY, 7n);
  push(PacketClass.VIDEO_DELTA, 7n);
  push(PacketClass.AUDIO, 8n);
  push(PacketClass.AUDIO, 8n);
  push(PacketClass.AUDIO, 8n); // over the bound: the oldest delta goes, the rest of its GOP is fine
  assertEquals(drops.map((d) => d.reason), ["queue_full"]);
  assertEquals(drain(), [
    PacketClass.VIDEO_KEY,
    PacketClass.VIDEO_KEY,
    PacketClass.VIDEO_DELTA,
    PacketClass.AUDIO,
    PacketClass.AUDIO,
    PacketClass.AUDIO,
  ]);
});
