/**
 * `deno task load`: a load test of one meeting, with the flags `lk load-test` users know. Plans
 * who joins where and when, runs the participants in worker processes (`worker.ts`), and prints
 * joins per second, time to first media, delivered packets per second by class, send → receive
 * latency, loss by class and the servers' CPU and memory (from their `/metrics`) — live, then
 * as a final table (or JSON with `--json`). It stops by itself after `--duration`.
 *
 * @module
 */
import { mintToken } from "../../lib/auth/tokens.ts";
import { LatencyHistogram } from "../stats.ts";
import { readCpuSeconds, readHostCpuSeconds } from "../proc_stats.ts";
import { LOAD_HELP, type LoadOptions, parseLoadOptions } from "./options.ts";
import type { PlannedParticipant, WorkerPlan, WorkerReport } from "./plan.ts";

/** Time the workers get to start before the first join, in ms. */
const STARTUP_MS = 3000;
/** Time after the last join before measuring starts (viewports settle), in ms. */
const SETTLE_MS = 3000;

/** What the servers' /metrics say, summed over the servers. */
export interface ServerFigures {
  cpuSeconds: number;
  rssBytes: number[];
  dropsByClass: Record<string, number>;
  filtered: Record<string, number>;
  downlinkCongestion: number;
}

/** The figures of a whole run. */
export interface LoadResult {
  participants: number;
  joinsTried: number;
  joined: number;
  failed: number;
  failures: Record<string, number>;
  joinsPerSecond: number;
  joinMs: { p50: number; p99: number };
  firstMediaMs: { p50: number; p99: number; max: number; lastJoiner?: number };
  measuredSeconds: number;
  deliveredPerSecond: { video: number; videoByLayer: number[]; audio: number; control: number };
  receivedMbps: number;
  latencyMs: { video: { p50: number; p99: number }; audio: { p50: number; p99: number } };
  lost: { video: number; audio: number };
  serverDrops: Record<string, number>;
  filtered: Record<string, number>;
  downlinkCongestion: number;
  serverCpuPercent: number;
  serverRssMb: number[];
  /** The load generator's own CPU while measuring (its workers), percent of one core. */
  generatorCpuPercent?: number;
  /** The whole machine while measuring, percent of one core (up to 100 × cores). */
  hostCpuPercent?: number;
  closedEarly: Record<string, number>;
}

/** Reads the figures this tool uses from a server's Prometheus text. */
export function parseServerMetrics(text: string): ServerFigures {
  const out: ServerFigures = {
    cpuSeconds: 0,
    rssBytes: [],
    dropsByClass: {},
    filtered: {},
    downlinkCongestion: 0,
  };
  for (const line of text.split("\n")) {
    const m = /^videocall_([a-z_]+)(?:\{([a-z_]+)="([^"]*)"\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const [, name, , label, raw] = m;
    const value = Number(raw);
    if (name === "process_cpu_seconds_total") out.cpuSeconds += value;
    else if (name === "process_resident_memory_bytes") out.rssBytes.push(value);
    else if (name === "dropped_packets_total") out.dropsByClass[label] = value;
    else if (name === "filtered_packets_total") out.filtered[label] = value;
    else if (name === "downlink_congestion_notices_total") out.downlinkCongestion += value;
  }
  return out;
}

async function scrape(urls: string[]): Promise<ServerFigures> {
  const total: ServerFigures = {
    cpuSeconds: 0,
    rssBytes: [],
    dropsByClass: {},
    filtered: {},
    downlinkCongestion: 0,
  };
  await Promise.all(urls.map(async (url) => {
    try {
      const response = await fetch(`${url.replace(/^ws/, "http").replace(/\/+$/, "")}/metrics`, {
        signal: AbortSignal.timeout(2000),
      });
      const f = parseServerMetrics(await response.text());
      total.cpuSeconds += f.cpuSeconds;
      total.rssBytes.push(...f.rssBytes);
      total.downlinkCongestion += f.downlinkCongestion;
      for (const [k, v] of Object.entries(f.dropsByClass)) {
        total.dropsByClass[k] = (total.dropsByClass[k] ?? 0) + v;
      }
      for (const [k, v] of Object.entries(f.filtered)) {
        total.filtered[k] = (total.filtered[k] ?? 0) + v;
      }
    } catch {
      // A server that does not answer: its figures are missing from the sums.
    }
  }));
  return total;
}

