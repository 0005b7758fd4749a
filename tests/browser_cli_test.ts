/**
 * A person in Chromium sees and hears the headless streamer: the page decodes the CLI's VP9
 * test pattern and Opus tone, and the tile's canvas shows the pattern's colours.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { uniqueRoom } from "./support/harness.ts";
import {
  joinMeeting,
  type MeetingPage,
  openMeeting,
  waitForMedia,
  waitForScreen,
} from "./support/meeting_page.ts";
import { probeStats } from "./support/page_probe.ts";
import { startServerProcess } from "./support/server_process.ts";
import { ffmpegTestsIgnored, spawnStreamer, testPatternArgs } from "./support/streamer.ts";

const ignore = browserTestsIgnored() || ffmpegTestsIgnored();

Deno.test({
  name: "a browser page decodes the streamer's test pattern and tone",
  ignore,
  async fn() {
    const server = await startServerProcess();
    const room = uniqueRoom("clipage");
    const streamer = spawnStreamer([
      ...testPatternArgs(server.httpUrl, "pi-cam", room),
      ...["--display-name", "Pi camera", "--insecure-skip-verify", "--quiet"],
    ]);
    let page: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        page = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
        await waitForMedia(page.page, "the page", 15, 25, 30_000);
        const tile = await page.page.getAttribute('[data-testid="tile-camera"]', "data-name");
        assertEquals(tile, "Pi camera");
        const probe = await probeStats(page.page);
        assertEquals(probe.decoders.map((d) => d.errors), probe.decoders.map(() => 0));
        const size = await page.page.$eval(
          '[data-testid="tile-camera"] canvas',
          (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height],
        );
        assertEquals(size, [320, 240]);
        // testsrc2 is a colourful pattern: many distinct colours, unlike a blank or flat canvas.
        const colours = await page.page.evaluate(() => {
          const canvas = document.querySelector('[data-testid="tile-camera"] canvas') as
            | HTMLCanvasElement
            | null;
          if (!canvas) return 0;
          const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
          const seen = new Set<number>();
          for (let i = 0; i < data.length; i += 4 * 13) {
            seen.add((data[i] >> 5) << 6 | (data[i + 1] >> 5) << 3 | data[i + 2] >> 5);
          }
          return seen.size;
        });
        assertGreater(colours, 20, `the canvas shows the test pattern (${colours} colours)`);
        const artifacts = new URL("../test-artifacts/", import.meta.url);
        await Deno.mkdir(artifacts, { recursive: true });
        await page.page.screenshot({ path: new URL("cli-stream.png", artifacts).pathname });
      });
    } finally {
      await page?.close();
      const code = await streamer.stop();
      await server.stop();
      assertEquals(code, 0, streamer.stderr());
    }
  },
});

Deno.test({
  name:
    "in a meeting that requires E2EE, a page decodes the streamer's encrypted video and both show the same safety code",
  ignore,
  async fn() {
    const server = await startServerProcess();
    const room = uniqueRoom("e2eepage");
    let page: MeetingPage | undefined;
    let streamer: ReturnType<typeof spawnStreamer> | undefined;
    const stderr = () => streamer?.stderr() ?? "";
    try {
      await withBrowser(async (browser) => {
        // The page creates the meeting as E2EE-required (the home form's checkbox does this).
        page = await openMeeting(
          browser,
          server.httpUrl,
          "ada",
          room,
          "name=Ada&autojoin=1&height=240&e2ee=required",
        );
        await waitForScreen(page.page, "in-call", 20_000);
        streamer = spawnStreamer([
          ...testPatternArgs(server.httpUrl, "pi", room),
          ...["--insecure-skip-verify", "--e2ee"],
        ]);
        await waitForMedia(page.page, "the page", 15, 25, 30_000).catch((e) => {
          throw new Error(`${e}\n${stderr()}`);
        });
        assertEquals(
          await page.page.getAttribute('[data-testid="tile-camera"]', "data-encrypted"),
          "yes",
        );
        await page.page.click('[data-testid="open-verify"]');
        const deadline = Date.now() + 10_000;
        let pageCode = "";
        let cliCode = "";
        while (Date.now() < deadline) {
          pageCode = (await page.page.textContent('[data-testid="safety-code"]')) ?? "";
          cliCode = [...stderr().matchAll(/safety code: ([\d ]+?)\s+\(/g)].at(-1)?.[1] ?? "";
          if (pageCode !== "" && pageCode === cliCode) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert(/^\d{5}( \d{5}){7}$/.test(pageCode), pageCode);
        assertEquals(pageCode, cliCode, stderr());
        await page.page.click('[data-testid="open-stats"]');
        const failures = await page.page.textContent('[data-testid="decrypt-failures"]');
        assertEquals(failures, "0");
      });
    } finally {
      await page?.close();
      await streamer?.stop();
      await server.stop();
    }
  },
});
