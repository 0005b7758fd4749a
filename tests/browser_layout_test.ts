/**
 * The meeting page's grid at every size people use: with 1, 2, 5 and 17 people, at 1280x720 and
 * on a portrait and a landscape phone, every tile lies between the header and the control bar and
 * inside the window — nothing under them, nothing off screen. The others are wire clients (their
 * tiles show initials), so the layout is tested without decoding sixteen videos.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { ClientPool, uniqueRoom } from "./support/harness.ts";
import { joinMeeting, waitForPeople } from "./support/meeting_page.ts";
import { startServerProcess } from "./support/server_process.ts";

const SIZES = [[1280, 720], [390, 844], [844, 390]] as const;

interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

Deno.test({
  name:
    "tiles fit between the header and the control bar with 1, 2, 5 and 17 people, on desktops and phones",
  ignore: browserTestsIgnored(),
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    const pool = new ClientPool();
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("layout");
        const page = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
        try {
          let others = 0;
          for (const count of [1, 2, 5, 17]) {
            while (others < count - 1) {
              const client = await pool.join(server.wsUrl, `p${others}`, room);
              client.heartbeat();
              others++;
            }
            await waitForPeople(page.page, count - 1);
            for (const [width, height] of SIZES) {
              await page.page.setViewportSize({ width, height });
              await page.page.waitForFunction(() => new Promise((r) => requestAnimationFrame(r)));
              const layout = await page.page.evaluate(() => {
                const box = (el: Element): Box => {
                  const r = el.getBoundingClientRect();
                  return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
                };
                return {
                  header: box(document.querySelector(".topbar")!),
                  toolbar: box(document.querySelector(".toolbar")!),
                  tiles: [...document.querySelectorAll(".grid .tile")].map(box),
                  window: { width: innerWidth, height: innerHeight },
                };
              });
              const where = `${count} people at ${width}x${height}`;
              assertEquals(layout.tiles.length, count, where);
              for (const t of layout.tiles) {
                assert(t.top >= layout.header.bottom - 0.5, `${where}: a tile under the header`);
                assert(t.bottom <= layout.toolbar.top + 0.5, `${where}: a tile under the controls`);
                assert(
                  t.left >= -0.5 && t.right <= layout.window.width + 0.5,
                  `${where}: off screen`,
                );
                assert(t.bottom - t.top >= 40, `${where}: a tile too small to see`);
              }
            }
          }
          // A portrait phone stacks two people in one column.
          await pool.clients.at(-1)!.close();
          for (const c of pool.clients.slice(1, -1)) await c.close();
          await waitForPeople(page.page, 1);
          await page.page.setViewportSize({ width: 390, height: 844 });
          await page.page.waitForFunction(() => new Promise((r) => requestAnimationFrame(r)));
          const lefts = await page.page.$$eval(
            ".grid .tile",
            (tiles) => tiles.map((t) => Math.round(t.getBoundingClientRect().left)),
          );
          assertEquals(new Set(lefts).size, 1, `two tiles in one column: ${lefts}`);
        } finally {
          await page.close();
        }
      });
    } finally {
      await pool.closeAll();
      await server.stop();
    }
  },
});
