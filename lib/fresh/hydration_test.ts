/**
 * Islands hydrate in a real browser: headless Chromium loads the fixture app from
 * `Deno.serve`, then clicks the counter islands.
 */
import { assertEquals } from "../../tests/support/assert.ts";
import { browserTestsIgnored, withBrowser, withPage } from "../../tests/support/browser.ts";
import { createApp } from "./app.ts";
import { FIXTURE_ROOT } from "./_test_util.ts";

Deno.test({
  name: "hydration - islands become interactive and share their signal",
  ignore: browserTestsIgnored(),
  async fn() {
    const app = await createApp({ root: FIXTURE_ROOT });
    await app.build();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req, info) => app.handler(req, info),
    );
    try {
      const url = `http://127.0.0.1:${server.addr.port}/islands`;
      await withBrowser(async (browser) => {
        await withPage(browser, url, async (page, messages) => {
          const first = page.locator(".counter").nth(0);
          const second = page.locator(".counter").nth(1);
          // The inline module script (deferred) ran before `load`, which `goto` awaited.
          await first.locator(".increment").click();
          assertEquals(await first.locator("output").textContent(), "4");
          await second.locator(".increment").click();
          await second.locator(".increment").click();
          assertEquals(await second.locator("output").textContent(), "12");
          await first.locator(".rename").click();
          assertEquals(await first.locator(".label").textContent(), "renamed");
          assertEquals(await second.locator(".label").textContent(), "renamed");
          assertEquals(await page.locator(".counter").count(), 2, "no duplicated DOM");
          assertEquals(await page.locator(".badge").count(), 3, "no duplicated DOM");
          assertEquals(messages.filter((m) => /error/i.test(m)), []);
        });
      });
    } finally {
      await server.shutdown();
    }
  },
});
