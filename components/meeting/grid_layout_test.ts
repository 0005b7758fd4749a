import { assert, assertEquals } from "../../tests/support/assert.ts";
import { gridLayout } from "./grid_layout.ts";

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
