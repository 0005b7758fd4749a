/**
 * Headless Chromium reaches our server, and has what the browser client needs (docs/PROTOCOL.md, "Browsers"):
 * WebTransport, WebCodecs and (fake) camera and microphone. One browser and one server serve
 * every step; each step gets its own browser context.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser, withPage } from "./support/browser.ts";
import { startServerProcess } from "./support/server_process.ts";

/** The browser globals the page code reads; Deno's types have no DOM. */
interface PageGlobals {
  isSecureContext: boolean;
  WebTransport?: unknown;
  VideoEncoder?: unknown;
  navigator: {
    mediaDevices: {
      getUserMedia(constraints: { video: boolean; audio: boolean }): Promise<{
        getTracks(): { kind: string; readyState: string; stop(): void }[];
      }>;
    };
  };
}

Deno.test({
  name: "browser smoke - headless Chromium against a real server",
  ignore: browserTestsIgnored(),
  async fn(t) {
    const server = await startServerProcess();
    try {
      await withBrowser(async (browser) => {
        await t.step("the /version page shows the server's JSON", async () => {
          await withPage(browser, `${server.httpUrl}/version`, async (page) => {
            const version = JSON.parse(await page.locator("body").innerText());
            assertEquals(version.name, "videocall.ts");
            assertEquals(version.bus, "memory");
            assert(/^\d+\.\d+\.\d+$/.test(version.version), version.version);
          });
        });

        await t.step("a page that throws fails the test that opened it", async () => {
          const outcome = await withBrowser(async (inner) => {
            await withPage(inner, `${server.httpUrl}/healthz`, async (page) => {
              await page.evaluate(() => {
                setTimeout(() => {
                  throw new Error("thrown by the page");
                });
                Promise.reject(new Error("rejected by the page"));
              });
              await page.waitForTimeout(200);
            });
          }).then(() => "passed", (error: Error) => error.message);
          assert(outcome.includes("thrown by the page"), outcome);
          assert(outcome.includes("rejected by the page"), outcome);
        });

        await t.step(
          "a page at the server's origin has WebTransport, WebCodecs and fake media devices",
          async () => {
            await withPage(browser, `${server.httpUrl}/healthz`, async (page) => {
              const found = await page.evaluate(async () => {
                // Runs in the page: only the cast is TypeScript, and it is erased.
                const g = globalThis as unknown as PageGlobals;
                const stream = await g.navigator.mediaDevices.getUserMedia({
                  video: true,
                  audio: true,
                });
                const tracks = stream.getTracks().map((track) => track.kind).sort();
                const live = stream.getTracks().every((track) => track.readyState === "live");
                for (const track of stream.getTracks()) track.stop();
                return {
                  secure: g.isSecureContext,
                  webTransport: typeof g.WebTransport,
                  videoEncoder: typeof g.VideoEncoder,
                  tracks,
                  live,
                };
              });
              assertEquals(found, {
                secure: true,
                webTransport: "function",
                videoEncoder: "function",
                tracks: ["audio", "video"],
                live: true,
              });
            });
          },
        );
      });
    } finally {
      await server.stop();
    }
  },
});
