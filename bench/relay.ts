/**
 * Relay throughput and latency benchmark.
 *
 * Synthetic WebSocket participants (10 rooms × 10 by default) each send 2 KB video packets and
 * 100-byte audio packets at 30 and 50 per second times a load multiplier. Every packet carries
 * its send time; receivers, in this same process, measure send→receive latency and count what
 * arrives against what should (each packet should reach every other participant of its room).
 * The load steps up (4 s per step) until p99 latency passes the limit (50 ms) or a delivery is
 * lost, twice in a row at the same step, or the time budget (45 s per target) is spent. Three
 * targets are measured in one run, about 1.5 to 2.5 minutes in all:
 *
 * - `single`: one server on its in-process bus;
 * - `nats`: two servers on NATS, each room's participants split across them;
 * - `ceiling`: the same participants and packets straight through NATS, one connection each, no
 *   relay at all; our figures are reported as a ratio of this one.
 *
 * Run it with NATS at `NATS_URL` (default `nats://127.0.0.1:4222`):
 *
 * ```sh
 * deno task bench:relay
 * deno task bench:relay --mode single --rooms 5 --participants 8 --step-s 2
 * deno task bench:relay --steps 0.5,1,2 --budget-s 20 --no-ceiling
 * ```
 *
 * It prints a table per target (sent and delivered packets per second, p50/p99 latency, loss,
 * server drops, CPU and memory of the servers, CPU of nats-server, of the benchmark itself and of
 * the whole machine, and how late the benchmark's event loop ran), a `SUMMARY` line with the
 * highest load each target held and our ratio to the ceiling, and as its last line the whole
 * result as one JSON object (`deno task bench:relay | tail -n 1` gives just that).
 *
 * Everything shares one machine: when `host cpu%` nears 100 × cores, the figures describe the
 * machine more than the relay; the benchmark's own `lag ms` shows when it was the bottleneck.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { LoadGenerator, StepMeter } from "./load.ts";
import { AUDIO_PAYLOAD_BYTES, VIDEO_PAYLOAD_BYTES } from "./media_packets.ts";
import { CpuMeter, findNatsServerPid, readRssBytes } from "./proc_stats.ts";
import {
  ratioToCeiling,
  type StepResult,
  summaryLine,
  tableHeader,
  tableRow,
  type TargetResult,
} from "./report.ts";
import {
  emergencyStop,
  type Population,
  startNatsCeiling,
  startRelayTarget,
  type Target,
} from "./targets.ts";

const BASE_RATE = { videoPerSecond: 30, audioPerSecond: 50 };
const DEFAULT_STEPS = "0.25,0.5,0.625,0.75,0.875,1,1.25,1.5,2,3";
const WARMUP_MS = 1500;
const DRAIN_TIMEOUT_MS = 1500;
// A failed step is repeated this many times in all before the climb stops.
const ATTEMPTS_PER_STEP = 2;
// A step whose participants sent less than this share of the offered load did not offer it:
// the generator, not the target, was the limit.
const MIN_SENT_SHARE = 0.97;
// Slack on top of the stepping budgets for starting, connecting and closing every target.
const SETUP_ALLOWANCE_MS = 90_000;

interface Options {
  modes: ("single" | "nats")[];
  ceiling: boolean;
  population: Population;
  stepMs: number;
  steps: number[];
  budgetMs: number;
  p99LimitMs: number;
  natsUrl: string;
  queueDepth?: string;
}

function usage(message: string): never {
  console.error(
    `${message}\n\nUsage: deno task bench:relay [--mode single|nats|both] [--rooms N] ` +
      `[--participants N] [--step-s S] [--steps 0.5,1,2] [--budget-s S] [--p99-ms MS] ` +
      `[--queue-depth N] [--nats-url URL] [--no-ceiling]`,
  );
  Deno.exit(2);
}

function positive(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    usage(`--${name} must be a positive ${integer ? "whole " : ""}number, got "${raw}"`);
  }
  return value;
}

function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        mode: { type: "string", default: "both" },
        rooms: { type: "string", default: "10" },
        participants: { type: "string", default: "10" },
        "step-s": { type: "string", default: "4" },
        steps: { type: "string", default: DEFAULT_STEPS },
        "budget-s": { type: "string", default: "45" },
        "p99-ms": { type: "string", default: "50" },
        "queue-depth": { type: "string" },
        "nats-url": { type: "string" },
        "no-ceiling": { type: "boolean", default: false },
      },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  const modes: ("single" | "nats")[] = [];
  if (v.mode === "single" || v.mode === "both") modes.push("single");
  if (v.mode === "nats" || v.mode === "both") modes.push("nats");
  if (modes.length === 0) usage(`--mode must be single, nats or both, got "${v.mode}"`);
  const perRoom = positive("participants", v.participants, true);
  if (perRoom < 2) usage("--participants must be at least 2: someone has to receive");
  const steps = v.steps.split(",").map((s) => positive("steps", s.trim(), false));
  return {
    modes,
    ceiling: !v["no-ceiling"],
    population: {
      rooms: positive("rooms", v.rooms, true),
      perRoom,
      runId: crypto.randomUUID().slice(0, 8),
    },
    stepMs: positive("step-s", v["step-s"], false) * 1000,
    steps: steps.toSorted((a, b) => a - b),
    budgetMs: positive("budget-s", v["budget-s"], false) * 1000,
    p99LimitMs: positive("p99-ms", v["p99-ms"], false),
    natsUrl: v["nats-url"] ?? (Deno.env.get("NATS_URL") || "nats://127.0.0.1:4222"),
    queueDepth: v["queue-depth"] === undefined
      ? undefined
      : String(positive("queue-depth", v["queue-depth"], true)),
  };
}

function sum(values: (number | undefined)[]): number | undefined {
  return values.some((v) => v === undefined)
    ? undefined
    : values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

function dropDelta(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after)) {
    const d = n - (before[reason] ?? 0);
    if (d > 0) out[reason] = d;
  }
  return out;
}

/** What a step needs besides its multiplier. */
interface StepContext {
  target: Target;
  meter: StepMeter;
  generator: LoadGenerator;
  cpu: CpuMeter;
  natsPid: number | undefined;
  options: Options;
}

