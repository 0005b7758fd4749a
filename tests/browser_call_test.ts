/**
 * Real calls in headless Chromium: two pages join one meeting through the app's own pages and
 * decode each other's camera and microphone (Chromium's fake devices), then use the controls a
 * person would — mute, camera off, screen share, chat, leave — and each sees the other's.
 * The same call runs over WebTransport, over WebSocket with WebTransport off (through a proxy
 * that cuts the connection once), and across two servers on NATS. What the pages decode is
 * counted by the WebCodecs probe (`support/page_probe.ts`); everything else is read off the
 * screen.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { browserTestsIgnored, openPage, withBrowser } from "./support/browser.ts";
import { uniqueRoom } from "./support/harness.ts";
import {
  joinMeeting,
  type MeetingPage,
  openMeeting,
  waitFor,
  waitForMedia,
  waitForPeople,
  waitForScreen,
} from "./support/meeting_page.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { framesDecoded, noticesShown, probeStats } from "./support/page_probe.ts";
import { startServerProcess } from "./support/server_process.ts";
import { TcpProxy } from "./support/tcp_proxy.ts";

const ignore = browserTestsIgnored();
const natsUrl = await sharedNatsUrl();
/** Where screenshots go (ignored by git). */
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

/** How much of a canvas is not flat: distinct colours in a sparse sample (0 for blank). */
async function canvasDetail(page: Page, testId: string): Promise<number> {
  return await page.evaluate((id) => {
    const canvas = document.querySelector(`[data-testid="${id}"] canvas`) as HTMLCanvasElement;
    if (!canvas || canvas.width === 0) return 0;
    const ctx = canvas.getContext("2d")!;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4 * 97) {
      seen.add((data[i] >> 4) << 8 | (data[i + 1] >> 4) << 4 | data[i + 2] >> 4);
    }
    return seen.size;
  }, testId);
}

/** Canvas samples taken by {@linkcode assertShowsFakeCamera}, about 120 ms apart. */
const SAMPLES = 20;

/**
 * Asserts that the remote camera tile shows Chromium's fake camera, moving. That camera paints
 * two greens only — a background and a bright disk whose sector sweeps round several times a
 * second — so counting colours proves little (a sparse sample finds two or three). Instead:
 * nearly every pixel is green-dominant (a blank, black or garbled canvas is not), and the bright
 * disk's share of the picture changes between samples (a frozen frame does not). The samples
 * span about 2.5 s: a receiver switching simulcast layers waits for the new layer's key frame,
 * which on a loaded machine can hold the picture for a second.
 */
async function assertShowsFakeCamera(page: Page, who: string): Promise<void> {
  const shares: { green: number; bright: number }[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    shares.push(
      await page.evaluate(() => {
        const canvas = document.querySelector<HTMLCanvasElement>(
          '[data-testid="tile-camera"] canvas',
        );
        if (!canvas || canvas.width === 0) return { green: 0, bright: 0 };
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        let green = 0;
        let bright = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
          if (g > r + 32 && g > b + 32) green++;
          if (g > 200) bright++;
        }
        const pixels = data.length / 4;
        return { green: green / pixels, bright: bright / pixels };
      }),
    );
    await page.waitForTimeout(120);
  }
  const brights = shares.map((s) => s.bright);
  const tile = await page.$eval('[data-testid="tile-camera"]', (el) => ({
    html: el.outerHTML.slice(0, 300),
    canvas: [el.querySelector("canvas")?.width, el.querySelector("canvas")?.height],
  }));
  const detail = `${who}'s remote tile over ${SAMPLES} samples: ${JSON.stringify(shares)}; tile ${
    JSON.stringify(tile)
  }; probe ${JSON.stringify(await probeStats(page))}`;
  assert(shares.every((s) => s.green > 0.95), `not the fake camera's picture; ${detail}`);
  assertGreater(Math.max(...brights), 0.05, `no bright disk; ${detail}`);
  assertGreater(Math.max(...brights) - Math.min(...brights), 0.03, `a frozen picture; ${detail}`);
}

/** Both see each other's video move and hear each other's audio, with no decode errors. */
async function assertMediaFlows(a: MeetingPage, b: MeetingPage): Promise<void> {
  for (const [who, p] of [["a", a.page], ["b", b.page]] as const) {
    await waitForMedia(p, who, 15, 25);
    const probe = await probeStats(p);
    assertEquals(probe.decoders.map((d) => d.errors), probe.decoders.map(() => 0));
    assertEquals(probe.audio.errors, 0);
    await assertShowsFakeCamera(p, who);
  }
}

