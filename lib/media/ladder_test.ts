import { assertEquals } from "../../tests/support/assert.ts";
import { QualityLadder, scaledSize } from "./ladder.ts";

Deno.test("a capture between two rungs starts at its own height with a bitrate in between", () => {
  const ladder = new QualityLadder({ captureHeight: 480 });
  assertEquals(ladder.current.height, 480);
  assertEquals(ladder.current.bitrate, 800_000); // 450 kbps * (480/360)^2, capped by the 540 rung
  ladder.congested(0);
  assertEquals(ladder.current.height, 360);
});

Deno.test("a capture above the top rung starts at the top; below the bottom at the bottom", () => {
  assertEquals(new QualityLadder({ captureHeight: 1080 }).current.height, 720);
  assertEquals(new QualityLadder({ captureHeight: 100 }).current.height, 180);
});

Deno.test("congestion steps down at most once per interval and never below the bottom", () => {
  const ladder = new QualityLadder({ captureHeight: 720, downEveryMs: 1000 });
  ladder.congested(0);
  ladder.congested(500);
  assertEquals(ladder.current.height, 540);
  for (let t = 1000; t < 20_000; t += 1000) ladder.congested(t);
  assertEquals(ladder.current.height, 180);
});

Deno.test("it steps back up only after a calm spell, one rung at a time, up to the capture", () => {
  const ladder = new QualityLadder({ captureHeight: 720, upAfterMs: 10_000 });
  ladder.congested(0);
  ladder.congested(5000);
  assertEquals(ladder.current.height, 360);
  assertEquals(ladder.tick(9000), false);
  assertEquals(ladder.tick(15_000), true);
  assertEquals(ladder.current.height, 540);
  assertEquals(ladder.tick(20_000), false);
  ladder.tick(25_000);
  assertEquals(ladder.current.height, 720);
  assertEquals(ladder.tick(60_000), false);
});

Deno.test("scaled sizes keep the aspect ratio and are even", () => {
  assertEquals(scaledSize(1280, 720, 360), { width: 640, height: 360 });
  assertEquals(scaledSize(641, 481, 720), { width: 640, height: 480 });
  assertEquals(scaledSize(1920, 1080, 240), { width: 426, height: 240 });
});
