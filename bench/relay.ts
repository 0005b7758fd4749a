/**
 * Relay throughput and latency benchmark, over WebSocket (plain or TLS), WebTransport (grouped
 * framing or a stream per packet), or both in one room.
 *
 * Synthetic participants (10 rooms × 10 by default) each send 2 KB video packets and 100-byte
 * audio packets at 30 and 50 per second times a load multiplier. Every packet carries its send
 * time; receivers, in this same process, measure send→receive latency and count what arrives
 * against what should (each packet should reach every other participant of its room). First every
 * target runs one step at the same load (`--compare-at`, default 0.125x), so that the servers' CPU
 * per delivery can be set side by side; then the load steps up (4 s per step) until p99 latency
 * passes the limit (50 ms) or a delivery is lost, twice in a row at the same step, or the time
 * budget (34 s per target) is spent. Audio that rides datagrams (grouped WebTransport, as the
 * browser sends it) may lose up to 1 % and is reported apart (`dgram loss %`).
 *
 * Participants reach the relay over WebSocket (`ws`, the npm `ws` client), WebSocket over TLS
 * (`wss`: the servers serve HTTPS with a certificate made for the run — the fair comparison, since
 * WebTransport always encrypts), WebTransport with grouped framing (`wt`, Deno's own client: up on
 * one framed bidirectional stream with audio as datagrams, down in groups and datagrams, as our
 * clients do), WebTransport with one QUIC stream per packet down (`wt1`, videocall-rs's framing,
 * the baseline grouped framing replaced; its ladder starts at 1/64 of the base rate), or `mixed`
 * (the first half of each room on `ws`, the rest on `wt`; each receiving half is also reported on
 * its own).
 *
 * The default run measures seven targets one after the other, in about 4.5 minutes on a quiet
 * 2-core machine:
 *
 * - `single/ws`, `single/wss`, `single/wt`, `single/wt1`: one server on its in-process bus;
 * - `nats/ws`, `nats/wt`: two servers on NATS, each room's participants split across them;
 * - `ceiling`: the same participants and packets straight through NATS, one connection each, no
 *   relay at all; our figures are reported as a ratio of this one.
 *
 * `--mode` and `--transport` narrow or widen that matrix (`--transport all` adds the mixed rooms
 * and the rest of the NATS pair). Run it with NATS at `NATS_URL` (default
 * `nats://127.0.0.1:4222`):
 *
 * ```sh
 * deno task bench:relay
 * deno task bench:relay --mode single --transport wss,wt --rooms 5 --participants 8 --step-s 2
 * deno task bench:relay --transport ws,mixed --steps 0.5,1,2 --budget-s 20 --no-ceiling
 * ```
 *
 * It prints a table per target (sent and delivered packets per second, p50/p99 latency, loss,
 * datagram loss, server drops, CPU and memory of the servers and their CPU time per delivery, CPU
 * of nats-server, of the benchmark itself, of the whole machine and of everything else on it, and
 * how late the benchmark's event loop ran), a `SUMMARY` line with the highest load each target
 * held and our ratio to the ceiling, a `SAME LOAD` line with every server's CPU per delivery at
 * the comparison load and its ratio to `wss`, the best steps side by side as a Markdown table (for
 * the README), and as its last line the whole result as one JSON object (`deno task bench:relay |
 * tail -n 1` gives just that).
 *
 * Everything shares one machine: when `host cpu%` nears 100 × cores, the figures describe the
 * machine more than the relay, and a high `other cpu%` means something else (a test run, say)
 * disturbed the step. The benchmark's own `bench cpu%` and `lag ms` show when it was the
 * bottleneck. With WebTransport it is: Deno's client spends more CPU per received packet than the
 * server spends sending it (QUIC's per-packet work on both ends, docs/PROTOCOL.md), so its climb
 * ends where the benchmark runs out of CPU, not where the server does.
 *
 * @module
 */
