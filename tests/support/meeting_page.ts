/**
 * Our meeting page in headless Chromium, driven as a person would: open the page (with the
 * WebCodecs probe installed), wait for what the screen shows — the call's Leave button, the
 * waiting card, the end card, the others' tiles — and read the probe's counters.
 *
 * @module
 */
import type { Browser, Page } from "playwright-core";
import { openPage } from "./browser.ts";
import { framesDecoded, pageProbe, type ProbedPage, probeStats } from "./page_probe.ts";

/** An open meeting page. */
export interface MeetingPage {
  page: Page;
  messages: string[];
  close(): Promise<void>;
}

/** The screen the page shows. */
export type Screen = "in-call" | "waiting" | "ended";

const SCREEN_SELECTORS: Record<Screen, string> = {
  "in-call": '[data-testid="leave"]',
  waiting: '[data-testid="waiting"]',
  ended: '[data-testid="ended"]',
};

/** Opens `/meeting/<user>/<room>` at `origin` with the probe, at 1100x700 unless told. */
export async function openMeeting(
  browser: Browser,
  origin: string,
  user: string,
  room: string,
  query = "",
  viewport = { width: 1100, height: 700 },
): Promise<MeetingPage> {
  return await openPage(browser, `${origin}/meeting/${user}/${room}?${query}`, {
    init: pageProbe,
    viewport,
  });
}

/**
 * Opens the meeting page as `user` called `name`, joining at once (`?autojoin=1`, a 240-line
 * camera), and waits until the page shows the call.
 */
export async function joinMeeting(
  browser: Browser,
  origin: string,
  user: string,
  name: string,
  room: string,
  extra = "",
): Promise<MeetingPage> {
  const query = `name=${encodeURIComponent(name)}&autojoin=1&height=240${extra}`;
  const opened = await openMeeting(browser, origin, user, room, query);
  try {
    await waitForScreen(opened.page, "in-call", 20_000);
  } catch (error) {
    await opened.close();
    throw new Error(`${user} did not join: ${error}\n${opened.messages.join("\n")}`);
  }
  return opened;
}

/** Waits until the page shows `screen`. */
export async function waitForScreen(page: Page, screen: Screen, timeoutMs = 10_000) {
  await page.waitForSelector(SCREEN_SELECTORS[screen], { timeout: timeoutMs });
}

/**
 * Waits until the grid holds exactly `count` other people (on all its pages), and the first page
 * shows as many of their camera tiles as fit on it.
 */
export async function waitForPeople(page: Page, count: number, timeoutMs = 10_000) {
  await page.waitForFunction(
    (n) => {
      const grid = document.querySelector('[data-testid="grid"]') as HTMLElement | null;
      if (grid === null || Number(grid.dataset.people) !== n) return false;
      const tiles = document.querySelectorAll('[data-testid="tile-camera"]').length;
      return grid.dataset.pages === "1" ? tiles === n : tiles > 0;
    },
    count,
    { timeout: timeoutMs },
  );
}

/** Polls `check` (run here, against the page) until it holds, or fails saying `what`. */
export async function waitFor(
  page: ProbedPage,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out waiting for ${what}; probe: ${JSON.stringify(await probeStats(page))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the page decoded `frames` more video frames and `audio` audio frames in all. */
export async function waitForMedia(
  page: ProbedPage,
  who: string,
  frames: number,
  audio: number,
  timeoutMs = 20_000,
): Promise<void> {
  await waitFor(page, `${who} to decode video and audio`, async () => {
    const p = await probeStats(page);
    return (await framesDecoded(page)) >= frames && p.audio.frames >= audio;
  }, timeoutMs);
}

/** A rectangle on the page, in CSS pixels. */
export interface Box {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Where the meeting page's parts are: what the layout tests hold to the window. */
export interface PageLayout {
  header: Box;
  toolbar: Box;
  tiles: Box[];
  /** Each grid tile's session id, in order. */
  sessions: string[];
  pager: Box | null;
  label: string | undefined;
  window: { width: number; height: number };
  /** The header's and the control bar's buttons. */
  chrome: Box[];
}

/** Reads the layout of a meeting page (Chromium's or Firefox's). */
export async function pageLayout(page: ProbedPage): Promise<PageLayout> {
  return await page.evaluate(() => {
    const box = (el: Element) => {
      const r = el.getBoundingClientRect();
      return { top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    };
    const pager = document.querySelector(".pager");
    return {
      header: box(document.querySelector(".topbar")!),
      toolbar: box(document.querySelector(".toolbar")!),
      tiles: [...document.querySelectorAll(".grid .tile")].map(box),
      sessions: [...document.querySelectorAll(".grid .tile")].map((t) =>
        (t as HTMLElement).dataset.session ?? ""
      ),
      pager: pager && box(pager),
      label: document.querySelector('[data-testid="page-label"]')?.textContent ?? undefined,
      window: { width: innerWidth, height: innerHeight },
      chrome: [...document.querySelectorAll(".topbar button, .toolbar button")].map(box),
    };
  }) as PageLayout;
}
