/**
 * `deno task bench:call`: two headless Chromium pages in one call through our server, as people
 * join it (the app's own pages, Chromium's fake camera and microphone). Nothing in the pages is
 * instrumented for it: the WebCodecs probe of the browser tests (`tests/support/page_probe.ts`)
 * counts what the pages encode and decode, and everything else is read off the screen.
 *
 * Reports, per transport:
 * - join-to-first-remote-frame: from pressing Join to the first decoded frame of the person
 *   already there (the second joiner's view), and for the first from the moment their page
 *   learned of the newcomer (it warms a decoder then) to the newcomer's first frame;
 * - capture-to-render latency p50/p95: the capture time travels in each packet (both pages run
 *   on this machine's clock) and is read when the decoder hands the frame to the page, which
 *   draws it at once;
 * - CPU of the browser (all Chromium processes) and of the server, as % of one core;
 * - a baseline from the same script: each page encodes and decodes its own camera with
 *   WebCodecs alone, in the page, with the same encoder settings — the codec floor — and the
 *   call's latency as a ratio of it.
 *
 * Flags: `--seconds N` (measured window per transport, default 10), `--height H` (camera
 * height, default 480), `--transport webtransport|webtransport-single|websocket|both` (default
 * both: all three; `webtransport-single` opens the pages with `?framing=single`, one packet per
 * QUIC stream as videocall-rs sends, the baseline that grouped framing replaced),
 * `--e2ee off|on|both` (default both: the WebSocket call runs again end-to-end encrypted, and
 * the per-frame cost of AES-GCM is measured in this process), `--codec vp9|vp8`, `--joins N`
 * (how many times the second person joins, default 3; the join figure is their median),
 * `--firefox on|off` (default on: then a call between a Chromium page and a Firefox ESR page on
 * each transport asked for, with the join, each direction's capture-to-render and each browser's
 * CPU set beside the two-Chromium call of the same transport).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage } from "../tests/support/browser.ts";
import {
  type MeetingPage,
  openMeeting,
  waitForPeople,
  waitForScreen,
} from "../tests/support/meeting_page.ts";
import { type ProbedPage, probeStats, takeLatencies } from "../tests/support/page_probe.ts";
import { openFirefoxPage, withFirefox } from "../tests/support/firefox.ts";
import { type ServerProcess, startServerProcess } from "../tests/support/server_process.ts";
import { chromiumCpuSeconds, firefoxCpuSeconds, readCpuSeconds } from "./proc_stats.ts";
import { withTimeout } from "./with_timeout.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "10" },
    height: { type: "string", default: "480" },
    transport: { type: "string", default: "both" },
    codec: { type: "string", default: "vp9" },
    joins: { type: "string", default: "3" },
    e2ee: { type: "string", default: "both" },
    firefox: { type: "string", default: "on" },
  },
});
const seconds = Number(flags.seconds);
const joins = Math.max(1, Number(flags.joins));
const height = Number(flags.height);
const transports = flags.transport === "both"
  ? ["webtransport", "webtransport-single", "websocket"]
  : [flags.transport as string];

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

let e2eeParam = "";
let framingParam = "";

function query(user: string): string {
  return `name=${user}&height=${height}&codec=${flags.codec}${e2eeParam}${framingParam}`;
}

async function open(browser: Browser, server: ServerProcess, user: string, room: string) {
  const opened = await openMeeting(browser, server.httpUrl, user, room, query(user));
  await opened.page.waitForSelector('[data-testid="join"]:not([disabled])');
  return opened;
}

/** Presses Join and returns the page's clock when the click reached it. */
async function pressJoin(page: Page): Promise<number> {
  await page.click('[data-testid="join"]');
  return (await probeStats(page)).lastClickAt;
}

