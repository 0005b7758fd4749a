/**
 * Where the tiles of the grid go: the column count that gives `count` tiles the largest area
 * inside the stage, and their size. Every tile fits between the header and the control bar at
 * any count — nothing runs under them, nothing runs off screen. Tiles are 16:9 on a landscape
 * stage; on a portrait one (a phone held upright) they may be anything from 16:9 to 3:4, as
 * phone apps do — the picture fills its tile and is cropped at the sides — so two people share
 * the height instead of leaving half of it empty, and five take two columns.
 *
 * @example
 * ```ts
 * import { gridLayout } from "./grid_layout.ts";
 *
 * // 2 people on a portrait phone: one column, tiles stacked.
 * const phone = gridLayout(2, { width: 374, height: 640, gap: 8 });
 * if (phone.columns !== 1) throw new Error(JSON.stringify(phone));
 * // 17 people at 1280x720: every row fits the stage's height.
 * const desk = gridLayout(17, { width: 1248, height: 560, gap: 8 });
 * if (desk.rows * desk.tileHeight + (desk.rows - 1) * 8 > 560) throw new Error();
 * ```
 *
 * @module
 */

/** The stage the tiles share, in CSS pixels. */
export interface StageSize {
  width: number;
  height: number;
  /** Space between tiles. */
  gap: number;
  /**
   * Width over height of a tile; by default 16:9, and on a portrait stage anything from 16:9
   * down to {@linkcode PORTRAIT_MIN_ASPECT}.
   */
  aspect?: number;
}

/** The narrowest tile a portrait stage gets (width over height). */
export const PORTRAIT_MIN_ASPECT = 3 / 4;

/** The chosen layout. */
export interface GridLayout {
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** The layout that makes `count` tiles as large as the stage allows. */
export function gridLayout(count: number, stage: StageSize): GridLayout {
  const widest = stage.aspect ?? 16 / 9;
  const narrowest = stage.aspect === undefined && stage.height > stage.width
    ? PORTRAIT_MIN_ASPECT
    : widest;
  const n = Math.max(1, count);
  let best: GridLayout = { columns: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  let bestArea = 0;
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const cellWidth = (stage.width - (columns - 1) * stage.gap) / columns;
    const cellHeight = (stage.height - (rows - 1) * stage.gap) / rows;
    if (cellWidth <= 0 || cellHeight <= 0) continue;
    // As wide as the cell allows without being wider than `widest`, then as tall as the cell
    // allows without being narrower than `narrowest`.
    const tileWidth = Math.floor(Math.min(cellWidth, cellHeight * widest));
    const tileHeight = Math.floor(Math.min(cellHeight, tileWidth / narrowest));
    const area = tileWidth * tileHeight;
    if (area > bestArea) {
      best = { columns, rows, tileWidth, tileHeight };
      bestArea = area;
    }
  }
  return best;
}

/** Tiles narrower than this are too small to recognise anyone: the grid pages instead. */
export const MIN_TILE_WIDTH_PX = 160;
/** Most tiles on one page of the grid. */
export const MAX_TILES_PER_PAGE = 25;

/**
 * How many of `count` tiles one page shows: all of them when they fit at a recognisable size,
 * otherwise as many as fit at {@linkcode MIN_TILE_WIDTH_PX} (at least one), never more than
 * {@linkcode MAX_TILES_PER_PAGE}.
 *
 * @example
 * ```ts
 * import { tilesPerPage } from "./grid_layout.ts";
 *
 * if (tilesPerPage(17, { width: 1248, height: 520, gap: 12 }) !== 17) throw new Error();
 * if (tilesPerPage(1000, { width: 1248, height: 520, gap: 12 }) !== 25) throw new Error();
 * // A portrait phone fits far fewer.
 * const phone = tilesPerPage(100, { width: 358, height: 600, gap: 12 });
 * if (phone > 12 || phone < 4) throw new Error(String(phone));
 * ```
 */
export function tilesPerPage(count: number, stage: StageSize): number {
  const most = Math.min(Math.max(1, count), MAX_TILES_PER_PAGE);
  for (let n = most; n > 1; n--) {
    if (gridLayout(n, stage).tileWidth >= MIN_TILE_WIDTH_PX) return n;
  }
  return 1;
}