/** Who joins where, in which worker, and when. */
export async function planRun(o: LoadOptions, nowMs: number): Promise<WorkerPlan[]> {
  const secret = o.jwtSecret === undefined ? undefined : new TextEncoder().encode(o.jwtSecret);
  const startAtMs = nowMs + STARTUP_MS;
  const joiningMs = (o.participants / o.numPerSecond) * 1000;
  const measureFromMs = startAtMs + joiningMs + SETTLE_MS;
  const plans: WorkerPlan[] = [];
  for (let w = 0; w < o.workers; w++) {
    plans.push({
      worker: w,
      room: o.room,
      transport: o.transport,
      layout: o.layout,
      simulcast: o.simulcast,
      participants: [],
      // Worker w's k-th participant is the run's (k * workers + w)-th: joins interleave.
      startAtMs: startAtMs + (w * 1000) / o.numPerSecond,
      measureFromMs,
      endAtMs: measureFromMs + o.durationMs,
      joinIntervalMs: (o.workers * 1000) / o.numPerSecond,
      speakers: o.speakers,
      audioPublishers: o.audioPublishers,
      lastIndex: o.participants - 1,
    });
  }
  for (let i = 0; i < o.participants; i++) {
    const userId = `load-${i}`;
    const p: PlannedParticipant = {
      index: i,
      userId,
      url: o.urls[i % o.urls.length],
      video: i < o.videoPublishers,
      audio: i < o.audioPublishers,
      audioIndex: i < o.audioPublishers ? i : -1,
      token: secret === undefined
        ? undefined
        : await mintToken(secret, { userId, room: o.room, ttlSeconds: 3600 }),
    };
    plans[i % o.workers].participants.push(p);
  }
  return plans;
}

/** Sums the workers' latest reports into the run's figures. */
export function summarize(
  o: LoadOptions,
  reports: WorkerReport[],
  measuredSeconds: number,
  before: ServerFigures,
  after: ServerFigures,
): LoadResult {
  const joinMs = new LatencyHistogram();
  const firstMedia = new LatencyHistogram();
  const video = new LatencyHistogram();
  const audio = new LatencyHistogram();
  const sum = (f: (r: WorkerReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const failures: Record<string, number> = {};
  const closedEarly: Record<string, number> = {};
  let lastJoiner: number | undefined;
  for (const r of reports) {
    joinMs.add(r.joinMs);
    firstMedia.add(r.firstMediaMs);
    video.add(r.videoLatency);
    audio.add(r.audioLatency);
    for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.closedEarly)) closedEarly[k] = (closedEarly[k] ?? 0) + v;
    lastJoiner ??= r.lastJoinerFirstMediaMs;
  }
  const seconds = Math.max(0.001, measuredSeconds);
  const byLayer = [0, 1, 2].map((l) => sum((r) => r.received.video[l]) / seconds);
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => v !== 0),
    );
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    participants: o.participants,
    joinsTried: sum((r) => r.joinsTried),
    joined: sum((r) => r.joined),
    failed: sum((r) => r.failed),
    failures,
    joinsPerSecond: round(
      Math.min(o.numPerSecond, sum((r) => r.joined) / (o.participants / o.numPerSecond)),
    ),
    joinMs: { p50: round(joinMs.percentile(0.5)), p99: round(joinMs.percentile(0.99)) },
    firstMediaMs: {
      p50: round(firstMedia.percentile(0.5)),
      p99: round(firstMedia.percentile(0.99)),
      max: round(firstMedia.maxMs),
      lastJoiner: lastJoiner === undefined ? undefined : round(lastJoiner),
    },
    measuredSeconds: round(measuredSeconds),
    deliveredPerSecond: {
      video: Math.round(byLayer.reduce((a, b) => a + b, 0)),
      videoByLayer: byLayer.map(Math.round),
      audio: Math.round(sum((r) => r.received.audio) / seconds),
      control: Math.round(sum((r) => r.received.control) / seconds),
    },
    receivedMbps: round(
      (sum((r) => r.received.videoBytes + r.received.audioBytes) * 8) / seconds / 1e6,
    ),
    latencyMs: {
      video: { p50: round(video.percentile(0.5)), p99: round(video.percentile(0.99)) },
      audio: { p50: round(audio.percentile(0.5)), p99: round(audio.percentile(0.99)) },
    },
    lost: { video: sum((r) => r.lost.video), audio: sum((r) => r.lost.audio) },
    serverDrops: diff(after.dropsByClass, before.dropsByClass),
    filtered: diff(after.filtered, before.filtered),
    downlinkCongestion: after.downlinkCongestion - before.downlinkCongestion,
    serverCpuPercent: round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 100),
    serverRssMb: after.rssBytes.map((b) => Math.round(b / 1e5) / 10),
    closedEarly,
  };
}

