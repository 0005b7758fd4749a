/**
 * The fuzz engine itself: reproducible from a seed, mutations that leave their input alone, a
 * failing input reported as it was, and the contract helpers.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  ContractViolation,
  expectProportionate,
  expectThrownType,
  fromHex,
  fuzz,
  type FuzzTarget,
  mutateBytes,
  Rng,
  toHex,
} from "./fuzz.ts";

Deno.test("Rng gives the same numbers from the same seed, and others from another", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const first = Array.from({ length: 8 }, () => a.next());
  assertEquals(Array.from({ length: 8 }, () => b.next()), first);
  assert(Array.from({ length: 8 }, () => c.next()).some((n, i) => n !== first[i]));
  for (let i = 0; i < 1000; i++) {
    const n = a.below(7);
    assert(Number.isInteger(n) && n >= 0 && n < 7, `below(7) gave ${n}`);
  }
});

Deno.test("mutateBytes never changes its input and makes every kind of change", () => {
  const rng = new Rng(1);
  const input = Uint8Array.from({ length: 40 }, (_, i) => i);
  const other = new Uint8Array(40).fill(0xee);
  const lengths = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const out = mutateBytes(input, rng, other);
    lengths.add(Math.sign(out.length - input.length));
    assert(out !== input, "the input itself was returned");
  }
  assertEquals(input, Uint8Array.from({ length: 40 }, (_, i) => i));
  assertEquals([...lengths].sort(), [-1, 0, 1], "shorter, same length and longer outputs");
});

Deno.test("fuzz() finds a planted bug, reports the input that triggers it, and does so again from the same seed", async () => {
  const target: FuzzTarget = {
    name: "planted",
    seeds: () => [Uint8Array.of(1, 2, 3, 4)],
    check(input) {
      if (input.includes(0xff)) throw new Error("0xff is not handled");
      return true;
    },
  };
  const first = await fuzz(target, { seed: 7, iterations: 10_000 });
  const again = await fuzz(target, { seed: 7, iterations: 10_000 });
  assert(first.failure !== undefined, "the bug was not found");
  assert(first.failure.input.includes(0xff));
  assertEquals(first.failure.seed, 7);
  assertEquals(first.iterations, first.failure.iteration + 1);
  assertEquals(again.failure?.iteration, first.failure.iteration);
  assertEquals(again.failure?.input, first.failure.input);
});

Deno.test("fuzz() checks every seed first, opens the target before and closes it after", async () => {
  const events: string[] = [];
  const seen: string[] = [];
  const target: FuzzTarget = {
    name: "lifecycle",
    open: () => Promise.resolve(void events.push("open")),
    close: () => void events.push("close"),
    seeds: () => [Uint8Array.of(1), Uint8Array.of(2)],
    check(input) {
      seen.push(toHex(input));
      return input.length === 1;
    },
  };
  const report = await fuzz(target, { seed: 1, iterations: 50 });
  assertEquals(events, ["open", "close"]);
  assertEquals(seen.slice(0, 2), ["01", "02"]);
  assertEquals(report.iterations, 50);
  assert(report.accepted >= 2 && report.accepted < 50);
});

Deno.test("hex with comments and spaces reads back the bytes", () => {
  assertEquals(fromHex("# a comment\n00 ff\n7a # another\n"), Uint8Array.of(0, 0xff, 0x7a));
  assertEquals(toHex(Uint8Array.of(0, 0xff, 0x7a)), "00ff7a");
  assertThrows(() => fromHex("abc"));
});

Deno.test("expectThrownType lets documented errors through and names the others", () => {
  class ParseError extends Error {}
  expectThrownType(new ParseError("bad"), [ParseError], "parse");
  const error = assertThrows(() => expectThrownType(new TypeError("oops"), [ParseError], "parse"));
  assert(error instanceof ContractViolation);
  assert(error.message.includes("TypeError: oops"), error.message);
});

Deno.test("expectProportionate refuses output far larger than its input", () => {
  expectProportionate({ items: new Array(100).fill(0n) }, 100, "fine");
  const error = assertThrows(() =>
    expectProportionate({ items: new Array(100_000).fill(0n) }, 10, "amplified")
  );
  assert(error instanceof ContractViolation, String(error));
});
