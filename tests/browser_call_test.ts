/**
 * Real calls in headless Chromium: two pages join one meeting through the app's own pages and
 * decode each other's camera and microphone (Chromium's fake devices), then use the controls a
 * person would — mute, camera off, screen share, chat, leave — and each sees the other's.
 * The same call runs over WebTransport, over WebSocket with WebTransport off, and across two
 * servers on NATS.
 */
import type { Browser, Page } from "playwright-core";
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { browserTestsIgnored, openPage, withBrowser } from "./support/browser.ts";
import { uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";

const ignore = browserTestsIgnored();
const natsUrl = await sharedNatsUrl();
/** Where screenshots go (ignored by git). */
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

interface Joined {
  page: Page;
  messages: string[];
  close(): Promise<void>;
}

/** Opens the meeting page as a person would and joins (the page's ?autojoin skips the click). */
async function join(
  browser: Browser,
  server: ServerProcess,
  user: string,
  name: string,
  room: string,
  extra = "",
): Promise<Joined> {
  const url = `${server.httpUrl}/meeting/${user}/${room}?name=${
    encodeURIComponent(name)
  }&autojoin=1&height=240${extra}`;
  const opened = await openPage(browser, url);
  await opened.page.setViewportSize({ width: 1100, height: 700 });
  try {
    await waitInPage(opened.page, "in the call", () => vc().snapshot.phase === "in-call", 20_000);
  } catch (error) {
    await opened.close();
    throw new Error(`${user} did not join: ${error}\n${opened.messages.join("\n")}`);
  }
  return opened;
}

// deno-lint-ignore no-explicit-any
declare const vc: () => any;

/** Polls `predicate` inside the page (where `vc()` is the page's meeting client). */
async function waitInPage(
  page: Page,
  what: string,
  predicate: (() => unknown) | string,
  timeoutMs = 10_000,
): Promise<void> {
  const source = `(() => { const vc = () => globalThis.__videocall; return (${predicate})(); })()`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate(source)) return;
    if (Date.now() > deadline) {
      const state = await page.evaluate(() =>
        JSON.stringify({
          // deno-lint-ignore no-explicit-any
          snapshot: { ...(globalThis as any).__videocall?.snapshot, devices: undefined },
          // deno-lint-ignore no-explicit-any
          received: (globalThis as any).__videocall?.diagnostics().received,
        })
      );
      throw new Error(`Timed out waiting for ${what}; page state: ${state}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What one page receives from the (only) other person. */
async function received(page: Page) {
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const c = (globalThis as any).__videocall;
    return c.diagnostics().received[0];
  });
}

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

/**
 * Asserts that the remote camera tile shows Chromium's fake camera, moving. That camera paints
 * two greens only — a background and a bright disk whose sector sweeps round several times a
 * second — so counting colours proves little (a sparse sample finds two or three). Instead:
 * nearly every pixel is green-dominant (a blank, black or garbled canvas is not), and the bright
 * disk's share of the picture changes between samples (a frozen frame does not).
 */
async function assertShowsFakeCamera(page: Page, who: string): Promise<void> {
  const shares: { green: number; bright: number }[] = [];
  for (let i = 0; i < 8; i++) {
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
    await page.waitForTimeout(90);
  }
  const brights = shares.map((s) => s.bright);
  const detail = `${who}'s remote tile over 8 samples: ${JSON.stringify(shares)}`;
  assert(shares.every((s) => s.green > 0.95), `not the fake camera's picture; ${detail}`);
  assertGreater(Math.max(...brights), 0.05, `no bright disk; ${detail}`);
  assertGreater(Math.max(...brights) - Math.min(...brights), 0.03, `a frozen picture; ${detail}`);
}

/** Both see each other's video move and hear each other's audio. */
async function assertMediaFlows(a: Joined, b: Joined): Promise<void> {
  for (const [who, p] of [["a", a.page], ["b", b.page]] as const) {
    await waitInPage(
      p,
      `${who} to decode video and audio`,
      () => {
        const r = vc().diagnostics().received[0];
        return r && r.video.framesRendered >= 15 && r.audio.frames >= 25;
      },
      20_000,
    );
    const r = await received(p);
    assertEquals(r.video.decodeErrors, 0);
    assertEquals(r.audio.decodeErrors, 0);
    await assertShowsFakeCamera(p, who);
  }
}

async function closeAll(...pages: (Joined | undefined)[]): Promise<void> {
  for (const p of pages) await p?.close();
}

Deno.test({
  name:
    "two people in a call over WebTransport see and hear each other, and see mute, camera off, screen share, chat and leave",
  ignore,
  async fn() {
    const server = await startServerProcess();
    let ada: Joined | undefined;
    let bob: Joined | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("call");
        ada = await join(browser, server, "ada", "Ada Lovelace", room);
        bob = await join(browser, server, "bob", "Bob", room);
        for (const p of [ada.page, bob.page]) {
          await waitInPage(p, "the other person", () => vc().snapshot.peers.length === 1);
          const shown = await p.textContent('[data-testid="transport"]');
          assert(shown?.startsWith("WebTransport"), `the transport shown: ${shown}`);
        }
        assertEquals(
          await bob.page.getAttribute('[data-testid="tile-camera"]', "data-name"),
          "Ada Lovelace",
        );
        await assertMediaFlows(ada, bob);

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
        await waitInPage(
          bob.page,
          "the shared screen to render",
          () => vc().diagnostics().received[0]?.screen.framesRendered >= 5,
          15_000,
        );
        assertGreater(await canvasDetail(bob.page, "tile-screen"), 3, "the screen tile shows it");
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

        // Leaving empties the other's grid.
        await ada.page.click('[data-testid="leave"]');
        await ada.page.waitForSelector('[data-testid="ended"]');
        await bob.page.waitForSelector('[data-testid="tile-camera"]', {
          state: "detached",
          timeout: 5000,
        });
        await waitInPage(bob.page, "the roster to empty", () => vc().snapshot.peers.length === 0);
        const errors = [...ada.messages, ...bob.messages].filter((m) =>
          m.startsWith("[pageerror]")
        );
        assertEquals(errors, []);
      });
    } finally {
      await closeAll(ada, bob);
      await server.stop();
    }
  },
});

