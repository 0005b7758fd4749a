/**
 * The server as an edge host runs it (README, "Deploy to an edge host"): no unstable APIs (the
 * project's config minus its `unstable` list, so neither `Deno.bundle` nor QUIC exists), no write
 * permission at all, PostgreSQL and NATS by URL, and the browser bundle `deno task build` wrote.
 * WebTransport turns itself off and says so once; two Chromium pages hold a call over WebSocket on
 * the prebuilt bundle; nothing is written.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { testDatabase } from "./support/database.ts";
import { uniqueRoom } from "./support/harness.ts";
import { joinMeeting, type MeetingPage, waitForMedia } from "./support/meeting_page.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { startServerProcess } from "./support/server_process.ts";

const natsUrl = await sharedNatsUrl();
const ROOT = new URL("../", import.meta.url);

Deno.test({
  name:
    "as on an edge host — no unstable APIs, no write permission, Postgres and NATS by URL — the server serves the prebuilt bundle and two Chromium pages hold a call over WebSocket",
  ignore: natsUrl === undefined || browserTestsIgnored(),
  async fn() {
    const db = await testDatabase();
    const out = await Deno.makeTempDir({ prefix: "edge-bundle-" });
    // The project's config without its unstable features; it must sit at the project's root
    // for the import map's relative paths.
    const configPath = new URL(`.edge-test-${crypto.randomUUID()}.json`, ROOT).pathname;
    let ada: MeetingPage | undefined;
    let bob: MeetingPage | undefined;
    try {
      const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
      assert(Array.isArray(config.unstable), "deno.json lists unstable features");
      delete config.unstable;
      await Deno.writeTextFile(configPath, JSON.stringify(config));
      // `deno task build`, into a folder of this test's own.
      const build = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "lib/fresh/build.ts", ".", "--out", out],
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert(build.success, new TextDecoder().decode(build.stderr));
      const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));

      const dataDir = `${out}/data-never-written`;
      const server = await startServerProcess(
        {
          ...db.env,
          NATS_URL: natsUrl!,
          PREBUILT_BUNDLE: "required",
          BUNDLE_DIR: out,
          DATA_DIR: dataDir,
        },
        {
          runArgs: [
            "--config",
            configPath,
            "--allow-net",
            "--allow-env",
            "--allow-read",
            "--allow-sys",
          ],
        },
      );
      try {
        // Without the unstable flags there is no QUIC: WebTransport says so once and is off.
        const unavailable = server.logs.filter((r) => r.event === "webtransport_unavailable");
        assertEquals(unavailable.length, 1, JSON.stringify(server.logs));
        assert(String(unavailable[0].reason).includes("QUIC"), JSON.stringify(unavailable[0]));
        assertEquals(
          server.logs.find((r) => r.event === "fresh_prebuilt")?.bundle_id,
          manifest.bundleId,
        );
        const ready = await server.fetch("/readyz");
        assertEquals(ready.status, 200, await ready.text());
        const wt = await (await server.fetch("/api/v1/webtransport")).json();
        assertEquals(wt.available, false);

        await withBrowser(async (browser) => {
          const room = uniqueRoom("edge");
          ada = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
          bob = await joinMeeting(browser, server.httpUrl, "bob", "Bob", room);
          for (const [who, p] of [["ada", ada], ["bob", bob]] as const) {
            await waitForMedia(p.page, who, 15, 25);
            const shown = await p.page.textContent('[data-testid="transport"]');
            assert(shown?.startsWith("WebSocket"), `the transport shown: ${shown}`);
            const scripts = await p.page.$$eval(
              "script[src]",
              (list) => list.map((s) => s.getAttribute("src")),
            );
            assert(
              scripts.some((src) => src?.startsWith(`/_fresh/js/${manifest.bundleId}/`)),
              `the page's scripts come from the build: ${scripts}`,
            );
          }
        });
        // Nothing asked to bundle, and nothing was written.
        assertEquals(server.logs.some((r) => r.event === "fresh_build"), false);
        assertEquals(await Deno.stat(dataDir).then(() => true, () => false), false);
      } finally {
        await ada?.close();
        await bob?.close();
        await server.stop();
      }
    } finally {
      await Deno.remove(configPath).catch(() => {});
      await Deno.remove(out, { recursive: true }).catch(() => {});
      await db.cleanup();
    }
  },
});