async function closeAll(...pages: (MeetingPage | undefined)[]): Promise<void> {
  for (const p of pages) await p?.close();
}

Deno.test({
  name:
    "two people in a call over WebTransport see and hear each other, and see mute, camera off, screen share, chat and leave",
  ignore,
  async fn() {
    const server = await startServerProcess();
    let ada: MeetingPage | undefined;
    let bob: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("call");
        ada = await joinMeeting(browser, server.httpUrl, "ada", "Ada Lovelace", room);
        bob = await joinMeeting(browser, server.httpUrl, "bob", "Bob", room);
        for (const p of [ada.page, bob.page]) {
          await waitForPeople(p, 1);
          const shown = await p.textContent('[data-testid="transport"]');
          assert(shown?.startsWith("WebTransport"), `the transport shown: ${shown}`);
        }
        assertEquals(
          await bob.page.getAttribute('[data-testid="tile-camera"]', "data-name"),
          "Ada Lovelace",
        );
        await assertMediaFlows(ada, bob);
        // Both pages used grouped framing both ways: video in groups, audio as datagrams.
        const metric = (name: string, labels?: string) => server.metric(name, labels);
        assertEquals(
          await metric("videocall_webtransport_sessions_total", 'framing="groups"'),
          2,
        );
        assertGreater(await metric("videocall_webtransport_groups_total"), 2);
        assertGreater(await metric("videocall_webtransport_groups_in_total"), 2);
        assertGreater(await metric("videocall_webtransport_datagrams_in_total"), 10);
        assertGreater(await metric("videocall_webtransport_datagrams_out_total"), 10);

        await Deno.mkdir(ARTIFACTS, { recursive: true });
        await bob.page.screenshot({ path: new URL("call-two-people.png", ARTIFACTS).pathname });

        // Mute and camera off are seen by the other.
        await ada.page.click('[data-testid="toggle-mic"]');
        await bob.page.waitForSelector('[data-testid="tile-camera"][data-mic="off"]');
        await ada.page.click('[data-testid="toggle-camera"]');
        await bob.page.waitForSelector('[data-testid="tile-camera"][data-video="off"]');
        await ada.page.click('[data-testid="toggle-camera"]');
        await bob.page.waitForSelector('[data-testid="tile-camera"][data-video="on"]');

        // Screen share: its own tile, decoded, on both sides.
        await ada.page.click('[data-testid="toggle-screen"]');
        await ada.page.waitForSelector('[data-testid="tile-local-screen"]');
        await bob.page.waitForSelector('[data-testid="tile-screen"]');
        await waitFor(
          bob.page,
          "the shared screen to render",
          async () => await canvasDetail(bob!.page, "tile-screen") > 3,
          15_000,
        );
        await bob.page.screenshot({ path: new URL("call-screen-share.png", ARTIFACTS).pathname });
        await ada.page.click('[data-testid="toggle-screen"]');
        await bob.page.waitForSelector('[data-testid="tile-screen"]', { state: "detached" });

        // Chat, typed and sent with Enter; markup arrives as text.
        await ada.page.click('[data-testid="open-chat"]');
        await ada.page.fill('[data-testid="chat-input"]', "Hello Bob <b>!</b>");
        await ada.page.press('[data-testid="chat-input"]', "Enter");
        await bob.page.waitForSelector('[data-testid="open-chat"] .dot');
        await bob.page.click('[data-testid="open-chat"]');
        await bob.page.waitForSelector('[data-testid="chat-messages"] >> text=Hello Bob <b>!</b>');
        const from = await bob.page.textContent('[data-testid="chat-messages"] li strong');
        assertEquals(from, "Ada Lovelace");

        // Leaving empties the other's grid, with a notice.
        await ada.page.click('[data-testid="leave"]');
        await waitForScreen(ada.page, "ended");
        await waitForPeople(bob.page, 0, 5000);
        await waitFor(
          bob.page,
          "the notice of Ada's leave",
          async () => (await noticesShown(bob!.page)).includes("Ada Lovelace left"),
        );
      });
    } finally {
      await closeAll(ada, bob);
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "with WebTransport off the page falls back to WebSocket, and a dropped connection comes back without a leave",
  ignore,
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    // Bob reaches the server through a proxy that can cut his connections: a network drop.
    const proxy = new TcpProxy({ hostname: "127.0.0.1", port: server.port });
    proxy.start();
    let ada: MeetingPage | undefined;
    let bob: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("ws");
        ada = await joinMeeting(browser, server.httpUrl, "ada", "Ada", room);
        bob = await joinMeeting(browser, `http://127.0.0.1:${proxy.port}`, "bob", "Bob", room);
        await assertMediaFlows(ada, bob);
        for (const p of [ada.page, bob.page]) {
          const shown = await p.textContent('[data-testid="transport"]');
          assert(shown?.startsWith("WebSocket"), `the transport shown: ${shown}`);
        }
        const before = await framesDecoded(ada.page);
        proxy.dropConnections();
        await bob.page.waitForSelector(".toast >> text=Reconnected", { timeout: 15_000 });
        await waitFor(
          ada.page,
          "more of Bob's video after the reconnect",
          async () => await framesDecoded(ada!.page) > before + 10,
          15_000,
        );
        const shown = await noticesShown(ada.page);
        assert(!shown.some((n) => n.endsWith(" left")), `a leave was shown: ${shown}`);
        await waitForPeople(ada.page, 1);
      });
    } finally {
      await closeAll(ada, bob);
      await proxy.stop();
      await server.stop();
    }
  },
});