import { LoadGenerator } from "./load.ts";
import { AUDIO_PAYLOAD_BYTES, VIDEO_PAYLOAD_BYTES } from "./media_packets.ts";
import { Meters, minus } from "./meters.ts";
import { type Mode, type Options, parseOptions, stepsFor } from "./options.ts";
import { CpuMeter, findNatsServerPid, readRssBytes } from "./proc_stats.ts";
import {
  comparisonLine,
  DATAGRAM_LOSS_ALLOWED,
  markdownSummary,
  ratioToCeiling,
  receiverLines,
  type StepResult,
  summaryLine,
  tableHeader,
  tableRow,
  type TargetResult,
} from "./report.ts";
import {
  emergencyStop,
  type MediaSink,
  removeTlsFiles,
  startNatsCeiling,
  startRelayTarget,
  type Target,
  type TransportMix,
} from "./targets.ts";

const BASE_RATE = { videoPerSecond: 30, audioPerSecond: 50 };
const WARMUP_MS = 1500;
const DRAIN_TIMEOUT_MS = 1500;
// A failed step is repeated this many times in all before the climb stops.
const ATTEMPTS_PER_STEP = 2;
// A step whose participants sent less than this share of the offered load did not offer it:
// the generator, not the target, was the limit.
const MIN_SENT_SHARE = 0.97;
// Slack on top of the stepping budgets for starting, connecting and closing every target.
const SETUP_ALLOWANCE_MS = 90_000;

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
  meters: Meters;
  generator: LoadGenerator;
  cpu: CpuMeter;
  natsPid: number | undefined;
  options: Options;
}