/** Waits until a decoder of the page has drawn a frame; returns that decoder's figures. */
async function firstFrame(page: ProbedPage, what: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const drawn = (await probeStats(page)).decoders.find((d) => d.firstFrameAt > 0);
    if (drawn) return drawn;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The transport and RTT the page shows in its header. */
async function shownTransport(page: Page): Promise<{ transport: string; rttMs: number }> {
  const text = (await page.textContent('[data-testid="transport"]')) ?? "";
  const rtt = /· (\d+) ms/.exec(text);
  return { transport: text.split(" ")[0].toLowerCase(), rttMs: rtt ? Number(rtt[1]) : NaN };
}

interface CallResult {
  firstFrameSecondMs: number;
  firstFrameFirstMs: number;
  latency: number[];
  fps: number[];
  browserCpu: number;
  serverCpu: number;
}

async function runCall(browser: Browser, run: string): Promise<CallResult> {
  const transport = run.startsWith("webtransport") ? "webtransport" : run;
  framingParam = run === "webtransport-single" ? "&framing=single" : "";
  const server = await startServerProcess(transport === "websocket" ? { WT_PORT: "off" } : {});
  let a: MeetingPage | undefined;
  let b: MeetingPage | undefined;
  try {
    const room = `bench-${transport}-${Date.now().toString(36)}`;
    a = await open(browser, server, "ada", room);
    await pressJoin(a.page);
    await waitForScreen(a.page, "in-call", 20_000);
    // Bob joins once Ada is sending, `joins` times (a fresh page load each time); his first
    // frame of her is the headline figure.
    await new Promise((r) => setTimeout(r, 1500));
    const secondJoiner: number[] = [];
    const firstJoiner: number[] = [];
    for (let i = 0; i < joins; i++) {
      if (i > 0) {
        await b!.page.click('[data-testid="leave"]');
        await waitForPeople(a.page, 0);
        await b!.close();
        await new Promise((r) => setTimeout(r, 500));
      }
      const decodersBefore = (await probeStats(a.page)).decoders.length;
      // A new browser profile each time, so a new guest session: under the same user id it
      // would be refused (a meeting's ids belong to the session that took them first,
      // docs/SECURITY.md), so each join is another person.
      b = await open(browser, server, `bob${i + 1}`, room);
      const clickedAt = await pressJoin(b.page);
      const mine = await withTimeout(firstFrame(b.page, "bob's first frame"), 25_000, "bob");
      const total = mine.firstFrameAt - clickedAt;
      secondJoiner.push(total);
      const connection = (await probeStats(b.page)).connections.at(-1);
      const at = (t: number | undefined) =>
        t === undefined ? "?" : `+${(t - clickedAt).toFixed(0)}`;
      console.log(
        `  join ${i + 1}: first remote frame after ${total.toFixed(0)} ms (${
          connection?.kind ?? "no"
        } connection opened ${at(connection?.at)}, the other known ${at(mine.createdAt)}, ` +
          `first key frame ${at(mine.firstKeyAt)}, drawn ${at(mine.firstFrameAt)})`,
      );
      // For Ada: from learning of Bob (her page warms a decoder for him) to his first frame.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const hers = (await probeStats(a.page)).decoders.slice(decodersBefore)
          .find((d) => d.firstFrameAt > 0);
        if (hers) {
          firstJoiner.push(hers.firstFrameAt - hers.createdAt);
          break;
        }
        if (Date.now() > deadline) throw new Error("ada never saw bob");
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const shown = await shownTransport(b!.page);
    if (shown.transport !== transport) {
      throw new Error(`asked for ${transport}, the page shows ${shown.transport}`);
    }
    // Warm-up, then a clean window.
    await new Promise((r) => setTimeout(r, 2000));
    const pages = [a.page, b!.page];
    for (const p of pages) await takeLatencies(p);
    const frames0 = await Promise.all(pages.map((p) => totalFrames(p)));
    const encoded0 = await probeStats(a.page);
    const cpu0 = await chromiumCpuSeconds();
    const server0 = (await readCpuSeconds(server.pid)) ?? 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (performance.now() - t0) / 1000;
    const browserCpu = ((await chromiumCpuSeconds()) - cpu0) / elapsed * 100;
    const serverCpu = (((await readCpuSeconds(server.pid)) ?? 0) - server0) / elapsed * 100;
    const latency: number[] = [];
    const fps: number[] = [];
    for (const [i, p] of pages.entries()) {
      latency.push(...await takeLatencies(p));
      fps.push(((await totalFrames(p)) - frames0[i]) / elapsed);
    }
    const rtts = [(await shownTransport(a.page)).rttMs, (await shownTransport(b!.page)).rttMs];
    console.log(`  RTT to the server (the pages' header): ${rtts.map(f).join(" / ")} ms`);
    const encoded = await probeStats(a.page);
    console.log(
      `  ada's camera in the window: ${encoded.encoder.chunks - encoded0.encoder.chunks} frames ` +
        `encoded, ${encoded.encoder.keys - encoded0.encoder.keys} key frames`,
    );
    return {
      firstFrameSecondMs: percentile(secondJoiner, 50),
      firstFrameFirstMs: percentile(firstJoiner, 50),
      latency,
      fps,
      browserCpu,
      serverCpu,
    };
  } finally {
    await a?.close();
    await b?.close();
    await server.stop();
  }
}

interface MixedResult {
  /** Firefox's join: from its Join click to its first frame of the Chromium page. */
  firefoxFirstFrameMs: number;
  /** Capture-to-render of what each browser receives, and its frame rate. */
  intoFirefox: number[];
  intoChromium: number[];
  fps: { firefox: number; chromium: number };
  cpu: { firefox: number; chromium: number; server: number };
}

/** A Chromium page (Ada) and a Firefox page (Fox) in one call over `transport`. */
async function runMixedCall(chromium: Browser, transport: string): Promise<MixedResult> {
  const server = await startServerProcess(transport === "websocket" ? { WT_PORT: "off" } : {});
  let a: MeetingPage | undefined;
  try {
    const room = `bench-ff-${transport}-${Date.now().toString(36)}`;
    framingParam = "";
    e2eeParam = "";
    a = await open(chromium, server, "ada", room);
    await pressJoin(a.page);
    await waitForScreen(a.page, "in-call", 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    let result: MixedResult | undefined;
    await withFirefox(async (firefox) => {
      const fox = await openFirefoxPage(
        firefox,
        `${server.httpUrl}/meeting/fox/${room}?${query("fox")}&transport=${transport}`,
      );
      try {
        await fox.page.waitForSelector('[data-testid="join"]:not([disabled])', {
          timeout: 20_000,
        });
        await fox.page.click('[data-testid="join"]');
        const clickedAt = (await probeStats(fox.page)).lastClickAt;
        const mine = await withTimeout(firstFrame(fox.page, "fox's first frame"), 25_000, "fox");
        const shown = await fox.page.$eval('[data-testid="transport"]', (el) => el.textContent);
        if (!shown?.toLowerCase().startsWith(transport)) {
          throw new Error(`asked for ${transport}, Firefox shows ${shown}`);
        }
        await waitForPeople(a!.page, 1);
        await new Promise((r) => setTimeout(r, 2000));
        await takeLatencies(a!.page);
        await takeLatencies(fox.page);
        const frames0 = [await totalFrames(fox.page), await totalFrames(a!.page)];
        const cpu0 = [await firefoxCpuSeconds(), await chromiumCpuSeconds()];
        const server0 = (await readCpuSeconds(server.pid)) ?? 0;
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const elapsed = (performance.now() - t0) / 1000;
        const cpu1 = [await firefoxCpuSeconds(), await chromiumCpuSeconds()];
        const server1 = (await readCpuSeconds(server.pid)) ?? 0;
        result = {
          firefoxFirstFrameMs: mine.firstFrameAt - clickedAt,
          intoFirefox: await takeLatencies(fox.page),
          intoChromium: await takeLatencies(a!.page),
          fps: {
            firefox: ((await totalFrames(fox.page)) - frames0[0]) / elapsed,
            chromium: ((await totalFrames(a!.page)) - frames0[1]) / elapsed,
          },
          cpu: {
            firefox: (cpu1[0] - cpu0[0]) / elapsed * 100,
            chromium: (cpu1[1] - cpu0[1]) / elapsed * 100,
            server: (server1 - server0) / elapsed * 100,
          },
        };
      } finally {
        await fox.close();
      }
    });
    return result!;
  } finally {
    await a?.close();
    await server.stop();
  }
}

async function totalFrames(page: ProbedPage): Promise<number> {
  return (await probeStats(page)).decoders.reduce((n, d) => n + d.frames, 0);
}

/**
 * The codec floor: the page's camera encoded and decoded by WebCodecs alone for `ms`, with the
 * settings our sender uses (realtime, constant bitrate); returns capture-to-decode samples.
 */
function loopbackInPage(
  args: { ms: number; height: number; codec: string },
): Promise<number[]> {
  return (async () => {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { height: { ideal: args.height }, width: { ideal: Math.round(args.height * 16 / 9) } },
    });
    const track = stream.getVideoTracks()[0];
    const { width = 640, height = 480 } = track.getSettings();
    const latencies: number[] = [];
    const decoder = new VideoDecoder({
      output: (frame) => {
        latencies.push(performance.timeOrigin + performance.now() - frame.timestamp / 1000);
        frame.close();
      },
      error: () => {},
    });
    decoder.configure({ codec: args.codec, optimizeForLatency: true });
    const encoder = new VideoEncoder({
      output: (chunk) => decoder.decode(chunk),
      error: () => {},
    });
    encoder.configure({
      codec: args.codec,
      width,
      height,
      bitrate: Math.round(800_000 * (width * height) / (960 * 540)),
      framerate: 30,
      latencyMode: "realtime",
      bitrateMode: "constant",
    });
    // deno-lint-ignore no-explicit-any
    const Processor = (globalThis as any).MediaStreamTrackProcessor;
    const reader: ReadableStreamDefaultReader<VideoFrame> = new Processor({ track }).readable
      .getReader();
    const end = performance.now() + args.ms;
    let n = 0;
    while (performance.now() < end) {
      const { value } = await reader.read();
      if (!value) break;
      const stamped = new VideoFrame(value, {
        timestamp: Math.round((performance.timeOrigin + performance.now()) * 1000),
      });
      value.close();
      if (encoder.encodeQueueSize <= 2) encoder.encode(stamped, { keyFrame: n++ % 90 === 0 });
      stamped.close();
    }
    await encoder.flush();
    await decoder.flush();
    track.stop();
    return latencies;
  })();
}

async function runLoopback(browser: Browser): Promise<{ latency: number[]; browserCpu: number }> {
  const server = await startServerProcess({ WT_PORT: "off" });
  try {
    const pages = [
      await openPage(browser, `${server.httpUrl}/healthz`),
      await openPage(browser, `${server.httpUrl}/healthz`),
    ];
    try {
      const codec = flags.codec === "vp8" ? "vp8" : "vp09.00.10.08";
      const cpu0 = await chromiumCpuSeconds();
      const t0 = performance.now();
      const runs = await Promise.all(
        pages.map((p) => p.page.evaluate(loopbackInPage, { ms: seconds * 1000, height, codec })),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const browserCpu = ((await chromiumCpuSeconds()) - cpu0) / elapsed * 100;
      // The first second is the encoder starting up; drop it like the call's warm-up.
      const latency = runs.flatMap((values) => values.slice(Math.min(values.length, 20)));
      return { latency, browserCpu };
    } finally {
      for (const p of pages) await p.close();
    }
  } finally {
    await server.stop();
  }
}

const f = (n: number) => Number.isFinite(n) ? n.toFixed(1) : "n/a";

/** AES-GCM per frame in this process (Deno's WebCrypto), for typical frame sizes. */
async function frameCost(): Promise<void> {
  const { SenderKey } = await import("../lib/client/e2ee/sender_key.ts");
  const { encryptFrame, decryptFrame } = await import("../lib/client/e2ee/frame_cipher.ts");
  const key = await SenderKey.fresh(1 << 16);
  const parts: string[] = [];
  for (const size of [100, 2_000, 20_000, 100_000]) {
    const frame = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
    const data = size > 65536 ? new Uint8Array(size) : frame;
    const n = size >= 20_000 ? 500 : 2000;
    const header = { senderSession: 1n, mediaType: 1, keyId: key.keyId, sequence: 0n, key: false };
    const t0 = performance.now();
    let sealed = new Uint8Array(0);
    for (let i = 0; i < n; i++) sealed = await encryptFrame(key, header, data);
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await decryptFrame(key, header, sealed);
    const t2 = performance.now();
    parts.push(
      `${size} B: encrypt ${((t1 - t0) / n * 1000).toFixed(0)} µs, decrypt ${
        ((t2 - t1) / n * 1000).toFixed(0)
      } µs`,
    );
  }
  console.log(`E2EE cost per frame (AES-GCM-128, Deno WebCrypto): ${parts.join("; ")}`);
}

const browser = await launchBrowser();
try {
  console.log(
    `bench:call — 2 pages, camera ${height}p, ${flags.codec}, ${seconds} s measured per run, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
  const base = await runLoopback(browser);
  const baseP50 = percentile(base.latency, 50);
  const baseP95 = percentile(base.latency, 95);
  console.log(
    `baseline (WebCodecs encode+decode in the page, no network): capture-to-render p50 ` +
      `${f(baseP50)} ms, p95 ${f(baseP95)} ms (${base.latency.length} frames), browser CPU ` +
      `${f(base.browserCpu)} %`,
  );
  const runs: [string, boolean][] = [];
  for (const t of transports) {
    if (flags.e2ee !== "on") runs.push([t, false]);
    if (flags.e2ee === "on" || (flags.e2ee === "both" && t === "websocket")) runs.push([t, true]);
  }
  if (flags.e2ee !== "off") await frameCost();
  const chromiumPairs = new Map<string, CallResult>();
  for (const [transport, encrypted] of runs) {
    e2eeParam = encrypted ? "&e2ee=on" : "";
    const r = await runCall(browser, transport);
    if (!encrypted) chromiumPairs.set(transport, r);
    const p50 = percentile(r.latency, 50);
    const p95 = percentile(r.latency, 95);
    console.log(
      `${transport}${encrypted ? " (E2EE)" : ""}: join-to-first-remote-frame median ${
        f(r.firstFrameSecondMs)
      } ms (second joiner), ` +
        `${f(r.firstFrameFirstMs)} ms (first, from the arrival); ` +
        `capture-to-render p50 ${f(p50)} ms, p95 ${f(p95)} ms (${r.latency.length} frames, ` +
        `${r.fps.map(f).join(" / ")} fps); ratio to baseline p50 ${f(p50 / baseP50)}x, ` +
        `p95 ${f(p95 / baseP95)}x; CPU browser ${f(r.browserCpu)} %, server ${f(r.serverCpu)} %`,
    );
  }
  if (flags.firefox === "on") {
    for (const transport of transports.filter((t) => t !== "webtransport-single")) {
      const m = await runMixedCall(browser, transport);
      const pair = chromiumPairs.get(transport);
      const pairP50 = pair ? percentile(pair.latency, 50) : NaN;
      const intoFirefox = percentile(m.intoFirefox, 50);
      const intoChromium = percentile(m.intoChromium, 50);
      console.log(
        `${transport}, Chromium + Firefox: Firefox's join-to-first-remote-frame ${
          f(m.firefoxFirstFrameMs)
        } ms; capture-to-render into Firefox p50 ${f(intoFirefox)} ms, p95 ${
          f(percentile(m.intoFirefox, 95))
        } ms (${f(m.fps.firefox)} fps), into Chromium p50 ${f(intoChromium)} ms, p95 ${
          f(percentile(m.intoChromium, 95))
        } ms (${f(m.fps.chromium)} fps); ratio to the two-Chromium call's p50: into Firefox ${
          f(intoFirefox / pairP50)
        }x, into Chromium ${f(intoChromium / pairP50)}x; CPU Firefox ${f(m.cpu.firefox)} % ` +
          `(one page), Chromium ${f(m.cpu.chromium)} % (one page; two pages: ${
            f(pair?.browserCpu ?? NaN)
          } %), server ${f(m.cpu.server)} %`,
      );
    }
  }
} finally {
  await browser.close();
}