/** The final table, as text. */
export function formatResult(r: LoadResult): string {
  const rows: [string, string][] = [
    ["participants", `${r.joined} joined of ${r.participants} (${r.failed} failed)`],
    ["joins per second", `${r.joinsPerSecond}`],
    ["join (connect → session) p50 / p99", `${r.joinMs.p50} / ${r.joinMs.p99} ms`],
    [
      "first media p50 / p99 / max",
      `${r.firstMediaMs.p50} / ${r.firstMediaMs.p99} / ${r.firstMediaMs.max} ms`,
    ],
    ["last joiner's first media", `${r.firstMediaMs.lastJoiner ?? "—"} ms`],
    [
      "delivered packets/s",
      `video ${r.deliveredPerSecond.video} (layers ${
        r.deliveredPerSecond.videoByLayer.join(" / ")
      }), audio ${r.deliveredPerSecond.audio}, control ${r.deliveredPerSecond.control}`,
    ],
    ["received", `${r.receivedMbps} Mbit/s`],
    [
      "send → receive p50 / p99",
      `video ${r.latencyMs.video.p50} / ${r.latencyMs.video.p99} ms, audio ${r.latencyMs.audio.p50} / ${r.latencyMs.audio.p99} ms`,
    ],
    ["lost (sequence gaps)", `video ${r.lost.video}, audio ${r.lost.audio}`],
    ["dropped by the servers", JSON.stringify(r.serverDrops)],
    ["filtered by selective forwarding", JSON.stringify(r.filtered)],
    ["downlink congestion notices", `${r.downlinkCongestion}`],
    ["server CPU (all servers)", `${r.serverCpuPercent} %`],
    ["server RSS", r.serverRssMb.map((m) => `${m} MB`).join(", ")],
    [
      "load generator CPU / whole machine",
      `${r.generatorCpuPercent ?? "—"} % / ${r.hostCpuPercent ?? "—"} % (of ${
        navigator.hardwareConcurrency * 100
      } %)`,
    ],
    ["closed by the server early", JSON.stringify(r.closedEarly)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** Runs a load test; resolves with its figures. */
export async function runLoad(
  o: LoadOptions,
  log: (line: string) => void = (line) => console.error(line),
): Promise<LoadResult> {
  const plans = await planRun(o, Date.now());
  const latest = new Map<number, WorkerReport>();
  const workerPath = new URL("./worker.ts", import.meta.url).pathname;
  const children = plans.map((plan) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", workerPath],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const writer = child.stdin.getWriter();
    writer.write(new TextEncoder().encode(JSON.stringify(plan))).then(() => writer.close());
    const reading = (async () => {
      let buffered = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          try {
            const report = JSON.parse(line) as WorkerReport;
            latest.set(report.worker, report);
          } catch {
            // Not a report line.
          }
        }
      }
    })();
    return { child, reading };
  });
  const { measureFromMs, endAtMs, startAtMs } = plans[0];
  let before: ServerFigures | undefined;
  // The generator's and the machine's CPU while measuring (this machine's /proc).
  const generatorCpu = async () => {
    let total = 0;
    for (const { child } of children) total += (await readCpuSeconds(child.pid)) ?? 0;
    return total;
  };
  const live = setInterval(async () => {
    const now = Date.now();
    if (before === undefined && now >= measureFromMs) before = await scrape(o.urls);
    if (o.quiet) return;
    const reports = [...latest.values()];
    const joined = reports.reduce((n, r) => n + r.joined, 0);
    const connected = reports.reduce((n, r) => n + r.connected, 0);
    const phase = now < measureFromMs ? "joining" : "measuring";
    const seconds = Math.max(0, (now - startAtMs) / 1000);
    let line = `${seconds.toFixed(0)}s ${phase}: joined ${joined}/${o.participants}, ` +
      `connected ${connected}`;
    if (before !== undefined && reports.length > 0) {
      const measured = (Math.min(now, endAtMs) - measureFromMs) / 1000;
      const r = summarize(o, reports, measured, before, await scrape(o.urls));
      line += ` | rx/s video ${r.deliveredPerSecond.video} audio ${r.deliveredPerSecond.audio}` +
        ` | p99 video ${r.latencyMs.video.p99} ms audio ${r.latencyMs.audio.p99} ms` +
        ` | server CPU ${r.serverCpuPercent} % RSS ${r.serverRssMb.join("+")} MB`;
    }
    log(line);
  }, 2000);
  const wait = measureFromMs - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  before ??= await scrape(o.urls);
  const cpuAtStart = {
    generator: await generatorCpu(),
    host: (await readHostCpuSeconds()).busy,
  };
  const rest = endAtMs - Date.now();
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  const after = await scrape(o.urls);
  const cpuAtEnd = { generator: await generatorCpu(), host: (await readHostCpuSeconds()).busy };
  // Workers count what arrives between measureFromMs and endAtMs only.
  const measuredSeconds = (endAtMs - measureFromMs) / 1000;
  clearInterval(live);
  // The workers close their connections and report a last time; a stuck one is killed.
  const ended = Promise.all(children.map(async ({ child, reading }) => {
    await child.status;
    await reading;
  }));
  const timeout = setTimeout(() => {
    for (const { child } of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }, 15_000);
  await ended;
  clearTimeout(timeout);
  const result = summarize(o, [...latest.values()], measuredSeconds, before, after);
  const percent = (a: number, b: number) => Math.round(((b - a) / measuredSeconds) * 100);
  result.generatorCpuPercent = percent(cpuAtStart.generator, cpuAtEnd.generator);
  result.hostCpuPercent = percent(cpuAtStart.host, cpuAtEnd.host);
  return result;
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(LOAD_HELP);
    Deno.exit(0);
  }
  const parsed = parseLoadOptions(Deno.args, Deno.env.toObject());
  if (!parsed.ok) {
    console.error(`${parsed.error}\n\n${LOAD_HELP}`);
    Deno.exit(2);
  }
  const o = parsed.options;
  console.error(
    `load test: ${o.participants} participants (${o.videoPublishers} cameras${
      o.simulcast ? " with simulcast" : ""
    }, ${o.audioPublishers} microphones, ${o.speakers} speaking at once) in "${o.room}" on ${
      o.urls.join(", ")
    }, layout ${o.layout}, ${o.numPerSecond} joins/s over ${o.workers} workers, ${o.transport}, ` +
      `measuring ${o.durationMs / 1000} s`,
  );
  const result = await runLoad(o);
  if (o.json) console.log(JSON.stringify(result));
  else console.log(formatResult(result));
}
