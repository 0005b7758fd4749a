/**
 * `deno task bench:cli`: what the headless streamer costs and how many one machine runs.
 *
 * 1. CPU per stream: one streamer (`--debug-send-test-pattern`, VP9, realtime) at 640x480 and
 *    1280x720, 30 fps, into a meeting with one wire-format receiver; CPU of ffmpeg (video and
 *    audio encoders) and of our process, as % of one core, and the rate the receiver got. The
 *    baseline, in the same run, is the same ffmpeg command writing to /dev/null with no streamer:
 *    "ours / baseline" is what our process adds to the encoder.
 * 2. Concurrent streamers: `--count N` in one process (one shared encoder at 320x240, 15 fps; a
 *    connection per streamer) for N = 1, 5, 10, 20, 40 until one step fails: every streamer must
 *    reach the receiver at ≥ 90 % of its frame rate while our process stays under one core.
 *
 * Flags: `--seconds N` per step (default 8), `--transport websocket|webtransport` (default
 * websocket; the Deno WebTransport client costs more per packet), `--max-count N` (default 40).
 *
 * @module
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { decodeMediaPacket, decodePacketWrapper } from "../lib/protocol/codec.ts";
import { MediaType, PacketType } from "../lib/protocol/packets.ts";
import { videoArgs } from "../cli/ffmpeg.ts";
import { parseCommandLine } from "../cli/stream_options.ts";
import { type ServerProcess, startServerProcess } from "../tests/support/server_process.ts";
import { readCpuSeconds } from "./proc_stats.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    transport: { type: "string", default: "websocket" },
    "max-count": { type: "string", default: "40" },
  },
});
const seconds = Number(flags.seconds);
const ROOT = new URL("../", import.meta.url);

/** Counts video packets per sender in one meeting. */
class Receiver {
  readonly frames = new Map<string, number>();
  #ws: WebSocket;
  constructor(server: ServerProcess, room: string) {
    this.#ws = new WebSocket(`${server.wsUrl}/lobby/counter/${room}`, { perMessageDeflate: false });
    this.#ws.on("message", (data: Uint8Array) => {
      const w = decodePacketWrapper(data);
      if (!w.ok || w.value.packetType !== PacketType.MEDIA) return;
      const m = decodeMediaPacket(w.value.data);
      if (!m.ok || m.value.mediaType !== MediaType.VIDEO) return;
      const user = new TextDecoder().decode(w.value.userId);
      this.frames.set(user, (this.frames.get(user) ?? 0) + 1);
    });
  }
  async open(): Promise<void> {
    await new Promise((resolve, reject) => {
      this.#ws.once("open", resolve);
      this.#ws.once("error", reject);
    });
  }
  snapshot(): Map<string, number> {
    return new Map(this.frames);
  }
  close(): void {
    this.#ws.close();
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const status = await Deno.readTextFile(`/proc/${e.name}/status`).catch(() => "");
    if (new RegExp(`^PPid:\\s+${pid}$`, "m").test(status)) out.push(Number(e.name));
  }
  return out;
}

async function cpu(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await readCpuSeconds(pid)) ?? 0;
  return total;
}