/** Runs one load step and judges it. */
async function runStep(ctx: StepContext, multiplier: number): Promise<StepResult> {
  const { target, meter, generator, cpu, options } = ctx;
  const serverCount = target.servers.length;
  const dropsBefore = await target.drops();
  await cpu.start();
  meter.begin(performance.now());
  const sent = await generator.run(multiplier, options.stepMs);
  const cpuUse = await cpu.sample();
  const expected = (sent.video + sent.audio) * (target.roomSize - 1);
  await meter.drain(expected, DRAIN_TIMEOUT_MS);
  const drops = dropDelta(await target.drops(), dropsBefore);
  const rss = await Promise.all(target.servers.map((s) => readRssBytes(s.pid)));
  const seconds = sent.elapsedMs / 1000;
  const offered = generator.offeredPerSecond(multiplier);
  const sentPerSecond = (sent.video + sent.audio) / seconds;
  const step: StepResult = {
    multiplier,
    offeredPerSecond: offered,
    sentPerSecond,
    expectedPerSecond: expected / seconds,
    deliveredPerSecond: meter.received / seconds,
    deliveredVideoPerSecond: meter.video / seconds,
    deliveredMBps: (meter.video * VIDEO_PAYLOAD_BYTES + meter.audio * AUDIO_PAYLOAD_BYTES) /
      seconds / 1e6,
    p50Ms: meter.latency.percentile(0.5),
    p99Ms: meter.latency.percentile(0.99),
    maxMs: meter.latency.maxMs,
    loss: expected === 0 ? 0 : Math.max(0, expected - meter.received) / expected,
    drops,
    dropsTotal: Object.values(drops).reduce((a, n) => a + n, 0),
    serverCpuPercent: serverCount > 0 ? sum(cpuUse.processes.slice(0, serverCount)) : undefined,
    serverRssMB: serverCount > 0 ? (sum(rss) ?? 0) / 1024 / 1024 : undefined,
    benchCpuPercent: cpuUse.processes[serverCount],
    natsCpuPercent: ctx.natsPid === undefined ? undefined : cpuUse.processes[serverCount + 1],
    hostCpuPercent: cpuUse.host,
    benchLagMs: sent.maxTickLagMs,
    held: false,
  };
  const lost = target.lostConnections();
  if (lost > 0) step.failure = `${lost} connections lost`;
  else if (step.loss > 0 || step.dropsTotal > 0) step.failure = "loss";
  else if (step.p99Ms >= options.p99LimitMs) step.failure = `p99 >= ${options.p99LimitMs} ms`;
  else if (sentPerSecond < offered * MIN_SENT_SHARE) step.failure = "generator behind";
  step.held = step.failure === undefined;
  return step;
}

/**
 * Steps the load up on one connected target until it stops holding. A step that fails is run
 * once more before the climb ends (unless connections were lost), so that one disturbance on a
 * shared machine does not decide the result; both attempts are reported.
 */
async function stepLoad(
  target: Target,
  meter: StepMeter,
  options: Options,
  natsPid: number | undefined,
  result: TargetResult,
): Promise<void> {
  const generator = new LoadGenerator(target.participants, BASE_RATE);
  const pids: (number | "self")[] = [...target.servers.map((s) => s.pid), "self"];
  if (natsPid !== undefined) pids.push(natsPid);
  const ctx: StepContext = { target, meter, generator, cpu: new CpuMeter(pids), natsPid, options };

  meter.begin(performance.now());
  await generator.run(options.steps[0], WARMUP_MS);
  await meter.drain(Number.POSITIVE_INFINITY, 200);

  const started = performance.now();
  for (const multiplier of options.steps) {
    for (let attempt = 1; attempt <= ATTEMPTS_PER_STEP; attempt++) {
      if (performance.now() - started + options.stepMs > options.budgetMs) {
        result.stoppedBy = "time budget";
        return;
      }
      const step = await runStep(ctx, multiplier);
      step.attempt = attempt;
      result.steps.push(step);
      const last = attempt === ATTEMPTS_PER_STEP || target.lostConnections() > 0;
      console.log(tableRow(step) + (step.held || last ? "" : ", trying again"));
      if (step.held) {
        if (step.deliveredPerSecond > (result.best?.deliveredPerSecond ?? -1)) result.best = step;
        break;
      }
      if (last) {
        result.stoppedBy = step.failure ?? "";
        return;
      }
    }
  }
  result.stoppedBy = "last step";
}

