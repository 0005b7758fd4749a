/**
 * What the relay benchmark measured, and how it prints it: one table row per load step, one
 * summary line, and the whole result as JSON.
 *
 * @module
 */

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
  /** (expected - delivered) / expected, over the whole step. */
  loss: number;
  /** Server-side drops during the step, by reason. */
  drops: Record<string, number>;
  /** The sum of {@linkcode StepResult.drops}. */
  dropsTotal: number;
  /** CPU of our servers together, in percent of one core (absent for the ceiling). */
  serverCpuPercent?: number;
  /** Resident memory of our servers together, after the step. */
  serverRssMB?: number;
  /** CPU of the local nats-server, when it carries traffic and could be found. */
  natsCpuPercent?: number;
  /** CPU of this benchmark process (generator and receivers). */
  benchCpuPercent?: number;
  /** CPU of the whole machine (all processes, kernel included), in percent of one core. */
  hostCpuPercent: number;
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
  /** `single`, `nats` or `ceiling`. */
  name: string;
  /** What the target is, in words. */
  description: string;
  /** Every step run, the last one the first that did not hold (unless stopped otherwise). */
  steps: StepResult[];
  /** The step with the highest delivered rate among those that held. */
  best?: StepResult;
  /** Why stepping stopped. */
  stoppedBy: string;
  /** Set when the target could not be measured at all. */
  error?: string;
  /** Warnings and errors our servers logged, by level and event. */
  serverWarnings?: Record<string, number>;
}

type Column = [title: string, width: number, cell: (s: StepResult) => string];

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const opt = (n: number | undefined, digits = 0) => n === undefined ? "-" : n.toFixed(digits);

const COLUMNS: Column[] = [
  ["load", 5, (s) => `${s.multiplier}x`],
  ["sent/s", 7, (s) => int(s.sentPerSecond)],
  ["deliv/s", 8, (s) => int(s.deliveredPerSecond)],
  ["video/s", 7, (s) => int(s.deliveredVideoPerSecond)],
  ["MB/s", 5, (s) => s.deliveredMBps.toFixed(1)],
  ["p50 ms", 6, (s) => ms(s.p50Ms)],
  ["p99 ms", 6, (s) => ms(s.p99Ms)],
  ["loss %", 6, (s) => (s.loss * 100).toFixed(s.loss === 0 ? 0 : 3)],
  ["drops", 5, (s) => int(s.dropsTotal)],
  ["srv cpu%", 8, (s) => opt(s.serverCpuPercent)],
  ["srv MB", 6, (s) => opt(s.serverRssMB)],
  ["nats cpu%", 9, (s) => opt(s.natsCpuPercent)],
  ["bench cpu%", 10, (s) => opt(s.benchCpuPercent)],
  ["host cpu%", 9, (s) => opt(s.hostCpuPercent)],
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
