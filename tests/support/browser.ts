/**
 * Headless Chromium for browser tests (docs/ARCHITECTURE.md, "Testing"): Debian's `/usr/bin/chromium` driven by
 * `playwright-core`, never a downloaded browser. Outside CI a missing Chromium skips the browser
 * tests with a loud message; under `CI=true` it is a failure.
 *
 * No flag here weakens what the product must do on its own: QUIC stays on (WebTransport needs
 * it) and no certificate errors are ignored (WebTransport must work with
 * `serverCertificateHashes` alone, docs/PROTOCOL.md, "Certificates for WebTransport in Chromium").
 * The one exception is {@linkcode openPage}'s `ignoreHttpsErrors`, for the test of pages served
 * over HTTPS with a throwaway certificate.
 *
 * @module
 */
import { chromium } from "playwright-core";
import type { Browser, BrowserContext, ConsoleMessage, Page } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** How long a launch may take before it fails. */
export const BROWSER_LAUNCH_TIMEOUT_MS = 30_000;

/** Default timeout of page actions (`goto`, `evaluate`, `waitFor*`) in tests. */
export const PAGE_TIMEOUT_MS = 10_000;

/**
 * Flags added to Playwright's own. Playwright already creates (and removes on close) a fresh
 * temporary `--user-data-dir` and passes `--headless`; `--headless=new` comes after it, and
 * Chromium takes the last value of a repeated switch.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // A camera test pattern and a beep instead of real devices, granted without a prompt.
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // Audio plays without a click (pages join by ?autojoin=1), and screen capture picks a screen.
  "--autoplay-policy=no-user-gesture-required",
  "--auto-select-desktop-capture-source=Entire screen",
];

/** Whether Chromium is installed at {@linkcode CHROMIUM_PATH}. */
export function hasChromium(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

/**
 * Whether browser tests should be ignored: only when Chromium is missing outside CI, after a loud
 * warning. Under `CI=true` they are never ignored, so a missing Chromium fails them (see
 * {@linkcode launchBrowser}). Use as `Deno.test({ ignore: browserTestsIgnored(), ... })`.
 */
export function browserTestsIgnored(): boolean {
  if (hasChromium() || Deno.env.get("CI") === "true") return false;
  console.warn(`\n*** Chromium not found at ${CHROMIUM_PATH}: browser tests are skipped ***\n`);
  return true;
}

/** Launches headless Chromium; the caller must `await browser.close()`. */
export async function launchBrowser(): Promise<Browser> {
  if (!hasChromium()) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}, and browser tests need it`);
  }
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: BROWSER_LAUNCH_TIMEOUT_MS,
  });
}

/** The pages {@linkcode openPage} opened in each browser, so their errors can be checked. */
const openedPages = new WeakMap<Browser, BrowserPage[]>();

/** Uncaught errors (`[pageerror] …`) among a page's messages. */
export function pageErrors(messages: readonly string[]): string[] {
  return messages.filter((m) => m.startsWith("[pageerror]"));
}

/**
 * Runs `fn` with a fresh browser and closes it afterwards, whatever happens. Closing also ends
 * Chromium's process and removes its temporary profile. When `fn` succeeds but any page opened
 * with {@linkcode openPage} in this browser threw an uncaught error or left a promise rejection
 * unhandled, the test fails with those errors: a page that throws never passes quietly.
 */
export async function withBrowser(fn: (browser: Browser) => Promise<void>): Promise<void> {
  const browser = await launchBrowser();
  openedPages.set(browser, []);
  try {
    await fn(browser);
    const errors = (openedPages.get(browser) ?? []).flatMap((p) =>
      pageErrors(p.messages).map((e) => `${p.url}: ${e}`)
    );
    if (errors.length > 0) {
      throw new Error(`A page threw an uncaught error:\n${errors.join("\n")}`);
    }
  } finally {
    await browser.close();
  }
}

/** A page in its own browser context, with everything the page logged. */
export interface BrowserPage {
  /** The address it was opened at. */
  url: string;
  page: Page;
  context: BrowserContext;
  /** Console messages (`[type] text`) and uncaught page errors (`[pageerror] ...`), in order. */
  messages: string[];
  /** Closes the page's context (idempotent). */
  close(): Promise<void>;
}

function formatConsole(message: ConsoleMessage): string {
  return `[${message.type()}] ${message.text()}`;
}

/**
 * Opens `url` in a new, isolated browser context, recording console messages and page errors.
 * `init` runs in the page before its own scripts (see `page_probe.ts`). The caller must
 * `await close()`; {@linkcode withPage} does that for you.
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: {
    init?: () => void;
    viewport?: { width: number; height: number };
    /** Trust any certificate (a test server's self-signed HTTPS). */
    ignoreHttpsErrors?: boolean;
  } = {},
): Promise<BrowserPage> {
  const context = await browser.newContext({
    ...(options.viewport ? { viewport: options.viewport } : {}),
    ...(options.ignoreHttpsErrors ? { ignoreHTTPSErrors: true } : {}),
  });
  context.setDefaultTimeout(PAGE_TIMEOUT_MS);
  let closed: Promise<void> | undefined;
  const close = () => closed ??= context.close();
  const messages: string[] = [];
  try {
    if (options.init) await context.addInitScript(options.init);
    const page = await context.newPage();
    page.on("console", (m) => messages.push(formatConsole(m)));
    page.on("pageerror", (e) => messages.push(`[pageerror] ${e.stack ?? e.message}`));
    const response = await page.goto(url);
    if (response !== null && !response.ok()) {
      throw new Error(`Opening ${url} answered HTTP ${response.status()}`);
    }
    const opened = { url, page, context, messages, close };
    openedPages.get(browser)?.push(opened);
    return opened;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Opens `url` (see {@linkcode openPage}), runs `fn`, and closes the page's context. When `fn`
 * fails, the page's console messages and errors are printed before the error is rethrown.
 */
export async function withPage(
  browser: Browser,
  url: string,
  fn: (page: Page, messages: string[]) => Promise<void>,
): Promise<void> {
  const opened = await openPage(browser, url);
  try {
    await fn(opened.page, opened.messages);
  } catch (error) {
    const log = opened.messages.length === 0 ? "(none)" : opened.messages.join("\n");
    console.error(`Browser console of ${url}:\n${log}`);
    throw error;
  } finally {
    await opened.close();
  }
}
