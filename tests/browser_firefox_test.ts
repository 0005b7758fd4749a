/**
 * Firefox in a call with Chromium, on both transports (WebTransport with the certificate hash
 * the server advertises, and WebSocket). Firefox has WebCodecs and WebTransport but no
 * `MediaStreamTrackProcessor`: its camera reaches the encoder through a canvas
 * (lib/media/video_sender.ts) and its microphone through an AudioWorklet
 * (lib/media/audio_capture.ts). Each sees the other's moving picture and decodes the other's
 * sound, chat goes both ways, mute and camera-off are seen both ways, and Chromium's screen share
 * reaches Firefox. Headless Firefox has no screen to capture (getDisplayMedia: NotFoundError);
 * its page says "No screen was found" and the call goes on.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { firefoxIgnored, openFirefoxPage, withFirefox } from "./support/firefox.ts";
import { ClientPool, uniqueRoom } from "./support/harness.ts";
import {
  joinMeeting,
  pageLayout,
  waitFor,
  waitForMedia,
  waitForPeople,
} from "./support/meeting_page.ts";
import type { ProbedPage } from "./support/page_probe.ts";
import { startServerProcess } from "./support/server_process.ts";

/** A hash of the camera and the screen tiles' pictures ("blank" for none). */
interface TileHashes {
  camera: string;
  screen: string;
}

async function tileHashes(page: ProbedPage): Promise<TileHashes> {
  return await page.evaluate(() => {
    const hash = (testId: string) => {
      const canvas = document.querySelector<HTMLCanvasElement>(
        `[data-testid="${testId}"] canvas`,
      );
      if (!canvas || canvas.width === 0) return "blank";
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let sum = 0;
      for (let p = 0; p < data.length; p += 4 * 31) {
        sum = (sum * 31 + data[p] + data[p + 1] * 7 + data[p + 2] * 13) % 1e9;
      }
      return String(sum);
    };
    return { camera: hash("tile-camera"), screen: hash("tile-screen") };
  }) as TileHashes;
}

/** The remote tile of `kind` shows a picture that changes (not a frozen or blank frame). */
async function assertMovingPicture(
  page: ProbedPage,
  kind: keyof TileHashes,
  who: string,
): Promise<void> {
  const samples: string[] = [];
  for (let i = 0; i < 12; i++) {
    samples.push((await tileHashes(page))[kind]);
    await new Promise((r) => setTimeout(r, 150));
  }
  assert(!samples.includes("blank"), `${who}: a blank tile`);
  assert(new Set(samples).size >= 3, `${who}: a frozen picture (${samples.join(",")})`);
}

