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

Deno.test("a key frame after a gap is decoded at once; the deltas before it are dropped", () => {
  const jb = new JitterBuffer({ maxWaitMs: 50 });
  jb.push(f(1, true), 0);
  assertEquals(seqs(jb.push(f(3), 10)), []); // 2 missing: held
  assertEquals(seqs(jb.push(f(4, true), 20)), [4]);
  assertEquals(seqs(jb.push(f(5), 30)), [5]);
  assertEquals(seqs(jb.push(f(2), 31)), []); // too late now
  assertEquals(jb.stats.lost, 1);
  assertEquals(jb.stats.discarded, 1); // frame 3 cannot be decoded without 2
  assertEquals(jb.keyframeNeeded, false);
});

Deno.test("a gap that outlives the wait jumps to a key frame held behind it", () => {
  const jb = new JitterBuffer({ maxWaitMs: 50 });
  jb.push(f(1, true), 0);
  jb.push(f(3), 10); // 2 lost
  jb.push(f(5), 11); // 4 missing too
  jb.push(f(4, true), 12); // key after a gap: out at once, with 5 behind it
  assertEquals(jb.stats.released, 3);
  assertEquals(jb.size, 0);
});

Deno.test("a key frame far behind the expected sequence means the sender started over", () => {
  const jb = new JitterBuffer();
  jb.push(f(500, true), 0);
  jb.push(f(501), 1);
  assertEquals(seqs(jb.push(f(0, true), 2)), [0]);
  assertEquals(seqs(jb.push(f(1), 3)), [1]);
  const other = new JitterBuffer();
  other.push(f(500, true), 0);
  other.push(f(501), 1);
  assertEquals(seqs(other.push(f(480, true), 2)), []); // a little behind: late, not a restart
  assertEquals(other.stats.late, 1);
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
  jb.push(f(3), 1);
  jb.push(f(4), 2);
  assertEquals(seqs(jb.push(f(5), 3)), []);
  assertEquals(jb.size, 0);
  assertEquals(jb.keyframeNeeded, true);
  assertEquals(jb.stats.lost, 1);
  assertEquals(jb.stats.discarded, 3);
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
