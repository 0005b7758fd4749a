/**
 * The receive-side meters of one relay target: all deliveries together, and for rooms that mix
 * transports, the deliveries of each receiving transport apart.
 *
 * @module
 */
import { StepMeter } from "./load.ts";
import type { MediaSink, TransportKind } from "./participants.ts";
import type { ReceiverFigures } from "./report.ts";

/** The meter of all deliveries, and for mixed rooms one per receiving transport. */
export class Meters {
  readonly all = new StepMeter();
  readonly byReceiver: Partial<Record<TransportKind, StepMeter>>;

  /** With `split`, deliveries are also counted by the receiver's transport. */
  constructor(split: boolean) {
    this.byReceiver = split ? { ws: new StepMeter(), wt: new StepMeter() } : {};
  }

  /** Hands every delivery to the meters it belongs to. */
  readonly sink: MediaSink = (media, atMs, receiver) => {
    this.all.onMedia(media, atMs);
    if (receiver !== undefined) this.byReceiver[receiver]?.onMedia(media, atMs);
  };

  /** Starts a new step on every meter. */
  begin(nowMs: number): void {
    this.all.begin(nowMs);
    for (const m of Object.values(this.byReceiver)) m.begin(nowMs);
  }

  /**
   * Per receiving transport, what arrived against the deliveries `expected` (undefined unless
   * split).
   */
  figures(
    expected: Record<TransportKind, number>,
    seconds: number,
  ): Partial<Record<TransportKind, ReceiverFigures>> | undefined {
    const entries = Object.entries(this.byReceiver) as [TransportKind, StepMeter][];
    if (entries.length === 0) return undefined;
    const out: Partial<Record<TransportKind, ReceiverFigures>> = {};
    for (const [kind, m] of entries) {
      out[kind] = {
        expectedPerSecond: expected[kind] / seconds,
        deliveredPerSecond: m.received / seconds,
        p50Ms: m.latency.percentile(0.5),
        p99Ms: m.latency.percentile(0.99),
        loss: expected[kind] === 0 ? 0 : Math.max(0, expected[kind] - m.received) / expected[kind],
      };
    }
    return out;
  }
}

/** `after - before` per transport (a missing side counts as 0). */
export function minus(
  after: Record<TransportKind, number> | undefined,
  before: Record<TransportKind, number> | undefined,
): Record<TransportKind, number> {
  return { ws: (after?.ws ?? 0) - (before?.ws ?? 0), wt: (after?.wt ?? 0) - (before?.wt ?? 0) };
}
