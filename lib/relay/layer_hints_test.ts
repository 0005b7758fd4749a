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

const all = () => true;
const hint = (kind: number, maxLayer: number, unwatched = false) => ({ kind, maxLayer, unwatched });

Deno.test("LayerHints: a raise is due at once, a lower only after it held", () => {
  const h = new LayerHints();
  h.update("a", new Map([["7:1", 2], ["7:3", 0]]), 0);
  assertEquals(h.due(7n, 0, all), [hint(1, 2), hint(3, 0)]);
  assertEquals(h.due(7n, 100, all), undefined);
  h.update("a", new Map([["7:1", 0], ["7:3", 0]]), 200);
  assertEquals(h.due(7n, 200, all), undefined, "not yet");
  assertEquals(h.due(7n, 200 + LOWER_AFTER_MS - 1, all), undefined);
  assertEquals(h.due(7n, 200 + LOWER_AFTER_MS, all), [hint(1, 0), hint(3, 0)]);
  // A raise in the middle of a pending lower goes at once and cancels it.
  h.update("a", new Map([["7:1", 1], ["7:3", 0]]), 5000);
  assertEquals(h.due(7n, 5000, all)?.[0], hint(1, 1));
});

Deno.test("LayerHints: a camera nobody shows is told so after it held; watched again, at once", () => {
  const h = new LayerHints();
  h.update("a", new Map([["7:3", 0]]), 0);
  // The first hint never says unwatched: a newcomer's tile may not be on anyone's page yet.
  assertEquals(h.due(7n, 0, all), [hint(1, 0), hint(3, 0)]);
  assertEquals(h.due(7n, LOWER_AFTER_MS - 1, all), undefined);
  assertEquals(h.due(7n, LOWER_AFTER_MS, all), [hint(1, 0, true), hint(3, 0)]);
  h.update("b", new Map([["7:1", 1], ["7:3", 0]]), 3000);
  assertEquals(h.due(7n, 3000, all), [hint(1, 1), hint(3, 0)], "someone turned to its page");
});

Deno.test("LayerHints: a kind never sent is never unwatched, so a screen share or a late camera can start", () => {
  const h = new LayerHints();
  const cameraOnly = (kind: number) => kind === 1;
  h.update("a", new Map(), 0);
  assertEquals(h.due(7n, 0, cameraOnly), [hint(1, 0), hint(3, 0)]);
  // Long after, nobody watches the camera; the screen, never started, stays allowed.
  assertEquals(h.due(7n, LOWER_AFTER_MS, cameraOnly), [hint(1, 0, true), hint(3, 0)]);
  assertEquals(h.due(7n, 10 * LOWER_AFTER_MS, cameraOnly), undefined);
  // The screen's first packet made it known: its first hint is not unwatched either.
  assertEquals(h.due(7n, 11 * LOWER_AFTER_MS, all), [hint(1, 0, true), hint(3, 0)]);
});

Deno.test("layer reports round-trip on the bus and refuse anything malformed", () => {
  const wanted = new Map([["7:1", 2], ["18446744073709551615:3", HIGHEST_LAYER]]);
  assertEquals(parseLayerReport(encodeLayerReport("inst", wanted, ["7:1", "9:3"])), {
    instance: "inst",
    wanted,
    publishers: ["7:1", "9:3"],
  });
  assertEquals(
    parseLayerReport(enc.encode('{"t":"layers","i":"old","w":[]}'))?.publishers,
    [],
    "a report from an instance without publishers in it still reads",
  );
  for (
    const bad of [
      "not json",
      '{"t":"layers","i":"a","w":[["7:2",1]]}', // audio has no layers
      '{"t":"layers","i":"a","w":[["x:1",1]]}',
      '{"t":"layers","i":"a","w":[["7:1",-1]]}',
      '{"t":"layers","i":"a","w":[["7:1",1.5]]}',
      '{"t":"layers","i":"","w":[]}',
      '{"t":"other","i":"a","w":[]}',
      '{"t":"layers","i":"a","w":[],"p":["7:2"]}',
      '{"t":"layers","i":"a","w":[],"p":[7]}',
      '{"t":"layers","i":"a","w":[],"p":"7:1"}',
    ]
  ) {
    assert(parseLayerReport(enc.encode(bad)) === undefined, bad);
  }
});
