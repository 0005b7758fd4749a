import { assertEquals } from "../../tests/support/assert.ts";
import {
  defaultLayerCount,
  LayerChoice,
  layerForTile,
  type LayerSpec,
  simulcastLayers,
} from "./simulcast.ts";

const sizes = (layers: LayerSpec[]) => layers.map((l) => `${l.width}x${l.height}@${l.framerate}`);

Deno.test("a 720p camera publishes upstream's ladder; two layers are low and hd; one is hd", () => {
  assertEquals(sizes(simulcastLayers(1280, 720, 3)), ["320x180@7", "640x360@15", "1280x720@30"]);
  assertEquals(simulcastLayers(1280, 720, 3).map((l) => l.bitrate), [120_000, 350_000, 1_500_000]);
  assertEquals(sizes(simulcastLayers(1280, 720, 2)), ["320x180@7", "1280x720@30"]);
  assertEquals(sizes(simulcastLayers(1280, 720, 1)), ["1280x720@30"]);
  assertEquals(simulcastLayers(1280, 720, 2).map((l) => l.layer), [0, 1], "ids are dense");
});

Deno.test("layers fit their box, keep the aspect, are never upscaled, and collapse when the source is small", () => {
  assertEquals(sizes(simulcastLayers(1920, 1080, 3)), ["320x180@7", "640x360@15", "1280x720@30"]);
  assertEquals(sizes(simulcastLayers(720, 1280, 3)), ["100x180@7", "202x360@15", "404x720@30"]);
  assertEquals(sizes(simulcastLayers(640, 360, 3)), ["320x180@7", "640x360@15"]);
  assertEquals(sizes(simulcastLayers(320, 180, 3)), ["320x180@7"]);
  assertEquals(sizes(simulcastLayers(160, 90, 2)), ["160x90@7"]);
  // A smaller picture needs fewer bits: 640x480 in the hd box has a third of its pixels.
  const hd = simulcastLayers(640, 480, 3)[2];
  assertEquals([hd.width, hd.height, hd.bitrate], [640, 480, 500_000]);
});

Deno.test("the default number of layers follows the cores", () => {
  assertEquals([undefined, 1, 2, 4, 6, 16].map(defaultLayerCount), [1, 1, 2, 2, 3, 3]);
});

Deno.test("a tile asks for the smallest layer that fills it in device pixels; a featured tile for the best", () => {
  assertEquals(layerForTile(90, 1, false), 0);
  assertEquals(layerForTile(200, 1, false), 0);
  assertEquals(layerForTile(201, 1, false), 1);
  assertEquals(layerForTile(150, 2, false), 1);
  assertEquals(layerForTile(400, 1, false), 1);
  assertEquals(layerForTile(401, 1, false), Infinity);
  assertEquals(layerForTile(50, 1, true), Infinity);
});

Deno.test("a receiver decodes the best layer arriving, switches only at its key frame, and falls back when it stops", () => {
  const choice = new LayerChoice();
  const decoded: string[] = [];
  // Layers 0 and 1 arrive every 100 ms; layer 1's key frame comes at 300.
  const frame = (layer: number, key: boolean, t: number) => {
    choice.seen(layer, t);
    if (choice.released(layer, key, t) || choice.accepts(layer)) {
      decoded.push(`${layer}${key ? "k" : ""}@${t}`);
    }
  };
  frame(0, true, 0);
  frame(1, false, 0);
  frame(0, false, 100);
  frame(1, false, 100);
  assertEquals(choice.wantsKey(100), 1);
  assertEquals(choice.wantsKey(150), undefined, "one ask a second");
  frame(0, false, 200);
  frame(1, true, 300);
  frame(0, false, 300);
  frame(1, false, 400);
  assertEquals(decoded, ["0k@0", "0@100", "0@200", "1k@300", "1@400"]);
  assertEquals(choice.wantsKey(400), undefined);
  // Layer 1 stops (the sender was told nobody wants it): after a second the base is the best.
  for (let t = 500; t <= 1500; t += 100) frame(0, false, t);
  assertEquals(choice.target(1500), 0);
  assertEquals(choice.wantsKey(1500), 0);
  frame(0, true, 1600);
  assertEquals(choice.current, 0);
  assertEquals(choice.switches, 2);
});