Deno.test({
  name: "with WebTransport off the page falls back to WebSocket and the call works",
  ignore,
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    let ada: Joined | undefined;
    let bob: Joined | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("ws");
        ada = await join(browser, server, "ada", "Ada", room);
        bob = await join(browser, server, "bob", "Bob", room);
        await assertMediaFlows(ada, bob);
        // A network drop: Bob's page reconnects into the same session; Ada never sees him go.
        const before = (await received(ada.page)).video.framesRendered;
        await bob.page.evaluate(() => {
          // deno-lint-ignore no-explicit-any
          (globalThis as any).__videocall.call.dropConnection();
        });
        await waitInPage(bob.page, "a reconnect", () => vc().diagnostics().reconnects === 1);
        await waitInPage(
          bob.page,
          "the call again",
          () => vc().snapshot.state.kind === "connected",
        );
        await waitInPage(
          ada.page,
          "more of Bob's video after the reconnect",
          `() => vc().diagnostics().received[0].video.framesRendered > ${before + 10}`,
          15_000,
        );
        assertEquals(
          await ada.page.evaluate(() => document.body.innerText.includes("Bob left")),
          false,
        );
        for (const p of [ada.page, bob.page]) {
          assertEquals(
            // deno-lint-ignore no-explicit-any
            await p.evaluate(() => (globalThis as any).__videocall.snapshot.transport),
            "websocket",
          );
        }
      });
    } finally {
      await closeAll(ada, bob);
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
    let ada: Joined | undefined;
    let bob: Joined | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("nats");
        ada = await join(browser, a, "ada", "Ada", room);
        bob = await join(browser, b, "bob", "Bob", room);
        await assertMediaFlows(ada, bob);
        assert(
          (await bob.page.getAttribute('[data-testid="tile-camera"]', "data-name")) === "Ada",
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
  name: "a host sees a guest in the waiting room and admits them; then they see each other",
  ignore,
  async fn() {
    const server = await startServerProcess();
    let host: Joined | undefined;
    let guest: Awaited<ReturnType<typeof openPage>> | undefined;
    try {
      await withBrowser(async (browser) => {
        const room = uniqueRoom("wait");
        host = await join(browser, server, "hana", "Hana Host", room);
        await host.page.evaluate(async (id) => {
          // deno-lint-ignore no-explicit-any
          await (globalThis as any).__videocall.call.api("PATCH", `/meetings/${id}`, {
            waiting_room_enabled: true,
          });
        }, room);
        guest = await openPage(
          browser,
          `${server.httpUrl}/meeting/gus/${room}?name=Gus&autojoin=1&height=240`,
        );
        await guest.page.waitForSelector("text=Waiting to be let in");
        await host.page.waitForSelector('[data-testid="open-people"] .dot');
        await host.page.click('[data-testid="open-people"]');
        await host.page.click("text=Admit");
        await waitInPage(guest.page, "admission", () => vc().snapshot.phase === "in-call");
        await waitInPage(guest.page, "the host", () => vc().snapshot.peers.length === 1);
        await waitInPage(host.page, "the guest", () => vc().snapshot.peers.length === 1);
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
