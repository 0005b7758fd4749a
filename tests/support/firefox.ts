/**
 * Headless Firefox for browser tests: Debian's `firefox-esr` driven by `puppeteer-core` over
 * WebDriver BiDi (Playwright drives only its own patched Firefox). Its fake devices stand in for a
 * camera and a microphone without a prompt. Like Chromium: outside CI a missing Firefox skips its
 * tests loudly; under `CI=true` it is a failure. A page that throws fails the test
 * ({@linkcode withFirefox}).
 *
 * @module
 */
import puppeteer from "puppeteer-core";
import type { Browser, Page } from "puppeteer-core";
import { pageProbe } from "./page_probe.ts";

/** Where Debian installs Firefox ESR. */
export const FIREFOX_PATH = "/usr/bin/firefox-esr";

/** Preferences of the test profile. */
const PREFS: Record<string, unknown> = {
  // Fake camera (moving colour frames) and microphone (a tone), granted without asking.
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  // Audio contexts run and audio plays without a click (pages join by ?autojoin=1; a person's
  // click on Join is what allows it otherwise).
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "media.autoplay.block-webaudio": false,
  // Audio goes to the test's PulseAudio null sink (see startSoundServer).
  "media.cubeb.backend": "pulse",
};

/** Whether Firefox tests should be ignored: only when it is missing outside CI (loudly). */
export function firefoxIgnored(): boolean {
  const missing = [FIREFOX_PATH, PULSEAUDIO_PATH].filter((path) => {
    try {
      return !Deno.statSync(path).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return false;
  if (Deno.env.get("CI") === "true") return false; // launching fails the test
  console.warn(`\n*** ${missing.join(" and ")} not found: Firefox tests are skipped ***\n`);
  return true;
}

/** A Firefox page with everything it logged (`[type] text`, `[pageerror] …`). */
export interface FirefoxPage {
  page: Page;
  messages: string[];
  close(): Promise<void>;
}

/**
 * Runs `fn` with a fresh headless Firefox and closes it afterwards; fails the test when `fn`
 * succeeded but a page opened with {@linkcode openFirefoxPage} threw an uncaught error.
 */
export async function withFirefox(fn: (browser: Browser) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "firefox-home-" });
  const sound = await startSoundServer(home).catch(async (error) => {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw error;
  });
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: PREFS,
    timeout: 30_000,
    env: { ...Deno.env.toObject(), HOME: home, PULSE_SERVER: `unix:${sound.socket}` },
  }).catch(async (error) => {
    await sound.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
    throw error;
  });
  const pages: FirefoxPage[] = [];
  opened.set(browser, pages);
  try {
    await fn(browser);
    const errors = pages.flatMap((p) => p.messages.filter((m) => m.startsWith("[pageerror]")));
    if (errors.length > 0) throw new Error(`A Firefox page threw:\n${errors.join("\n")}`);
  } finally {
    try {
      await browser.close();
    } finally {
      await sound.stop();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  }
}

/** Where Debian installs PulseAudio. */
export const PULSEAUDIO_PATH = "/usr/bin/pulseaudio";

/**
 * A PulseAudio server of this test's own with one null sink, in `dir`. Firefox runs an audio
 * context (the page's microphone capture and playout) only on an output device, and a machine
 * without a sound card has none; ALSA's null device has no clock (a context on it ran 80x
 * faster than real time). The null sink plays in real time and discards, as Chromium's headless
 * audio does. Run as root, PulseAudio wants system mode (it then drops to the `pulse` user, so
 * the socket's directory is open to it).
 */
async function startSoundServer(dir: string): Promise<{ socket: string; stop(): Promise<void> }> {
  const socketDir = `${dir}/pulse`;
  await Deno.chmod(dir, 0o711); // the `pulse` user passes through to its directory
  await Deno.mkdir(socketDir);
  await Deno.chmod(socketDir, 0o777);
  const socket = `${socketDir}/native`;
  const root = Deno.uid() === 0;
  const child = new Deno.Command(PULSEAUDIO_PATH, {
    args: [
      ...(root ? ["--system"] : []),
      "--daemonize=no",
      "--use-pid-file=no",
      "--exit-idle-time=-1",
      "-n",
      "--load=module-null-sink sink_name=null",
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
      "--log-target=stderr",
      "--log-level=error",
    ],
    stdout: "null",
    stderr: "piped",
    env: { HOME: dir },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  for (let i = 0; i < 100; i++) {
    if (await Deno.stat(socket).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await Deno.stat(socket).then(() => true, () => false))) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`PulseAudio did not start:\n${await stderr}`);
  }
  return {
    socket,
    async stop() {
      const kill = (signal: Deno.Signal) => {
        try {
          child.kill(signal);
        } catch {
          // Gone.
        }
      };
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 3000);
      await child.status;
      clearTimeout(timer);
      await stderr;
    },
  };
}

const opened = new WeakMap<Browser, FirefoxPage[]>();

/** Opens `url` in a new page with the probe installed before the page's own scripts. */
export async function openFirefoxPage(
  browser: Browser,
  url: string,
  viewport = { width: 1100, height: 700 },
): Promise<FirefoxPage> {
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  const messages: string[] = [];
  page.on("console", (m) => messages.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => messages.push(`[pageerror] ${e}`));
  await page.setViewport(viewport);
  await page.evaluateOnNewDocument(pageProbe);
  await page.goto(url);
  const result: FirefoxPage = {
    page,
    messages,
    close: () => page.close().catch(() => {}),
  };
  opened.get(browser)?.push(result);
  return result;
}
