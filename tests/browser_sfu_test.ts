/**
 * Selective forwarding as a person sees it: a meeting page with a dozen simulcast streamers
 * (`cli/stream.ts --count 12 --simulcast`) pages its grid, and only the cameras on the page
 * shown reach it — at the small layer their tiles need, the top layer for the speaker's tile —
 * read from the page's own diagnostics panel; speaker view follows the relay's ranking of who is
 * loudest.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { ClientPool, delay, uniqueRoom } from "./support/harness.ts";
import { joinMeeting, waitFor, waitForPeople } from "./support/meeting_page.ts";
import { probeStats } from "./support/page_probe.ts";
import { startServerProcess } from "./support/server_process.ts";
import { ffmpegTestsIgnored, spawnStreamer, testPatternArgs } from "./support/streamer.ts";
import { MediaKind, MediaType } from "../lib/protocol/packets.ts";
import type { WireClient } from "./support/wire_client.ts";
import type { Page } from "playwright-core";

/** An Opus frame of 20 ms of silence (a valid packet the page's decoder accepts). */
const OPUS_SILENCE = Uint8Array.of(0xf8, 0xff, 0xfe);

/** The sessions whose camera tiles the page shows now (the grid's current page or strip). */
function tilesShown(page: Page): Promise<string[]> {
  return page.$$eval(
    '[data-testid="tile-camera"]',
    (tiles) => tiles.map((t) => (t as HTMLElement).dataset.session ?? "").sort(),
  );
}

/** Per session, what the diagnostics panel says arrives: video kbps and the layer decoded. */
function received(page: Page): Promise<Record<string, { kbps: number; layer: number }>> {
  return page.$$eval(
    '[data-testid="diagnostics"] tr[data-session]',
    (rows) =>
      Object.fromEntries(rows.map((r) => {
        const d = (r as HTMLElement).dataset;
        return [d.session!, { kbps: Number(d.videoKbps), layer: Number(d.layer) }];
      })),
  );
}

/**
 * Sends loud audio (level -10 dBov) from `client` until the returned function is called (and
 * awaited): a speaker keeps talking until the test has seen what it waits for, however slowly a
 * loaded machine gets there.
 */
function speakUntilStopped(client: WireClient): () => Promise<void> {
  let talking = true;
  const done = (async () => {
    for (let t = 0; talking; t += 20) {
      client.sendMedia({
        mediaType: MediaType.AUDIO,
        data: OPUS_SILENCE,
        frameType: "key",
        timestamp: Date.now(),
        duration: 20,
        audioMetadata: {
          audioFormat: "opus",
          audioNumberOfChannels: 1,
          audioNumberOfFrames: 960,
          audioSampleRate: 48_000,
          sequence: BigInt(t / 20),
        },
      }, { kind: MediaKind.AUDIO, audioLevel: 11 });
      await delay(20);
    }
  })();
  return async () => {
    talking = false;
    await done;
  };
}