for (const transport of ["webtransport", "websocket"] as const) {
  Deno.test({
    name:
      `Firefox and Chromium in one call over ${transport} see and hear each other, chat both ways, see mute and camera-off, and Firefox sees Chromium's screen share`,
    ignore: browserTestsIgnored() || firefoxIgnored(),
    async fn() {
      const server = await startServerProcess();
      try {
        await withBrowser(async (chromium) => {
          await withFirefox(async (firefox) => {
            const room = uniqueRoom("ff");
            const fox = await openFirefoxPage(
              firefox,
              `${server.httpUrl}/meeting/fox/${room}?name=Fox&autojoin=1&height=240` +
                `&transport=${transport}`,
            );
            const f = fox.page;
            try {
              await f.waitForSelector('[data-testid="leave"]', { timeout: 20_000 });
              const crow = await joinMeeting(
                chromium,
                server.httpUrl,
                "crow",
                "Crow",
                room,
                `&transport=${transport}`,
              );
              const c = crow.page;
              try {
                await waitForPeople(c, 1);
                const shown = await f.$eval('[data-testid="transport"]', (el) => el.textContent);
                const expected = transport === "webtransport" ? "WebTransport" : "WebSocket";
                assert(shown?.startsWith(expected), `Firefox's transport: ${shown}`);

                // Video and audio both ways, pictures moving.
                await waitForMedia(f, "Firefox", 15, 25);
                await waitForMedia(c, "Chromium", 15, 25);
                await assertMovingPicture(f, "camera", "Firefox's tile of Chromium");
                await assertMovingPicture(c, "camera", "Chromium's tile of Firefox");

                // Chat both ways.
                await f.click('[data-testid="open-chat"]');
                await f.type('[data-testid="chat-input"]', "Hello from Firefox");
                await f.keyboard.press("Enter");
                await c.click('[data-testid="open-chat"]');
                await c.waitForSelector('[data-testid="chat-messages"] >> text=Hello from Firefox');
                await c.fill('[data-testid="chat-input"]', "Hello from Chromium");
                await c.press('[data-testid="chat-input"]', "Enter");
                await f.waitForFunction(() =>
                  document.querySelector('[data-testid="chat-messages"]')?.textContent?.includes(
                    "Hello from Chromium",
                  )
                );

                // Mute and camera-off, each seen by the other.
                await f.click('[data-testid="toggle-mic"]');
                await c.waitForSelector('[data-testid="tile-camera"][data-mic="off"]');
                await c.click('[data-testid="toggle-camera"]');
                await f.waitForSelector('[data-testid="tile-camera"][data-video="off"]');
                await c.click('[data-testid="toggle-camera"]');
                await f.waitForSelector('[data-testid="tile-camera"][data-video="on"]');

                // Headless Firefox has no screen to share: the page says so and carries on.
                await f.click('[data-testid="toggle-screen"]');
                await f.waitForFunction(() =>
                  document.body.innerText.includes("No screen was found")
                );
                // Chromium shares its screen; Firefox decodes it.
                await c.click('[data-testid="toggle-screen"]');
                await f.waitForSelector('[data-testid="tile-screen"]', { timeout: 15_000 });
                await waitFor(
                  f,
                  "Chromium's screen to be decoded in Firefox",
                  async () => (await tileHashes(f)).screen !== "blank",
                  15_000,
                );
              } finally {
                await crow.close();
              }
            } finally {
              await fox.close();
            }
          });
        });
      } finally {
        await server.stop();
      }
    },
  });
}

Deno.test({
  name:
    "Firefox on a portrait phone (390x844): two people stacked, five in two columns, every tile and control on screen between the header and the control bar",
  ignore: firefoxIgnored(),
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    const pool = new ClientPool();
    try {
      await withFirefox(async (firefox) => {
        const room = uniqueRoom("ff-phone");
        const fox = await openFirefoxPage(
          firefox,
          `${server.httpUrl}/meeting/fox/${room}?name=Fox&autojoin=1&height=240`,
          { width: 390, height: 844 },
        );
        try {
          await fox.page.waitForSelector('[data-testid="leave"]', { timeout: 20_000 });
          for (const [count, columns] of [[2, 1], [5, 2]] as const) {
            while (pool.clients.length < count - 1) {
              (await pool.join(server.wsUrl, `p${pool.clients.length}`, room)).heartbeat();
            }
            await fox.page.waitForFunction(
              (n: number) => document.querySelectorAll(".grid .tile").length === n,
              {},
              count,
            );
            await new Promise((r) => setTimeout(r, 500)); // the grid takes its measured size
            const layout = await pageLayout(fox.page);
            const where = `${count} people in Firefox at 390x844`;
            for (const t of layout.tiles) {
              assert(t.top >= layout.header.bottom - 0.5, `${where}: a tile under the header`);
              assert(t.bottom <= layout.toolbar.top + 0.5, `${where}: a tile under the controls`);
              assert(
                t.left >= -0.5 && t.right <= layout.window.width + 0.5,
                `${where}: off screen`,
              );
            }
            for (const c of layout.chrome) {
              assert(
                c.left >= -0.5 && c.right <= layout.window.width + 0.5,
                `${where}: a control off screen`,
              );
            }
            const firstRow = layout.tiles.filter((t) =>
              Math.round(t.top) === Math.round(Math.min(...layout.tiles.map((x) =>
                x.top
              )))
            ).length;
            assertEquals(firstRow, columns, `${where}: columns`);
          }
        } finally {
          await fox.close();
        }
      });
    } finally {
      await pool.closeAll();
      await server.stop();
    }
  },
});
