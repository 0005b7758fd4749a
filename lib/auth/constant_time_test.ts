import { assert, assertFalse } from "../../tests/support/assert.ts";
import { timingSafeEqual } from "./constant_time.ts";

Deno.test("timingSafeEqual() is true only for the same length and bytes", () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  assert(timingSafeEqual(bytes(), bytes()));
  assert(timingSafeEqual(bytes(0, 255, 7), bytes(0, 255, 7)));
  assertFalse(timingSafeEqual(bytes(0, 255, 7), bytes(0, 255, 6)));
  assertFalse(timingSafeEqual(bytes(1, 255, 7), bytes(0, 255, 7)));
  assertFalse(timingSafeEqual(bytes(0, 255), bytes(0, 255, 7)));
  assertFalse(timingSafeEqual(bytes(0, 255, 7), bytes()));
});
