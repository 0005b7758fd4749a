import { assert, assertEquals } from "../../tests/support/assert.ts";
import { DOWNLINK_RELIEF_MS, Forwarding, HIGHEST_LAYER, LAYER_SEEN_MS } from "./forwarding.ts";
import { MediaKind } from "../protocol/packets.ts";

const { VIDEO, SCREEN, AUDIO } = MediaKind;

Deno.test("Forwarding: no viewport and no preference forward everything", () => {
  const f = new Forwarding();
  for (const layer of [0, 1, 2]) assert(f.wants(1n, 7n, VIDEO, layer, 0));
  f.setViewport(1n, []);
  assert(f.wants(1n, 7n, VIDEO, 2, 0), "an empty viewport means everything");
});

Deno.test("Forwarding: a viewport drops camera video of others, never screen shares", () => {
  const f = new Forwarding();
  f.setViewport(1n, [5n, 6n]);
  assert(f.wants(1n, 5n, VIDEO, 0, 0));
  assert(!f.wants(1n, 7n, VIDEO, 0, 0), "base layer of an unwatched camera too");
  assert(f.wants(1n, 7n, SCREEN, 0, 0));
  assertEquals([...f.watchersOf(5n)], [1n]);
  f.setViewport(1n, undefined);
  assertEquals([...f.watchersOf(5n)], []);
  assert(f.wants(1n, 7n, VIDEO, 0, 0));
});

Deno.test("Forwarding: a layer preference is 'at most': the highest published layer not above it", () => {
  const f = new Forwarding();
  for (const layer of [0, 1, 2]) f.noteLayer(7n, VIDEO, layer, 0);
  f.setLayers(1n, [{ source: 7n, kind: VIDEO, layer: 1 }]);
  assertEquals([0, 1, 2].map((l) => f.wants(1n, 7n, VIDEO, l, 0)), [true, true, false]);
  f.setLayers(1n, [{ source: 7n, kind: VIDEO, layer: 0 }]);
  assertEquals([0, 1, 2].map((l) => f.wants(1n, 7n, VIDEO, l, 0)), [true, false, false]);
  f.setLayers(1n, [{ source: 7n, kind: VIDEO, layer: HIGHEST_LAYER }]);
  assertEquals([0, 1, 2].map((l) => f.wants(1n, 7n, VIDEO, l, 0)), [true, false, true]);
  // The publisher stops layer 2: the highest wish falls back to layer 1, not to the base only.
  const later = LAYER_SEEN_MS + 100;
  for (const layer of [0, 1]) f.noteLayer(7n, VIDEO, layer, later);
  assertEquals(f.chosenLayer(1n, 7n, VIDEO, later), 1);
  assert(f.wants(1n, 7n, VIDEO, 1, later));
  // Preferences replace each other; an unknown kind counts as video; audio has no layers.
  f.setLayers(1n, [{ source: 7n, kind: 0, layer: 0 }, { source: 7n, kind: AUDIO, layer: 0 }]);
  assertEquals(f.chosenLayer(1n, 7n, VIDEO, later), 0);
  f.setLayers(1n, []);
  assertEquals(f.chosenLayer(1n, 7n, VIDEO, later), undefined);
});

Deno.test("Forwarding: a congested receiver gets only camera base layers until the relief window passes", () => {
  const f = new Forwarding();
  for (const layer of [0, 2]) f.noteLayer(7n, VIDEO, layer, 0);
  assertEquals(f.congested(1n, 1000), true, "rising edge");
  assertEquals(f.congested(1n, 2000), false, "still congested");
  assert(!f.wants(1n, 7n, VIDEO, 2, 2500));
  assert(f.wants(1n, 7n, VIDEO, 0, 2500));
  assert(f.wants(1n, 7n, SCREEN, 2, 2500), "screen shares keep their layer");
  assert(f.wants(1n, 7n, VIDEO, 2, 2000 + DOWNLINK_RELIEF_MS));
});

Deno.test("Forwarding: publishers are the sources seen sending layers lately", () => {
  const f = new Forwarding();
  f.noteLayer(7n, VIDEO, 0, 0);
  f.noteLayer(8n, SCREEN, 0, 0);
  assertEquals(f.publishers(VIDEO, 100), [7n]);
  assertEquals(f.publishers(SCREEN, 100), [8n]);
  f.noteLayer(9n, VIDEO, 1, 5000);
  assertEquals(f.publishers(VIDEO, 5000), [9n]);
  f.setLayers(1n, [{ source: 9n, kind: VIDEO, layer: HIGHEST_LAYER }]);
  assertEquals(f.preference(1n, 9n, VIDEO), HIGHEST_LAYER);
  assertEquals(f.preference(1n, 9n, SCREEN), undefined);
});
