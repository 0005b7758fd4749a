/**
 * What the relay benchmark measured, and how it prints it: one table row per load step (and,
 * for mixed rooms, one line per receiving transport), a summary line, a Markdown table of the
 * best step of every target, and the whole result as JSON.
 *
 * @module
 */
import type { TransportKind } from "./participants.ts";

/** What the receivers of one transport got during a step (mixed rooms only). */
export interface ReceiverFigures {
  /** Deliveries per second these receivers should have had. */
  expectedPerSecond: number;
  /** Deliveries per second that reached them. */
  deliveredPerSecond: number;
  /** Median send→receive latency. */
  p50Ms: number;
  /** 99th percentile send→receive latency. */
  p99Ms: number;
  /** (expected - delivered) / expected. */
  loss: number;
}

/** The figures of one load step. */
export interface StepResult {
  /** The load as a multiple of the base rate. */
  multiplier: number;
  /** Packets per second the participants were asked to send. */
  offeredPerSecond: number;
  /** Packets per second they did send. */
  sentPerSecond: number;
  /** Deliveries per second if every packet reached every other participant of its room. */
  expectedPerSecond: number;
  /** Deliveries per second that arrived (all media, then video alone). */
  deliveredPerSecond: number;
  /** Video deliveries per second that arrived. */
  deliveredVideoPerSecond: number;
  /** Delivered media in megabytes (10^6) per second. */
  deliveredMBps: number;
  /** Median send→receive latency. */
  p50Ms: number;
  /** 99th percentile send→receive latency. */
  p99Ms: number;
  /** Slowest delivery. */
  maxMs: number;
  /**
   * (expected - delivered) / expected, over the whole step — of everything reliable: video, and
   * audio where it rides a reliable transport.
   */
  loss: number;
  /**
   * Share of audio deliveries lost where audio rides datagrams (grouped WebTransport, as in the
   * browser); 0 elsewhere, where audio counts in `loss`.
   */
  datagramLoss: number;
  /** Server-side drops during the step, by reason. */
  drops: Record<string, number>;
  /** The sum of {@linkcode StepResult.drops}. */
  dropsTotal: number;
  /** CPU of our servers together, in percent of one core (absent for the ceiling). */
  serverCpuPercent?: number;
  /** Resident memory of our servers together, after the step. */
  serverRssMB?: number;
  /** Server CPU time per delivered packet, in microseconds (our servers together). */
  serverUsPerDelivery?: number;
  /** The same figures split by the receivers' transport, for rooms that mix them. */
  byReceiver?: Partial<Record<TransportKind, ReceiverFigures>>;
  /** CPU of the local nats-server, when it carries traffic and could be found. */
  natsCpuPercent?: number;
  /** CPU of this benchmark process (generator and receivers). */
  benchCpuPercent?: number;
  /** CPU of the whole machine (all processes, kernel included), in percent of one core. */
  hostCpuPercent: number;
  /**
   * The machine's CPU not used by the processes above: other programs sharing the machine, and
   * kernel work not charged to a process. High values mean the step was disturbed.
   */
  otherCpuPercent: number;
  /** The longest this process's event loop was late for a send tick. */
  benchLagMs: number;
  /** 1, or 2 when the step is a second try after a failure. */
  attempt?: number;
  /** Whether this step met the target: p99 under the limit, no loss, the load really offered. */
  held: boolean;
  /** Why the step did not hold, if it did not. */
  failure?: string;
}

/** All steps of one target. */
export interface TargetResult {
  /** `single/ws`, `nats/wt`, `single/mixed`, … or `ceiling`. */
  name: string;
  /** `single` or `nats`; absent for the ceiling. */
  mode?: string;
  /** `ws`, `wt` or `mixed`; absent for the ceiling. */
  transport?: string;
  /** What the target is, in words. */
  description: string;
  /** Every step run, the last one the first that did not hold (unless stopped otherwise). */
  steps: StepResult[];
  /** The step with the highest delivered rate among those that held. */
  best?: StepResult;
  /** A step at the same load for every target (`--compare-at`), run before the climb. */
  compare?: StepResult;
  /** Why stepping stopped. */
  stoppedBy: string;
  /** Set when the target could not be measured at all. */
  error?: string;
  /** Warnings and errors our servers logged, by level and event. */
  serverWarnings?: Record<string, number>;
  /** Wall-clock time the target took, from starting it to having closed it. */
  seconds?: number;
}

type Column = [title: string, width: number, cell: (s: StepResult) => string];

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const opt = (n: number | undefined, digits = 0) => n === undefined ? "-" : n.toFixed(digits);
const pct = (loss: number) => (loss * 100).toFixed(loss === 0 ? 0 : 3);