function spawnStreamer(server: ServerProcess, room: string, extra: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/stream.ts",
      "stream",
      "--url",
      server.httpUrl,
      "--user-id",
      "bench",
      "--meeting-id",
      room,
      "--debug-send-test-pattern",
      "--quiet",
      "--transport",
      flags.transport!,
      ...(flags.transport === "webtransport" ? ["--insecure-skip-verify"] : []),
      ...extra,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

async function stopChild(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Gone.
  }
  await child.status;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (n: number) => n.toFixed(1);

/** The encoder alone: the same ffmpeg video command, output to /dev/null. */
async function baselineEncoder(width: number, height: number): Promise<number> {
  const parsed = parseCommandLine([
    "stream",
    "--url",
    "http://x",
    "--user-id",
    "b",
    "--meeting-id",
    "b",
    "--debug-send-test-pattern",
    "-r",
    `${width}x${height}`,
    "--fps",
    "30",
  ]); // deno-fmt-ignore
  if (!parsed.ok || parsed.command !== "stream") throw new Error("bad baseline options");
  const args = videoArgs(parsed.options);
  args[args.length - 1] = "/dev/null";
  args.splice(args.indexOf("-flush_packets"), 2);
  args.unshift("-y");
  const child = new Deno.Command("ffmpeg", { args, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  await sleep(1000);
  const c0 = await cpu([child.pid]);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const used = (await cpu([child.pid])) - c0;
  const elapsed = (performance.now() - t0) / 1000;
  await stopChild(child);
  return (used / elapsed) * 100;
}

async function perStream(server: ServerProcess, width: number, height: number): Promise<void> {
  const baseline = await baselineEncoder(width, height);
  const room = `bench-${width}-${Date.now().toString(36)}`;
  const receiver = new Receiver(server, room);
  await receiver.open();
  const child = spawnStreamer(server, room, ["-r", `${width}x${height}`, "--fps", "30"]);
  try {
    await sleep(3000);
    const kids = await childrenOf(child.pid);
    const isAudio = async (pid: number) =>
      (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).includes("libopus");
    const audioKids: number[] = [];
    const videoKids: number[] = [];
    for (const k of kids) (await isAudio(k) ? audioKids : videoKids).push(k);
    const v0 = await cpu(videoKids);
    const a0 = await cpu(audioKids);
    const o0 = await cpu([child.pid]);
    const s0 = (await readCpuSeconds(server.pid)) ?? 0;
    const r0 = receiver.snapshot().get("bench") ?? 0;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const pct = (v: number) => (v / elapsed) * 100;
    const videoCpu = pct((await cpu(videoKids)) - v0);
    const audioCpu = pct((await cpu(audioKids)) - a0);
    const ours = pct((await cpu([child.pid])) - o0);
    const serverCpu = pct(((await readCpuSeconds(server.pid)) ?? 0) - s0);
    const fps = ((receiver.snapshot().get("bench") ?? 0) - r0) / elapsed;
    console.log(
      `${width}x${height} @30: received ${f(fps)} fps; CPU of one core: ffmpeg video ` +
        `${f(videoCpu)} % (the same encoder alone, to /dev/null: ${f(baseline)} %), ffmpeg audio ` +
        `${f(audioCpu)} %, our process ${f(ours)} % (${(ours / videoCpu).toFixed(2)}x the ` +
        `encoder), server ${f(serverCpu)} %`,
    );
  } finally {
    await stopChild(child);
    receiver.close();
  }
}

async function concurrent(server: ServerProcess): Promise<void> {
  const fps = 15;
  const max = Number(flags["max-count"]);
  let held = 0;
  for (const n of [1, 5, 10, 20, 40, 80].filter((x) => x <= max)) {
    const room = `bench-count-${n}-${Date.now().toString(36)}`;
    const receiver = new Receiver(server, room);
    await receiver.open();
    const child = spawnStreamer(server, room, [
      "-r",
      "320x240",
      "--fps",
      String(fps),
      "--count",
      String(n),
    ]); // deno-fmt-ignore
    try {
      // Connections come up one by one; give them time.
      await sleep(3000 + n * 50);
      const kids = await childrenOf(child.pid);
      const before = receiver.snapshot();
      const o0 = await cpu([child.pid]);
      const f0 = await cpu(kids);
      const s0 = (await readCpuSeconds(server.pid)) ?? 0;
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const elapsed = (performance.now() - t0) / 1000;
      const after = receiver.snapshot();
      const rates: number[] = [];
      for (let i = 1; i <= n; i++) {
        const user = n === 1 ? "bench" : `bench-${i}`;
        rates.push(((after.get(user) ?? 0) - (before.get(user) ?? 0)) / elapsed);
      }
      const ours = ((await cpu([child.pid])) - o0) / elapsed * 100;
      const enc = ((await cpu(kids)) - f0) / elapsed * 100;
      const serverCpu = (((await readCpuSeconds(server.pid)) ?? 0) - s0) / elapsed * 100;
      const worst = Math.min(...rates);
      const ok = worst >= fps * 0.9 && ours < 100;
      console.log(
        `${String(n).padStart(3)} streamers: worst ${f(worst)} fps, mean ${
          f(rates.reduce((a, b) => a + b, 0) / n)
        } fps of ${fps}; our process ${f(ours)} % (${f(ours / n)} % per streamer), encoder ` +
          `${f(enc)} %, server ${f(serverCpu)} % — ${ok ? "held" : "not held"}`,
      );
      if (!ok) break;
      held = n;
    } finally {
      await stopChild(child);
      receiver.close();
    }
  }
  console.log(`sustained: ${held} concurrent test-pattern streamers (one process, 2 cores)`);
}

const server = await startServerProcess({ MAX_PACKETS_PER_SECOND: "100000" });
try {
  console.log(
    `bench:cli — ${flags.transport}, ${seconds} s per step, ${navigator.hardwareConcurrency} cores`,
  );
  await perStream(server, 640, 480);
  await perStream(server, 1280, 720);
  await concurrent(server);
} finally {
  await server.stop();
}
