/**
 * End-to-end encryption between two real browsers, seen from the relay's side: everything the
 * relay moves for the meeting (its NATS subjects) is captured, and none of the pages' frames or
 * chat appears in it in clear. The frames' plaintext is sampled where the encoder hands it out
 * (the WebCodecs probe), before the page encrypts it.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { browserTestsIgnored, withBrowser } from "./support/browser.ts";
import { uniqueRoom } from "./support/harness.ts";
import { joinMeeting, type MeetingPage, waitForMedia } from "./support/meeting_page.ts";
import { encodedSamples } from "./support/page_probe.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { startServerProcess } from "./support/server_process.ts";

Deno.test({
  name:
    "an encrypted two-browser call: an observer of the relay's NATS traffic finds none of the frames or chat in clear",
  ignore: browserTestsIgnored() || (await sharedNatsUrl()) === undefined,
  async fn() {
    const natsUrl = (await sharedNatsUrl())!;
    const { testDatabase } = await import("./support/database.ts");
    const { NatsBus } = await import("../lib/relay/nats_bus.ts");
    const { roomWildcard } = await import("../lib/relay/bus.ts");
    const db = await testDatabase();
    const server = await startServerProcess({ NATS_URL: natsUrl, ...db.env });
    const room = uniqueRoom("e2eeobs");
    const bus = await NatsBus.connect({ url: natsUrl, name: "e2ee-browser-observer" });
    const frames: Uint8Array[] = [];
    const sub = bus.subscribe(roomWildcard(room), (_s, data) => frames.push(data.slice()));
    const pages: MeetingPage[] = [];
    try {
      await withBrowser(async (browser) => {
        for (const [user, extra] of [["ada", "&e2ee=required"], ["bob", ""]]) {
          pages.push(await joinMeeting(browser, server.httpUrl, user, user, room, extra));
        }
        for (const p of pages) {
          await waitForMedia(p.page, "an encrypted call", 15, 25, 30_000);
          await p.page.waitForSelector('[data-testid="open-verify"].secure');
        }
        await pages[0].page.click('[data-testid="open-chat"]');
        await pages[0].page.fill('[data-testid="chat-input"]', "our secret plan for tuesday");
        await pages[0].page.press('[data-testid="chat-input"]', "Enter");
        await pages[1].page.click('[data-testid="open-chat"]');
        await pages[1].page.waitForSelector(
          '[data-testid="chat-messages"] >> text=our secret plan for tuesday',
        );
        const samples: number[][] = [];
        for (const p of pages) samples.push(...await encodedSamples(p.page));
        assertGreater(samples.length, 20, "plaintext samples of encrypted frames");
        const secret = new TextEncoder().encode("secret plan");
        const joined = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const f of frames) {
          joined.set(f, at);
          at += f.length;
        }
        assertGreater(frames.length, 100, "the observer saw the call");
        assert(!indexOf(joined, secret), "chat text on the bus");
        for (const sample of samples) {
          assert(!indexOf(joined, new Uint8Array(sample)), "a frame's plaintext on the bus");
        }
        for (const p of pages) {
          const tile = await p.page.getAttribute('[data-testid="tile-camera"]', "data-encrypted");
          assertEquals(tile, "yes");
        }
      });
    } finally {
      for (const p of pages) await p.close();
      sub.unsubscribe();
      await bus.close();
      await server.stop();
    }
  },
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first); i !== -1; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return false;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
