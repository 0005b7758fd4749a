import { assert, assertEquals } from "../../tests/support/assert.ts";
import { HIGHEST_LAYER } from "./forwarding.ts";
import { encodeLayerReport, LayerHints, LOWER_AFTER_MS, parseLayerReport } from "./layer_hints.ts";

const enc = new TextEncoder();

Deno.test("LayerHints: the target is the highest wish over all instances; nobody watching is 0 and unwatched", () => {
  const h = new LayerHints();
  assertEquals([h.target(7n, 1), h.watched(7n, 1)], [0, false]);
  h.update("a", new Map([["7:1", 0]]), 0);
  h.update("b", new Map([["7:1", 2], ["7:3", HIGHEST_LAYER]]), 0);
  assertEquals([h.target(7n, 1), h.watched(7n, 1)], [2, true]);
  assertEquals(h.target(7n, 3), HIGHEST_LAYER);
  h.expire(20_000, 15_000);
  assertEquals([h.target(7n, 1), h.watched(7n, 1)], [0, false], "silent instances' wishes expire");
});

const hint = (kind: number, maxLayer: number, unwatched = false) => ({ kind, maxLayer, unwatched });

Deno.test("LayerHints: a raise is due at once, a lower only after it held", () => {
  const h = new LayerHints();
  h.update("a", new Map([["7:1", 2], ["7:3", 0]]), 0);
  assertEquals(h.due(7n, 0), [hint(1, 2), hint(3, 0)]);
  assertEquals(h.due(7n, 100), undefined);
  h.update("a", new Map([["7:1", 0], ["7:3", 0]]), 200);
  assertEquals(h.due(7n, 200), undefined, "not yet");
  assertEquals(h.due(7n, 200 + LOWER_AFTER_MS - 1), undefined);
  assertEquals(h.due(7n, 200 + LOWER_AFTER_MS), [hint(1, 0), hint(3, 0)]);
  // A raise in the middle of a pending lower goes at once and cancels it.
  h.update("a", new Map([["7:1", 1], ["7:3", 0]]), 5000);
  assertEquals(h.due(7n, 5000)?.[0], hint(1, 1));
});

Deno.test("LayerHints: a camera nobody shows is told so after it held; watched again, at once", () => {
  const h = new LayerHints();
  h.update("a", new Map([["7:3", 0]]), 0);
  // The first hint never says unwatched: a newcomer's tile may not be on anyone's page yet.
  assertEquals(h.due(7n, 0), [hint(1, 0), hint(3, 0)]);
  assertEquals(h.due(7n, LOWER_AFTER_MS - 1), undefined);
  assertEquals(h.due(7n, LOWER_AFTER_MS), [hint(1, 0, true), hint(3, 0)]);
  h.update("b", new Map([["7:1", 1], ["7:3", 0]]), 3000);
  assertEquals(h.due(7n, 3000), [hint(1, 1), hint(3, 0)], "someone turned to its page");
});

Deno.test("layer reports round-trip on the bus and refuse anything malformed", () => {
  const wanted = new Map([["7:1", 2], ["18446744073709551615:3", HIGHEST_LAYER]]);
  assertEquals(parseLayerReport(encodeLayerReport("inst", wanted)), { instance: "inst", wanted });
  for (
    const bad of [
      "not json",
      '{"t":"layers","i":"a","w":[["7:2",1]]}', // audio has no layers
      '{"t":"layers","i":"a","w":[["x:1",1]]}',
      '{"t":"layers","i":"a","w":[["7:1",-1]]}',
      '{"t":"layers","i":"a","w":[["7:1",1.5]]}',
      '{"t":"layers","i":"","w":[]}',
      '{"t":"other","i":"a","w":[]}',
    ]
  ) {
    assert(parseLayerReport(enc.encode(bad)) === undefined, bad);
  }
});