const COLUMNS: Column[] = [
  ["load", 5, (s) => `${s.multiplier}x`],
  ["sent/s", 7, (s) => int(s.sentPerSecond)],
  ["deliv/s", 8, (s) => int(s.deliveredPerSecond)],
  ["video/s", 7, (s) => int(s.deliveredVideoPerSecond)],
  ["MB/s", 5, (s) => s.deliveredMBps.toFixed(1)],
  ["p50 ms", 6, (s) => ms(s.p50Ms)],
  ["p99 ms", 6, (s) => ms(s.p99Ms)],
  ["loss %", 6, (s) => pct(s.loss)],
  ["dgram loss %", 12, (s) => pct(s.datagramLoss)],
  ["drops", 5, (s) => int(s.dropsTotal)],
  ["srv cpu%", 8, (s) => opt(s.serverCpuPercent)],
  ["srv MB", 6, (s) => opt(s.serverRssMB)],
  ["srv µs/d", 8, (s) => opt(s.serverUsPerDelivery, 1)],
  ["nats cpu%", 9, (s) => opt(s.natsCpuPercent)],
  ["bench cpu%", 10, (s) => opt(s.benchCpuPercent)],
  ["host cpu%", 9, (s) => opt(s.hostCpuPercent)],
  ["other cpu%", 10, (s) => opt(s.otherCpuPercent)],
  ["lag ms", 6, (s) => s.benchLagMs.toFixed(0)],
  ["held", 4, (s) => s.held ? "yes" : `no (${s.failure})`],
];

/** The header of a step table. */
export function tableHeader(): string {
  const head = COLUMNS.map(([t, w]) => t.padStart(w)).join("  ");
  return `${head}\n${"-".repeat(head.length)}`;
}

/** One step as a table row. */
export function tableRow(step: StepResult): string {
  return COLUMNS.map(([, w, cell], i) =>
    i === COLUMNS.length - 1 ? cell(step) : cell(step).padStart(w)
  ).join("  ");
}

/** For a mixed-room step, one indented line per receiving transport; empty otherwise. */
export function receiverLines(step: StepResult): string[] {
  return Object.entries(step.byReceiver ?? {}).map(([kind, r]) =>
    `      ${kind} receivers: ${int(r.deliveredPerSecond)} of ${int(r.expectedPerSecond)} ` +
    `deliv/s, p50 ${ms(r.p50Ms)} ms, p99 ${ms(r.p99Ms)} ms, loss ${pct(r.loss)} %`
  );
}

function describeBest(result: TargetResult): string {
  if (result.error !== undefined) return `${result.name}: failed (${result.error})`;
  const best = result.best;
  if (best === undefined) return `${result.name}: held no step (${result.stoppedBy})`;
  return `${result.name}: ${int(best.deliveredPerSecond)} deliv/s ` +
    `(${int(best.deliveredVideoPerSecond)} video/s) at ${best.multiplier}x, ` +
    `p99 ${ms(best.p99Ms)} ms`;
}

/** The ratio of a target's best delivered rate to the ceiling's, if both exist. */
export function ratioToCeiling(result: TargetResult, ceiling?: TargetResult): number | undefined {
  const ours = result.best?.deliveredPerSecond;
  const top = ceiling?.best?.deliveredPerSecond;
  return ours === undefined || top === undefined || top === 0 ? undefined : ours / top;
}

/** The final summary line. */
export function summaryLine(results: TargetResult[], p99LimitMs: number): string {
  const ceiling = results.find((r) => r.name === "ceiling");
  const parts = results.map((r) => {
    const ratio = r === ceiling ? undefined : ratioToCeiling(r, ceiling);
    return describeBest(r) + (ratio === undefined ? "" : `, ${ratio.toFixed(2)}x of ceiling`);
  });
  return `SUMMARY (max held with p99 < ${p99LimitMs} ms and no loss) ${parts.join(" | ")}`;
}

/**
 * Server CPU per delivery of every relay target at the same load, with each target's ratio to the
 * baseline (`wss` of the same mode: WebTransport always encrypts, so TLS is the fair comparison).
 */
export function comparisonLine(results: TargetResult[]): string | undefined {
  const measured = results.filter((r) => r.compare?.serverUsPerDelivery !== undefined);
  if (measured.length === 0) return undefined;
  const load = measured[0].compare!.multiplier;
  const parts = measured.map((r) => {
    const us = r.compare!.serverUsPerDelivery!;
    const base = results.find((b) => b.mode === r.mode && b.transport === "wss")?.compare
      ?.serverUsPerDelivery;
    const ratio = base === undefined || r.transport === "wss"
      ? ""
      : ` (${(us / base).toFixed(2)}x wss)`;
    const note = r.compare!.held ? "" : `, did not hold: ${r.compare!.failure}`;
    return `${r.name} ${us.toFixed(1)} µs${ratio}${note}`;
  });
  return `SAME LOAD (${load}x, server CPU per delivery) ${parts.join(" | ")}`;
}