Deno.test({
  name: "a page on instance A and a page on instance B (NATS) see and hear each other",
  ignore: ignore || natsUrl === undefined,
  async fn() {
    const { testDatabase } = await import("./support/database.ts");
    const db = await testDatabase();
    const env = {
      NATS_URL: natsUrl!,
      JWT_SECRET: "browser-cluster-test-secret-0123456789",
      ...db.env,
    };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    let ada: MeetingPage | undefined;
    let bob: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("nats");
        ada = await joinMeeting(browser, a.httpUrl, "ada", "Ada", room);
        bob = await joinMeeting(browser, b.httpUrl, "bob", "Bob", room);
        await assertMediaFlows(ada, bob);
        assertEquals(
          await bob.page.getAttribute('[data-testid="tile-camera"]', "data-name"),
          "Ada",
        );
      });
    } finally {
      await closeAll(ada, bob);
      await Promise.all([a.stop(), b.stop()]);
    }
  },
});

Deno.test({
  name: "when the server cannot be reached, or no transport connects, the page says so plainly",
  ignore,
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    let lobby: Awaited<ReturnType<typeof openPage>> | undefined;
    let forced: Awaited<ReturnType<typeof openPage>> | undefined;
    try {
      await withBrowser(async (browser) => {
        // WebTransport demanded where the server has none: no silent empty meeting.
        forced = await openPage(
          browser,
          `${server.httpUrl}/meeting/ada/${uniqueRoom()}?autojoin=1&transport=webtransport`,
        );
        const ended = await forced.page.waitForSelector('[data-testid="ended"]', {
          timeout: 15_000,
        });
        const text = await ended.textContent();
        assert(text?.includes("Cannot reach the meeting"), text ?? "");
        assert(text?.includes("webtransport:"), text ?? "");

        // The server goes away between loading the page and clicking Join.
        lobby = await openPage(browser, `${server.httpUrl}/meeting/bob/${uniqueRoom()}`);
        await lobby.page.waitForSelector('[data-testid="join"]');
        await server.stop();
        await lobby.page.click('[data-testid="join"]');
        const gone = await lobby.page.waitForSelector('[data-testid="ended"]');
        assert((await gone.textContent())?.includes("Cannot reach the server"));
      });
    } finally {
      await forced?.close();
      await lobby?.close();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "a host turns the waiting room on, sees a guest waiting and admits them; then they see and hear each other",
  ignore,
  async fn() {
    const server = await startServerProcess();
    let host: MeetingPage | undefined;
    let guest: MeetingPage | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("wait");
        host = await joinMeeting(browser, server.httpUrl, "hana", "Hana Host", room);
        await host.page.click('[data-testid="open-people"]');
        await host.page.check('[data-testid="waiting-room"]');
        await host.page.waitForFunction(() =>
          document.querySelector<HTMLInputElement>('[data-testid="waiting-room"]')?.checked
        );
        await host.page.click('[data-testid="open-people"]');
        guest = await openMeeting(
          browser,
          server.httpUrl,
          "gus",
          room,
          "name=Gus&autojoin=1&height=240",
        );
        await waitForScreen(guest.page, "waiting", 15_000);
        await host.page.waitForSelector('[data-testid="open-people"] .dot');
        await host.page.click('[data-testid="open-people"]');
        await host.page.click("text=Admit");
        await waitForScreen(guest.page, "in-call");
        await waitForPeople(guest.page, 1);
        await waitForPeople(host.page, 1);
        assertEquals(
          await host.page.getAttribute('[data-testid="tile-camera"]', "data-name"),
          "Gus",
        );
        await assertMediaFlows(host, guest);
      });
    } finally {
      await guest?.close();
      await host?.close();
      await server.stop();
    }
  },
});