Deno.test({
  name:
    "a dozen streamers: the grid pages, only the cameras on the page shown arrive (small tiles at the low layer, the speaker's at the top), and speaker view follows the loudest",
  ignore: browserTestsIgnored() || ffmpegTestsIgnored(),
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    const room = uniqueRoom("sfu");
    const streamer = spawnStreamer([
      ...testPatternArgs(server.httpUrl, "cam", room),
      ...["--count", "12", "--simulcast", "--quiet", "--transport", "websocket"],
    ]);
    const pool = new ClientPool();
    try {
      await withBrowser(async (browser) => {
        const page = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
        try {
          const p = page.page;
          await waitForPeople(p, 12, 40_000).catch((e) => {
            throw new Error(`${e}\n${streamer.stderr()}`);
          });
          await p.click('[data-testid="open-stats"]');
          // A smaller window: the grid needs more than one page for thirteen tiles.
          await p.setViewportSize({ width: 900, height: 560 });
          await waitFor(
            p,
            "a paged grid",
            async () => Number(await p.getAttribute('[data-testid="grid"]', "data-pages")) >= 2,
          );
          const pages = Number(await p.getAttribute('[data-testid="grid"]', "data-pages"));
          const everyone = new Set<string>();
          for (let n = 1; n <= pages; n++) {
            let shown: string[] = [];
            let got: Record<string, { kbps: number; layer: number }> = {};
            // The receive meter looks 2 s back: a tile that left the page takes that to read 0.
            await waitFor(p, `only page ${n}'s cameras arriving, each at layer 0`, async () => {
              shown = (await tilesShown(p)).filter((s) => s !== "local");
              got = await received(p);
              const arriving = Object.keys(got).filter((s) => got[s].kbps > 0).sort();
              return shown.length > 0 && arriving.join() === shown.join() &&
                shown.every((s) => got[s].layer === 0);
            }, 20_000).catch((e) => {
              throw new Error(`${e}\nshown ${shown}\nreceived ${JSON.stringify(got)}`);
            });
            for (const s of shown) everyone.add(s);
            if (n < pages) await p.keyboard.press("PageDown");
          }
          assertEquals(everyone.size, 12, "every streamer was on some page");

          // Speaker view: the featured tile is big, so it asks for (and decodes) the top layer.
          await p.setViewportSize({ width: 1280, height: 720 });
          await p.click('[aria-label="Speaker view"]');
          const featured = () =>
            p.$eval(".feature .tile", (t) => (t as HTMLElement).dataset.session ?? "");
          // Who is featured may change while the ranking settles (the streamers' tones are all
          // speaking): the one featured when the top layer arrives is the one that counts.
          let first = "";
          let seen: Record<string, { kbps: number; layer: number }> = {};
          await waitFor(p, "the featured streamer at layer 1", async () => {
            first = await featured();
            seen = await received(p);
            return seen[first]?.layer === 1 && seen[first].kbps > 0;
          }, 30_000).catch((e) => {
            throw new Error(`${e}
featured ${first}
received ${JSON.stringify(seen)}`);
          });
          // The strip's tiles in sight keep getting the low layer (a tile scrolled out of the
          // strip gets nothing; the meter looks 2 s back).
          let got: Record<string, { kbps: number; layer: number }> = {};
          await waitFor(p, "the strip's cameras at layer 0", async () => {
            got = await received(p);
            first = await featured();
            const small = Object.keys(got).filter((s) => s !== first && got[s].kbps > 0);
            return small.length > 0 && small.every((s) => got[s].layer === 0);
          }, 10_000).catch((e) => {
            throw new Error(`${e}\n${JSON.stringify(got)}`);
          });

          // Two more people speak in turn: the featured tile follows the relay's ranking.
          const voiceA = await pool.joinActive(server.wsUrl, "voice-a", room);
          const voiceB = await pool.joinActive(server.wsUrl, "voice-b", room);
          await waitForPeople(p, 14, 10_000);
          const stopA = speakUntilStopped(voiceA);
          try {
            await waitFor(
              p,
              "voice-a featured",
              async () => await featured() === String(voiceA.sessionId),
              15_000,
            );
          } finally {
            await stopA();
          }
          // Voice A falls silent; B speaks and takes over once A's voice has timed out.
          const stopB = speakUntilStopped(voiceB);
          try {
            await waitFor(
              p,
              "voice-b featured",
              async () => await featured() === String(voiceB.sessionId),
              15_000,
            );
          } finally {
            await stopB();
          }
        } finally {
          await page.close();
        }
      });
    } finally {
      await pool.closeAll();
      await streamer.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "with 150 people the people panel renders only the rows in sight and scrolls to the last; the speaker strip says how many more; a large meeting counts its listeners",
  ignore: browserTestsIgnored(),
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off", LARGE_MEETING_PARTICIPANTS: "1000" });
    const pool = new ClientPool();
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("many");
        await Promise.all(
          Array.from({ length: 150 }, async (_, i) => {
            const c = await pool.join(server.wsUrl, `p${String(i).padStart(3, "0")}`, room);
            c.heartbeat();
          }),
        );
        const page = await joinMeeting(
          browser,
          server.httpUrl,
          "ada",
          "Ada",
          room,
          "&mic=off&camera=off",
        );
        try {
          const p = page.page;
          await waitForPeople(p, 150, 20_000);
          await p.click('[data-testid="open-people"]');
          await p.waitForSelector('[data-testid="people"][data-rows="150"]');
          assertEquals(await p.textContent('[data-testid="people-count"]'), "In the meeting (151)");
          const rendered = await p.$$eval('[data-testid="people"] li', (li) => li.length);
          assert(rendered > 5 && rendered < 60, `${rendered} rows rendered of 150`);
          // Scroll to the end: the last rows come into being, the first go.
          const tops = () =>
            p.$$eval(
              '[data-testid="people"] li',
              (li) => li.map((l) => parseFloat((l as HTMLElement).style.top)),
            );
          assertEquals(Math.min(...await tops()), 0);
          await p.$eval(".panel .people", (el) => el.scrollTop = el.scrollHeight);
          await waitFor(p, "the last rows", async () => {
            const now = await tops();
            return Math.max(...now) === 149 * 40 && Math.min(...now) > 0;
          });
          // No more decoders than a page needs, however many people came.
          const decoders = (await probeStats(p)).decoders.length;
          assert(decoders <= 30, `${decoders} video decoders for 150 people`);
          await p.click('[aria-label="Speaker view"]');
          // 150 others and us, one featured: the strip shows 23 and "127 more".
          assertEquals(await p.textContent('[data-testid="tile-more"]'), "127 more");
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

Deno.test({
  name: "in a large meeting the people panel counts listeners it was not told of one by one",
  ignore: browserTestsIgnored(),
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off", LARGE_MEETING_PARTICIPANTS: "3" });
    const pool = new ClientPool();
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("counted");
        for (let i = 0; i < 6; i++) (await pool.join(server.wsUrl, `l${i}`, room)).heartbeat();
        const page = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
        try {
          const p = page.page;
          await p.click('[data-testid="open-people"]');
          // The first three came while it was small and are listed; three more are counted.
          await waitFor(
            p,
            "the count",
            async () =>
              (await p.textContent('[data-testid="people-count"]')) === "In the meeting (7)" &&
              (await p.textContent('[data-testid="people-more"]').catch(() => "")) ===
                "and 3 more listening",
          );
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