/** Share of datagram-borne audio a step may lose and still hold. */
export const DATAGRAM_LOSS_ALLOWED = 0.01;

// Above this much CPU used by other processes, a step counts as disturbed.
const DISTURBED_CPU_PERCENT = 25;

const TRANSPORT_NAMES: Record<string, string> = {
  ws: "WebSocket",
  wss: "WebSocket over TLS",
  wt: "WebTransport",
  wt1: "WebTransport, a stream per packet",
  mixed: "mixed (½ WS, ½ WT)",
};

const MODE_NAMES: Record<string, string> = {
  single: "one server, in-process bus",
  nats: "two servers on NATS",
};

// Why the climb stopped, as a table cell: the last step's load and figures if it failed.
function limitCell(result: TargetResult): string {
  const last = result.steps.at(-1);
  const budget = result.stoppedBy === "time budget";
  if (last === undefined || last.held) {
    return budget ? "none (time budget spent)" : "none (ladder ended)";
  }
  const figures = [`p99 ${ms(last.p99Ms)} ms`];
  if (last.loss > 0) figures.push(`loss ${pct(last.loss)} %`);
  if (last.dropsTotal > 0) figures.push(`${int(last.dropsTotal)} drops`);
  return `${last.multiplier}x: ${last.failure} (${figures.join(", ")})` +
    (budget ? ", then time budget spent" : "");
}

function markdownRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
}

/**
 * The best step of every target as a Markdown table (for the README), with a line per mixed
 * target giving each receiving transport's latency at that step.
 */
export function markdownSummary(results: TargetResult[], p99LimitMs: number): string {
  const ceiling = results.find((r) => r.name === "ceiling");
  const head = [
    "target",
    "transport",
    "highest load held",
    "delivered packets/s",
    "of which 2 KB video/s",
    "p50 / p99 ms",
    "server CPU",
    "server RSS",
    "server µs / delivery",
    "ours / ceiling",
    "first step that failed",
  ];
  const lines = [markdownRow(head), markdownRow(head.map(() => "---"))];
  const notes: string[] = [];
  for (const r of results) {
    const target = r === ceiling ? "raw NATS (ceiling)" : MODE_NAMES[r.mode ?? ""] ?? r.name;
    const transport = r === ceiling ? "NATS client" : TRANSPORT_NAMES[r.transport ?? ""] ?? "";
    const best = r.best;
    if (best === undefined) {
      const why = r.error === undefined ? "none" : `failed: ${r.error.split("\n")[0]}`;
      const dashes = head.slice(3, -1).map(() => "—");
      lines.push(markdownRow([target, transport, why, ...dashes, limitCell(r)]));
      continue;
    }
    const both = r.mode === "nats" ? " (both)" : "";
    const ratio = r === ceiling ? 1 : ratioToCeiling(r, ceiling);
    lines.push(markdownRow([
      target,
      transport,
      `${best.multiplier}x`,
      int(best.deliveredPerSecond),
      int(best.deliveredVideoPerSecond),
      `${ms(best.p50Ms)} / ${ms(best.p99Ms)}`,
      best.serverCpuPercent === undefined ? "—" : `${best.serverCpuPercent.toFixed(0)} %${both}`,
      best.serverRssMB === undefined ? "—" : `${best.serverRssMB.toFixed(0)} MB${both}`,
      best.serverUsPerDelivery === undefined ? "—" : best.serverUsPerDelivery.toFixed(1),
      ratio === undefined ? "—" : ratio.toFixed(2),
      limitCell(r),
    ]));
    const receivers = Object.entries(best.byReceiver ?? {}).map(([kind, f]) =>
      `${TRANSPORT_NAMES[kind] ?? kind} receivers p50 / p99 ${ms(f.p50Ms)} / ${ms(f.p99Ms)} ms`
    );
    if (receivers.length > 0) {
      notes.push(`${r.name} at ${best.multiplier}x: ${receivers.join(", ")}`);
    }
  }
  const steps = results.flatMap((r) => r.steps);
  const disturbed = steps.filter((s) => s.otherCpuPercent > DISTURBED_CPU_PERCENT).length;
  const footer = [
    "",
    `Held = p99 send→receive latency under ${p99LimitMs} ms, no loss, no server drops; audio ` +
    `that rides datagrams (grouped WebTransport) may lose up to ` +
    `${(DATAGRAM_LOSS_ALLOWED * 100).toFixed(0)} %, as Opus conceals that much.`,
    ...notes.map((n) => `${n}.`),
  ];
  if (disturbed > 0) {
    footer.push(
      `Warning: in ${disturbed} of ${steps.length} steps other processes used more than ` +
        `${DISTURBED_CPU_PERCENT} % CPU (\`other cpu%\`); those figures are unreliable.`,
    );
  }
  return [...lines, ...footer].join("\n");
}