type Starter = (sink: StepMeter["onMedia"]) => Promise<Target>;

async function measure(
  name: string,
  description: string,
  start: Starter,
  options: Options,
  natsPid: number | undefined,
): Promise<TargetResult> {
  const result: TargetResult = { name, description, steps: [], stoppedBy: "" };
  console.log(`\n== ${name}: ${description}`);
  const meter = new StepMeter();
  let target: Target | undefined;
  try {
    target = await start((media, atMs) => meter.onMedia(media, atMs));
    console.log(tableHeader());
    await stepLoad(target, meter, options, natsPid, result);
    const warnings = target.serverWarnings();
    if (Object.keys(warnings).length > 0) {
      result.serverWarnings = warnings;
      console.log(`server warnings: ${JSON.stringify(warnings)}`);
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    console.log(`failed: ${result.error}`);
  } finally {
    await target?.close();
  }
  return result;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const { population } = options;
  const natsPort = Number(/:([0-9]+)\/?$/.exec(options.natsUrl)?.[1] ?? 4222);
  const natsPid = await findNatsServerPid(natsPort);
  const env: Record<string, string> = { MAX_PACKETS_PER_SECOND: "100000" };
  if (options.queueDepth !== undefined) env.QUEUE_DEPTH = options.queueDepth;
  const targets = options.modes.length + (options.ceiling ? 1 : 0);
  const watchdog = setTimeout(async () => {
    console.error("The benchmark overran its time limit; stopping");
    await emergencyStop();
    Deno.exit(1);
  }, options.budgetMs * targets + SETUP_ALLOWANCE_MS);

  const perParticipant = BASE_RATE.videoPerSecond + BASE_RATE.audioPerSecond;
  console.log(
    `relay benchmark: ${population.rooms} rooms x ${population.perRoom} participants, ` +
      `1x = ${BASE_RATE.videoPerSecond} video (${VIDEO_PAYLOAD_BYTES} B) + ` +
      `${BASE_RATE.audioPerSecond} audio (${AUDIO_PAYLOAD_BYTES} B) packets/s each = ` +
      `${population.rooms * population.perRoom * perParticipant} sent/s, ` +
      `${population.rooms * population.perRoom * perParticipant * (population.perRoom - 1)} ` +
      `deliveries/s; steps ${options.steps.join(", ")}x of ${options.stepMs / 1000} s; ` +
      `nats ${options.natsUrl}${natsPid === undefined ? " (nats-server process not found)" : ""}`,
  );

  const results: TargetResult[] = [];
  for (const mode of options.modes) {
    const instances = mode === "single" ? 1 : 2;
    results.push(
      await measure(
        mode,
        mode === "single"
          ? "one server, in-process bus"
          : "two servers on NATS, each room split across both",
        (sink) => startRelayTarget({ population, instances, natsUrl: options.natsUrl, env, sink }),
        options,
        mode === "nats" ? natsPid : undefined,
      ),
    );
  }
  if (options.ceiling) {
    results.push(
      await measure(
        "ceiling",
        "raw NATS, one connection per participant, no relay",
        (sink) => startNatsCeiling({ population, natsUrl: options.natsUrl, sink }),
        options,
        natsPid,
      ),
    );
  }
  clearTimeout(watchdog);

  const ceiling = results.find((r) => r.name === "ceiling");
  console.log(`\n${summaryLine(results, options.p99LimitMs)}`);
  console.log(JSON.stringify({
    config: {
      rooms: population.rooms,
      participantsPerRoom: population.perRoom,
      baseRate: BASE_RATE,
      videoPayloadBytes: VIDEO_PAYLOAD_BYTES,
      audioPayloadBytes: AUDIO_PAYLOAD_BYTES,
      stepSeconds: options.stepMs / 1000,
      steps: options.steps,
      p99LimitMs: options.p99LimitMs,
      natsUrl: options.natsUrl,
      serverEnv: env,
      deno: Deno.version.deno,
    },
    results: results.map((r) => ({ ...r, ratioToCeiling: ratioToCeiling(r, ceiling) })),
  }, (_key, value) => typeof value === "number" ? Number(value.toPrecision(6)) : value));
}

if (import.meta.main) {
  const stop = async () => {
    await emergencyStop();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  try {
    await main();
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
}
