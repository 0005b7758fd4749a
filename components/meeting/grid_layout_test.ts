import { assert, assertEquals } from "../../tests/support/assert.ts";
import { gridLayout, PORTRAIT_MIN_ASPECT } from "./grid_layout.ts";

const fits = (count: number, width: number, height: number, gap = 8) => {
  const l = gridLayout(count, { width, height, gap });
  assert(l.columns * l.tileWidth + (l.columns - 1) * gap <= width, `${count}: too wide`);
  assert(l.rows * l.tileHeight + (l.rows - 1) * gap <= height, `${count}: too tall`);
  assert(l.columns * l.rows >= count, `${count}: not enough cells`);
  assert(l.tileWidth > 0 && l.tileHeight > 0, `${count}: no room`);
  return l;
};

Deno.test("gridLayout() fits every count from 1 to 30 inside desktop and phone stages", () => {
  for (let n = 1; n <= 30; n++) {
    fits(n, 1248, 560);
    fits(n, 374, 640);
    fits(n, 828, 250);
  }
});

Deno.test("gridLayout() stacks two people on a portrait phone and sets them side by side on a desktop", () => {
  assertEquals(gridLayout(2, { width: 374, height: 640, gap: 8 }).columns, 1);
  assertEquals(gridLayout(2, { width: 1248, height: 560, gap: 8 }).columns, 2);
  assertEquals(gridLayout(1, { width: 1248, height: 560, gap: 8 }).columns, 1);
  const seventeen = gridLayout(17, { width: 1248, height: 560, gap: 8 });
  assertEquals([seventeen.columns, seventeen.rows], [5, 4]);
});

Deno.test("gridLayout() survives a stage with no room", () => {
  const none = gridLayout(4, { width: 0, height: 0, gap: 8 });
  assertEquals([none.tileWidth, none.tileHeight], [0, 0]);
});

Deno.test("gridLayout() on a portrait phone: two people share the height, five take two columns, tiles never narrower than 3:4", () => {
  const stage = { width: 358, height: 640, gap: 12 };
  const two = gridLayout(2, stage);
  assertEquals(two.columns, 1);
  assert(two.tileHeight * 2 + 12 > 0.9 * stage.height, JSON.stringify(two));
  assertEquals(gridLayout(5, stage).columns, 2);
  for (let n = 1; n <= 30; n++) {
    const l = gridLayout(n, stage);
    assert(l.tileWidth / l.tileHeight >= PORTRAIT_MIN_ASPECT - 0.01, `${n}: ${JSON.stringify(l)}`);
    assert(l.tileWidth / l.tileHeight <= 16 / 9 + 0.01, `${n}: ${JSON.stringify(l)}`);
  }
  // Landscape stages keep 16:9.
  const wide = gridLayout(5, { width: 800, height: 300, gap: 12 });
  assert(Math.abs(wide.tileWidth / wide.tileHeight - 16 / 9) < 0.02, JSON.stringify(wide));
});
