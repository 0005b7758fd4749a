/**
 * `deno task bench:call`: two headless Chromium pages in one call through our server, as people
 * join it (the app's own pages, Chromium's fake camera and microphone).
 *
 * Reports, per transport:
 * - join-to-first-remote-frame: from pressing Join to the first decoded frame of the person
 *   already there (the second joiner's view), and from the second's arrival for the first;
 * - capture-to-render latency p50/p95 (the capture time travels in each packet; both pages run
 *   on this machine's clock);
 * - CPU of the browser (all Chromium processes) and of the server, as % of one core;
 * - a baseline from the same script: each page encodes and decodes its own camera with no
 *   network or relay in between (the codec floor), and the call's latency as a ratio of it.
 *
 * Flags: `--seconds N` (measured window per transport, default 10), `--height H` (camera
 * height, default 480), `--transport webtransport|websocket|both` (default both),
 * `--e2ee off|on|both` (default both: the WebSocket call runs again end-to-end encrypted, and
 * the per-frame cost of AES-GCM is measured in this process), `--codec vp9|vp8`, `--joins N` (how many times the second person joins, default 3; the
 * join-to-first-frame figure is their median).
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "../tests/support/browser.ts";
import { type ServerProcess, startServerProcess } from "../tests/support/server_process.ts";
import { readCpuSeconds } from "./proc_stats.ts";
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
  },
});
const seconds = Number(flags.seconds);
const joins = Math.max(1, Number(flags.joins));
const height = Number(flags.height);
const transports = flags.transport === "both"
  ? ["webtransport", "websocket"]
  : [flags.transport as string];

// deno-lint-ignore no-explicit-any
type Client = any;
declare const __videocall: Client;

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function chromiumCpuSeconds(): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (!cmd.startsWith("/usr/lib/chromium/chromium") && !cmd.startsWith("/usr/bin/chromium")) {
        continue;
      }
    } catch {
      continue;
    }
    total += (await readCpuSeconds(Number(entry.name))) ?? 0;
  }
  return total;
}

let e2eeParam = "";

function meetingUrl(server: ServerProcess, user: string, room: string): string {
  return `${server.httpUrl}/meeting/${user}/${room}?name=${user}&height=${height}&codec=${flags.codec}${e2eeParam}`;
}

async function open(browser: Browser, server: ServerProcess, user: string, room: string) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  await page.goto(meetingUrl(server, user, room));
  await page.waitForSelector('[data-testid="join"]:not([disabled])');
  return { page, context };
}

async function waitFor(page: Page, what: string, fn: string, ms = 20_000): Promise<void> {
  await withTimeout(
    page.waitForFunction(fn, undefined, { timeout: ms, polling: 50 }),
    ms + 1000,
    what,
  );
}

interface CallResult {
  transport: string;
  firstFrameSecondMs: number;
  firstFrameFirstMs: number;
  latency: number[];
  fps: number[];
  browserCpu: number;
  serverCpu: number;
}

async function runCall(browser: Browser, transport: string): Promise<CallResult> {
  const server = await startServerProcess(transport === "websocket" ? { WT_PORT: "off" } : {});
  try {
    const room = `bench-${transport}-${Date.now().toString(36)}`;
    const a = await open(browser, server, "ada", room);
    const b = await open(browser, server, "bob", room);
    try {
      await a.page.click('[data-testid="join"]');
      await waitFor(a.page, "ada in the call", `__videocall.snapshot.phase === "in-call"`);
      // Bob joins once Ada is sending, `joins` times (a fresh page load each time); his first
      // frame of her is the headline figure.
      await new Promise((r) => setTimeout(r, 1500));
      const firstFrame = `(() => { const r = __videocall.diagnostics().received[0];
        return r && r.video.firstRenderedAt > 0; })()`;
      const secondJoiner: number[] = [];
      const firstJoiner: number[] = [];
      for (let i = 0; i < joins; i++) {
        if (i > 0) {
          await b.page.evaluate(() => __videocall.leave());
          await waitFor(a.page, "bob to leave", "__videocall.snapshot.peers.length === 0");
          await b.page.goto(meetingUrl(server, "bob", room));
          await b.page.waitForSelector('[data-testid="join"]:not([disabled])');
          await new Promise((r) => setTimeout(r, 500));
        }
        await b.page.click('[data-testid="join"]');
        await waitFor(b.page, "bob's first frame of ada", firstFrame);
        await waitFor(a.page, "ada's first frame of bob", firstFrame);
        const phases = await b.page.evaluate(() => {
          const v = __videocall.diagnostics().received[0].video;
          const c = __videocall.connectedAt;
          return {
            total: v.firstRenderedAt - __videocall.joinStartedAt,
            connected: c - __videocall.joinStartedAt,
            packet: v.firstPacketAt - c,
            key: v.firstKeyAt - c,
            tile: v.attachedAt - c,
            frame: v.firstRenderedAt - c,
          };
        });
        secondJoiner.push(phases.total);
        console.log(
          `  join ${i + 1}: first remote frame after ${phases.total.toFixed(0)} ms (connected ` +
            `${phases.connected.toFixed(0)}, then first packet +${phases.packet.toFixed(0)}, ` +
            `key frame +${phases.key.toFixed(0)}, tile +${phases.tile.toFixed(0)}, ` +
            `drawn +${phases.frame.toFixed(0)})`,
        );
        // For Ada: from Bob's arrival in her roster to his first frame (both on her clock).
        firstJoiner.push(
          await a.page.evaluate(() => {
            const r = __videocall.diagnostics().received[0];
            const peer = __videocall.snapshot.peers[0];
            return r.video.firstRenderedAt - (peer.joinedAtMs - performance.timeOrigin);
          }),
        );
      }
      const firstFrameSecondMs = percentile(secondJoiner, 50);
      const firstFrameFirstMs = percentile(firstJoiner, 50);
      const actual = await b.page.evaluate(() => __videocall.snapshot.transport);
      if (actual !== transport) throw new Error(`asked for ${transport}, got ${actual}`);
      // Warm-up, then a clean window.
      await new Promise((r) => setTimeout(r, 2000));
      for (const p of [a.page, b.page]) await p.evaluate(() => __videocall.latency());
      const cpu0 = await chromiumCpuSeconds();
      const server0 = (await readCpuSeconds(server.pid)) ?? 0;
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const elapsed = (performance.now() - t0) / 1000;
      const browserCpu = ((await chromiumCpuSeconds()) - cpu0) / elapsed * 100;
      const serverCpu = (((await readCpuSeconds(server.pid)) ?? 0) - server0) / elapsed * 100;
      const latency: number[] = [];
      const fps: number[] = [];
      for (const p of [a.page, b.page]) {
        latency.push(...await p.evaluate(() => __videocall.latency().values as number[]));
        fps.push(await p.evaluate(() => __videocall.diagnostics().received[0].video.fps as number));
      }
      const rtts = [
        await a.page.evaluate(() => __videocall.diagnostics().rttMs),
        await b.page.evaluate(() => __videocall.diagnostics().rttMs),
      ];
      console.log(`  RTT to the server (page's probe): ${rtts.map((r) => f(r)).join(" / ")} ms`);
      const sent = await a.page.evaluate(() => __videocall.diagnostics().sent.camera);
      console.log(
        `  ada's camera: ${sent.framesEncoded} frames sent, ${sent.keyFrames} key frames ` +
          `(${sent.keyFramesAsked} asked for: start, every 3 s, requests, newcomers), ` +
          `${sent.framesSkipped} skipped`,
      );
      for (const p of [a.page, b.page]) await p.evaluate(() => __videocall.leave());
      return {
        transport,
        firstFrameSecondMs,
        firstFrameFirstMs,
        latency,
        fps,
        browserCpu,
        serverCpu,
      };
    } finally {
      await a.context.close();
      await b.context.close();
    }
  } finally {
    await server.stop();
  }
}

async function runLoopback(browser: Browser): Promise<{ latency: number[]; browserCpu: number }> {
  const server = await startServerProcess({ WT_PORT: "off" });
  try {
    const pages = [
      await open(browser, server, "loop-a", "loopback"),
      await open(browser, server, "loop-b", "loopback"),
    ];
    try {
      const cpu0 = await chromiumCpuSeconds();
      const t0 = performance.now();
      const runs = await Promise.all(
        pages.map((p) =>
          p.page.evaluate(
            (ms) => __videocall.loopbackLatency(ms) as Promise<number[]>,
            seconds * 1000,
          )
        ),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const browserCpu = ((await chromiumCpuSeconds()) - cpu0) / elapsed * 100;
      // The first second is the encoder starting up; drop it like the call's warm-up.
      const latency = runs.flatMap((values) => values.slice(Math.min(values.length, 20)));
      return { latency, browserCpu };
    } finally {
      for (const p of pages) await p.context.close();
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
    `baseline (encode+decode in the page, no network): capture-to-render p50 ${f(baseP50)} ms, ` +
      `p95 ${f(baseP95)} ms (${base.latency.length} frames), browser CPU ${f(base.browserCpu)} %`,
  );
  const runs: [string, boolean][] = [];
  for (const t of transports) {
    if (flags.e2ee !== "on") runs.push([t, false]);
    if (flags.e2ee === "on" || (flags.e2ee === "both" && t === "websocket")) runs.push([t, true]);
  }
  if (flags.e2ee !== "off") await frameCost();
  for (const [transport, encrypted] of runs) {
    e2eeParam = encrypted ? "&e2ee=on" : "";
    const r = await runCall(browser, transport);
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
} finally {
  await browser.close();
}
