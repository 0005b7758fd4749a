/**
 * The meeting page's grid at every size people use: with 1, 2, 5 and 17 people, at 1280x720 and
 * on a portrait and a landscape phone, every tile lies between the header and the control bar and
 * inside the window — nothing under them, nothing off screen. The others are wire clients (their
 * tiles show initials), so the layout is tested without decoding sixteen videos.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { ClientPool, uniqueRoom } from "./support/harness.ts";
import { joinMeeting, pageLayout, waitForPeople } from "./support/meeting_page.ts";
import { noticesShown } from "./support/page_probe.ts";
import { startServerProcess } from "./support/server_process.ts";
import type { Page } from "playwright-core";

/**
 * Waits until the grid's layout holds still for three frames (a resize is measured, then the
 * grid re-renders with a new page size, then the tiles take their size).
 */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    async () => {
      const shape = () =>
        [...document.querySelectorAll(".grid .tile")].map((t) => {
          const r = t.getBoundingClientRect();
          return `${r.top},${r.left},${r.width},${r.height}`;
        }).join(";");
      let last = shape();
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => requestAnimationFrame(r));
        const now = shape();
        if (now !== last) return false;
        last = now;
      }
      return true;
    },
    undefined,
    { polling: 50 },
  );
}

const SIZES = [[1280, 720], [390, 844], [844, 390]] as const;

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
              await settled(page.page);
              // Every page of the grid: its tiles and its page controls fit; together the
              // pages show everyone once.
              const seen = new Set<string>();
              const pages = Number(
                await page.page.getAttribute('[data-testid="grid"]', "data-pages"),
              );
              const where = `${count} people at ${width}x${height}`;
              assert(pages >= 1 && pages <= Math.ceil(count / 4), `${where}: ${pages} pages`);
              for (let p = 1; p <= pages; p++) {
                const layout = await pageLayout(page.page);
                const at = `${where}, page ${p} of ${pages}`;
                if (pages === 1) assertEquals(layout.tiles.length, count, at);
                else assertEquals(layout.label, `Page ${p} of ${pages}`, at);
                for (const session of layout.sessions) seen.add(session);
                for (const t of [...layout.tiles, ...(layout.pager ? [layout.pager] : [])]) {
                  assert(
                    t.top >= layout.header.bottom - 0.5,
                    `${at}: a tile under the header ${JSON.stringify([t, layout.header])}`,
                  );
                  assert(t.bottom <= layout.toolbar.top + 0.5, `${at}: a tile under the controls`);
                  assert(
                    t.left >= -0.5 && t.right <= layout.window.width + 0.5,
                    `${at}: off screen`,
                  );
                }
                for (const t of layout.tiles) {
                  assert(t.bottom - t.top >= 40, `${at}: a tile too small to see`);
                }
                // Nothing of the header or the control bar runs off screen either.
                for (const b of layout.chrome) {
                  assert(
                    b.left >= -0.5 && b.right <= layout.window.width + 0.5,
                    `${at}: a header or control off screen ${JSON.stringify(b)}`,
                  );
                }
                if (p < pages) {
                  // Half the pages by button, half by keyboard.
                  if (p % 2 === 1) await page.page.click('[data-testid="page-next"]');
                  else await page.page.keyboard.press("PageDown");
                  await page.page.waitForFunction(
                    (n) =>
                      document.querySelector('[data-testid="grid"]')?.getAttribute("data-page") ===
                        String(n),
                    p + 1,
                  );
                }
              }
              assertEquals(seen.size, count, `${where}: everyone on some page`);
              if (pages > 1) {
                await page.page.click('[data-testid="page-prev"]');
                for (let p = 1; p < pages; p++) await page.page.keyboard.press("PageUp");
                assertEquals(
                  await page.page.getAttribute('[data-testid="grid"]', "data-page"),
                  "1",
                );
              }
            }
          }
          // A burst of arrivals was one notice, not sixteen.
          const shown = await noticesShown(page.page);
          assert(shown.some((n) => /, .+ and \d+ others joined$/.test(n)), JSON.stringify(shown));
          // Five people on a portrait phone take two columns.
          await page.page.setViewportSize({ width: 390, height: 844 });
          await pool.clients.at(-1)!.close();
          for (const c of pool.clients.slice(4)) await c.close();
          await waitForPeople(page.page, 4);
          await settled(page.page);
          // Tiles in the first row (the last row is centred, so lefts would count it apart).
          const columns = await page.page.$$eval(".grid .tile", (tiles) => {
            const tops = tiles.map((t) => Math.round(t.getBoundingClientRect().top));
            return tops.filter((top) => top === Math.min(...tops)).length;
          });
          assertEquals(columns, 2, "five people on a portrait phone");
          // A portrait phone stacks two people in one column.
          for (const c of pool.clients.slice(1, 4)) await c.close(); // p0 stays: two people
          await waitForPeople(page.page, 1);
          await page.page.setViewportSize({ width: 390, height: 844 });
          await settled(page.page);
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
