import { assertEquals } from "../../tests/support/assert.ts";
import { JitterBuffer } from "./jitter_buffer.ts";

const f = (sequence: number, key = false) => ({ sequence, key });
const seqs = (frames: { sequence: number }[]) => frames.map((x) => x.sequence);

Deno.test("deltas before the first key frame are discarded and a key frame is wanted", () => {
  const jb = new JitterBuffer();
  assertEquals(jb.keyframeNeeded, true);
  assertEquals(seqs(jb.push(f(5), 0)), []);
  assertEquals(seqs(jb.push(f(6, true), 1)), [6]);
  assertEquals(jb.keyframeNeeded, false);
  assertEquals(seqs(jb.push(f(7), 2)), [7]);
  assertEquals(jb.stats.discarded, 1);
});

Deno.test("frames that overtake each other are released in order", () => {
  const jb = new JitterBuffer();
  jb.push(f(1, true), 0);
  assertEquals(seqs(jb.push(f(4), 1)), []);
  assertEquals(seqs(jb.push(f(3), 2)), []);
  assertEquals(seqs(jb.push(f(2), 3)), [2, 3, 4]);
  assertEquals(jb.stats.reordered, 1);
  assertEquals(jb.stats.lost, 0);
});

Deno.test("duplicates and frames older than the released ones are dropped as late", () => {
  const jb = new JitterBuffer();
  jb.push(f(1, true), 0);
  jb.push(f(2), 1);
  assertEquals(seqs(jb.push(f(2), 2)), []);
  assertEquals(seqs(jb.push(f(1, true), 3)), []);
  assertEquals(jb.stats.late, 2);
});

Deno.test("a gap that outlives the wait jumps to a buffered key frame", () => {
  const jb = new JitterBuffer({ maxWaitMs: 50 });
  jb.push(f(1, true), 0);
  jb.push(f(3), 10); // 2 lost
  jb.push(f(4, true), 20);
  jb.push(f(5), 30);
  assertEquals(seqs(jb.poll(40)), []);
  assertEquals(seqs(jb.poll(61)), [4, 5]);
  assertEquals(jb.stats.lost, 1);
  assertEquals(jb.stats.discarded, 1); // frame 3 cannot be decoded without 2
  assertEquals(jb.keyframeNeeded, false);
});

Deno.test("a gap with no key frame behind it drops the deltas and asks for a key frame", () => {
  const jb = new JitterBuffer({ maxWaitMs: 50 });
  jb.push(f(10, true), 0);
  jb.push(f(12), 5);
  jb.push(f(13), 6);
  assertEquals(seqs(jb.poll(100)), []);
  assertEquals(jb.keyframeNeeded, true);
  assertEquals(jb.stats.lost, 1);
  assertEquals(seqs(jb.push(f(14), 101)), []);
  assertEquals(seqs(jb.push(f(20, true), 102)), [20]);
});

Deno.test("too many frames held back end the wait at once", () => {
  const jb = new JitterBuffer({ maxWaitMs: 10_000, maxFrames: 3 });
  jb.push(f(1, true), 0);
  jb.push(f(3, true), 1);
  jb.push(f(4), 2);
  assertEquals(seqs(jb.push(f(5), 3)), [3, 4, 5]);
  assertEquals(jb.size, 0);
});

Deno.test("reset waits for a new key frame", () => {
  const jb = new JitterBuffer();
  jb.push(f(1, true), 0);
  jb.push(f(3), 1);
  jb.reset();
  assertEquals(jb.keyframeNeeded, true);
  assertEquals(seqs(jb.push(f(2), 2)), []);
  assertEquals(seqs(jb.push(f(9, true), 3)), [9]);
});