/** Runs one load step and judges it. */
async function runStep(ctx: StepContext, multiplier: number): Promise<StepResult> {
  const { target, meters, generator, cpu, options } = ctx;
  const meter = meters.all;
  const serverCount = target.servers.length;
  const dropsBefore = await target.drops();
  const expectedBefore = target.expectedByReceiver?.();
  await cpu.start();
  meters.begin(performance.now());
  const sent = await generator.run(multiplier, options.stepMs);
  const cpuUse = await cpu.sample();
  const expectedByReceiver = minus(target.expectedByReceiver?.(), expectedBefore);
  const expected = (sent.video + sent.audio) * (target.roomSize - 1);
  await meter.drain(expected, DRAIN_TIMEOUT_MS);
  // Audio on datagrams may be lost by design; it is judged apart from what must arrive.
  const audioExpected = sent.audio * (target.roomSize - 1);
  const reliableExpected = target.audioOnDatagrams ? expected - audioExpected : expected;
  const reliableReceived = target.audioOnDatagrams ? meter.video : meter.received;
  const drops = dropDelta(await target.drops(), dropsBefore);
  const rss = await Promise.all(target.servers.map((s) => readRssBytes(s.pid)));
  const seconds = sent.elapsedMs / 1000;
  const offered = generator.offeredPerSecond(multiplier);
  const sentPerSecond = (sent.video + sent.audio) / seconds;
  const serverCpuPercent = serverCount > 0
    ? sum(cpuUse.processes.slice(0, serverCount))
    : undefined;
  const deliveredPerSecond = meter.received / seconds;
  const step: StepResult = {
    multiplier,
    offeredPerSecond: offered,
    sentPerSecond,
    expectedPerSecond: expected / seconds,
    deliveredPerSecond,
    deliveredVideoPerSecond: meter.video / seconds,
    deliveredMBps: (meter.video * VIDEO_PAYLOAD_BYTES + meter.audio * AUDIO_PAYLOAD_BYTES) /
      seconds / 1e6,
    p50Ms: meter.latency.percentile(0.5),
    p99Ms: meter.latency.percentile(0.99),
    maxMs: meter.latency.maxMs,
    loss: reliableExpected === 0
      ? 0
      : Math.max(0, reliableExpected - reliableReceived) / reliableExpected,
    datagramLoss: !target.audioOnDatagrams || audioExpected === 0
      ? 0
      : Math.max(0, audioExpected - meter.audio) / audioExpected,
    drops,
    dropsTotal: Object.values(drops).reduce((a, n) => a + n, 0),
    serverCpuPercent,
    serverRssMB: serverCount > 0 ? (sum(rss) ?? 0) / 1024 / 1024 : undefined,
    // Percent of a core is 10^4 µs per second.
    serverUsPerDelivery: serverCpuPercent === undefined || deliveredPerSecond === 0
      ? undefined
      : serverCpuPercent * 1e4 / deliveredPerSecond,
    byReceiver: meters.figures(expectedByReceiver, seconds),
    benchCpuPercent: cpuUse.processes[serverCount],
    natsCpuPercent: ctx.natsPid === undefined ? undefined : cpuUse.processes[serverCount + 1],
    hostCpuPercent: cpuUse.host,
    otherCpuPercent: Math.max(0, cpuUse.host - (sum(cpuUse.processes.map((p) => p ?? 0)) ?? 0)),
    benchLagMs: sent.maxTickLagMs,
    held: false,
  };
  const lost = target.lostConnections();
  if (lost > 0) step.failure = `${lost} connections lost`;
  else if (step.loss > 0 || step.dropsTotal > 0) step.failure = "loss";
  else if (step.datagramLoss > DATAGRAM_LOSS_ALLOWED) step.failure = "datagram loss";
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
  meters: Meters,
  steps: number[],
  options: Options,
  natsPid: number | undefined,
  result: TargetResult,
): Promise<void> {
  const generator = new LoadGenerator(target.participants, BASE_RATE);
  const pids: (number | "self")[] = [...target.servers.map((s) => s.pid), "self"];
  if (natsPid !== undefined) pids.push(natsPid);
  const cpu = new CpuMeter(pids);
  const ctx: StepContext = { target, meters, generator, cpu, natsPid, options };

  meters.begin(performance.now());
  await generator.run(options.compareAt ?? steps[0], WARMUP_MS);
  await meters.all.drain(Number.POSITIVE_INFINITY, 200);
  if (options.compareAt !== undefined) {
    const step = await runStep(ctx, options.compareAt);
    result.compare = step;
    console.log(`${tableRow(step)}  (same-load comparison step)`);
  }

  const started = performance.now();
  for (const multiplier of steps) {
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
      for (const line of receiverLines(step)) console.log(line);
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

/** What to measure: a name, how to start it, and its load ladder. */
interface TargetPlan {
  result: TargetResult;
  steps: number[];
  split: boolean;
  start: (sink: MediaSink) => Promise<Target>;
  natsPid: number | undefined;
}

async function measure(plan: TargetPlan, options: Options): Promise<TargetResult> {
  const { result } = plan;
  const started = performance.now();
  console.log(`\n== ${result.name}: ${result.description}; steps ${plan.steps.join(", ")}x`);
  const meters = new Meters(plan.split);
  let target: Target | undefined;
  try {
    target = await plan.start(meters.sink);
    console.log(tableHeader());
    await stepLoad(target, meters, plan.steps, options, plan.natsPid, result);
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
  result.seconds = (performance.now() - started) / 1000;
  console.log(`(${result.name} took ${result.seconds.toFixed(0)} s)`);
  return result;
}

const MODE_DESCRIPTIONS: Record<Mode, string> = {
  single: "one server, in-process bus",
  nats: "two servers on NATS, each room split across both",
};

const MIX_DESCRIPTIONS: Record<TransportMix, string> = {
  ws: "WebSocket participants",
  wss: "WebSocket participants over TLS",
  wt: "WebTransport participants, grouped framing",
  wt1: "WebTransport participants, one packet per stream (videocall-rs's framing)",
  mixed: "half of each room on WebSocket, half on WebTransport",
};

function plans(
  options: Options,
  env: Record<string, string>,
  natsPid: number | undefined,
): TargetPlan[] {
  const { population, natsUrl } = options;
  const out: TargetPlan[] = options.targets.map(({ mode, mix }) => ({
    result: {
      name: `${mode}/${mix}`,
      mode,
      transport: mix,
      description: `${MODE_DESCRIPTIONS[mode]}, ${MIX_DESCRIPTIONS[mix]}`,
      steps: [],
      stoppedBy: "",
    },
    steps: stepsFor(options, mix),
    split: mix === "mixed",
    start: (sink) =>
      startRelayTarget({
        population,
        instances: mode === "single" ? 1 : 2,
        mix,
        natsUrl,
        env,
        sink,
      }),
    natsPid: mode === "nats" ? natsPid : undefined,
  }));
  if (options.ceiling) {
    out.push({
      result: {
        name: "ceiling",
        description: "raw NATS, one connection per participant, no relay",
        steps: [],
        stoppedBy: "",
      },
      steps: stepsFor(options, "ceiling"),
      split: false,
      start: (sink) => startNatsCeiling({ population, natsUrl, sink }),
      natsPid,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const { population } = options;
  const natsPort = Number(/:([0-9]+)\/?$/.exec(options.natsUrl)?.[1] ?? 4222);
  const natsPid = await findNatsServerPid(natsPort);
  const env: Record<string, string> = { MAX_PACKETS_PER_SECOND: "100000" };
  if (options.queueDepth !== undefined) env.QUEUE_DEPTH = options.queueDepth;
  const todo = plans(options, env, natsPid);
  const watchdog = setTimeout(async () => {
    console.error("The benchmark overran its time limit; stopping");
    await emergencyStop();
    Deno.exit(1);
  }, options.budgetMs * todo.length + SETUP_ALLOWANCE_MS);

  const perParticipant = BASE_RATE.videoPerSecond + BASE_RATE.audioPerSecond;
  const participants = population.rooms * population.perRoom;
  console.log(
    `relay benchmark: ${population.rooms} rooms x ${population.perRoom} participants, ` +
      `1x = ${BASE_RATE.videoPerSecond} video (${VIDEO_PAYLOAD_BYTES} B) + ` +
      `${BASE_RATE.audioPerSecond} audio (${AUDIO_PAYLOAD_BYTES} B) packets/s each = ` +
      `${participants * perParticipant} sent/s, ` +
      `${participants * perParticipant * (population.perRoom - 1)} deliveries/s; ` +
      `steps of ${options.stepMs / 1000} s, budget ${options.budgetMs / 1000} s per target; ` +
      `targets ${todo.map((p) => p.result.name).join(", ")}; ` +
      `nats ${options.natsUrl}${natsPid === undefined ? " (nats-server process not found)" : ""}`,
  );

  const started = performance.now();
  const results: TargetResult[] = [];
  for (const plan of todo) results.push(await measure(plan, options));
  clearTimeout(watchdog);
  await removeTlsFiles();

  const ceiling = results.find((r) => r.name === "ceiling");
  console.log(`\n${summaryLine(results, options.p99LimitMs)}`);
  const comparison = comparisonLine(results);
  if (comparison !== undefined) console.log(`\n${comparison}`);
  console.log(`\n${markdownSummary(results, options.p99LimitMs)}`);
  console.log(`\n(measured in ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  console.log(JSON.stringify({
    config: {
      rooms: population.rooms,
      participantsPerRoom: population.perRoom,
      baseRate: BASE_RATE,
      videoPayloadBytes: VIDEO_PAYLOAD_BYTES,
      audioPayloadBytes: AUDIO_PAYLOAD_BYTES,
      stepSeconds: options.stepMs / 1000,
      steps: Object.fromEntries(todo.map((p) => [p.result.name, p.steps])),
      budgetSeconds: options.budgetMs / 1000,
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
