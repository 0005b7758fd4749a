/**
 * The relay's counters and gauges, rendered in the Prometheus text format for `GET /metrics`.
 * Tests and the benchmark read the same numbers.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 *
 * const registry = new MetricsRegistry();
 * const drops = registry.counter("drops_total", "Dropped packets", "reason");
 * drops.inc("queue_full");
 * if (!registry.render().includes('drops_total{reason="queue_full"} 1')) throw new Error();
 * ```
 *
 * @module
 */

/** A counter with at most one label. */
export class Counter {
  readonly name: string;
  readonly help: string;
  readonly label: string | undefined;
  readonly #values = new Map<string, number>();

  constructor(name: string, help: string, label?: string) {
    this.name = name;
    this.help = help;
    this.label = label;
  }

  /** Adds `n` (default 1) to the series with label value `labelValue` ("" when unlabelled). */
  inc(labelValue = "", n = 1): void {
    this.#values.set(labelValue, (this.#values.get(labelValue) ?? 0) + n);
  }

  /** The current value of one series (0 if never incremented). */
  get(labelValue = ""): number {
    return this.#values.get(labelValue) ?? 0;
  }

  /** The sum over all series. */
  total(): number {
    let sum = 0;
    for (const v of this.#values.values()) sum += v;
    return sum;
  }

  /** The series as `[labelValue, value]` pairs. */
  entries(): [string, number][] {
    return [...this.#values.entries()];
  }
}

interface Gauge {
  name: string;
  help: string;
  read: () => number;
}

/** A set of counters and gauges that renders itself for Prometheus. */
export class MetricsRegistry {
  readonly #counters: Counter[] = [];
  readonly #gauges: Gauge[] = [];
  readonly #prefix: string;

  constructor(prefix = "videocall_") {
    this.#prefix = prefix;
  }

  /** Creates and registers a counter. */
  counter(name: string, help: string, label?: string): Counter {
    const counter = new Counter(this.#prefix + name, help, label);
    this.#counters.push(counter);
    return counter;
  }

  /** Registers a gauge whose value is read at render time. */
  gauge(name: string, help: string, read: () => number): void {
    this.#gauges.push({ name: this.#prefix + name, help, read });
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const lines: string[] = [];
    for (const g of this.#gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name} ${g.read()}`);
    }
    for (const c of this.#counters) {
      lines.push(`# HELP ${c.name} ${c.help}`, `# TYPE ${c.name} counter`);
      const entries = c.entries();
      if (c.label === undefined) {
        lines.push(`${c.name} ${c.get()}`);
        continue;
      }
      for (const [value, n] of entries) {
        lines.push(`${c.name}{${c.label}="${escapeLabel(value)}"} ${n}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** The counters the relay keeps. */
export interface RelayMetrics {
  registry: MetricsRegistry;
  packetsIn: Counter;
  bytesIn: Counter;
  packetsOut: Counter;
  bytesOut: Counter;
  drops: Counter;
  dropsByClass: Counter;
  rejected: Counter;
  closed: Counter;
  busReconnects: Counter;
  congestionSent: Counter;
  unimplemented: Counter;
  filtered: Counter;
  downlinkCongestion: Counter;
  layerHints: Counter;
  instancesLost: Counter;
  sessionsMoved: Counter;
}

/** Creates the relay's counters in `registry`. */
export function createRelayMetrics(registry = new MetricsRegistry()): RelayMetrics {
  return {
    registry,
    packetsIn: registry.counter("packets_in_total", "Packets received from clients", "type"),
    bytesIn: registry.counter("bytes_in_total", "Bytes received from clients", "type"),
    packetsOut: registry.counter("packets_out_total", "Packets sent to clients, by class", "class"),
    bytesOut: registry.counter("bytes_out_total", "Bytes sent to clients, by class", "class"),
    drops: registry.counter("drops_total", "Packets not delivered, by reason", "reason"),
    dropsByClass: registry.counter(
      "dropped_packets_total",
      "Packets dropped for slow receivers, by packet class",
      "class",
    ),
    rejected: registry.counter(
      "rejected_connections_total",
      "Connections refused or closed for bad behaviour, by reason",
      "reason",
    ),
    closed: registry.counter("closed_sessions_total", "Sessions ended, by reason", "reason"),
    busReconnects: registry.counter("bus_reconnects_total", "Times the bus reconnected"),
    congestionSent: registry.counter(
      "congestion_notices_total",
      "CONGESTION packets sent to senders whose packets were dropped",
    ),
    filtered: registry.counter(
      "filtered_packets_total",
      "Packets not sent to a receiver by selective forwarding (layer, viewport, not_loudest)",
      "reason",
    ),
    downlinkCongestion: registry.counter(
      "downlink_congestion_notices_total",
      "DOWNLINK_CONGESTION packets sent to receivers that could not keep up",
    ),
    layerHints: registry.counter(
      "layer_hints_total",
      "LAYER_HINT packets sent to publishers",
    ),
    instancesLost: registry.counter(
      "instances_lost_total",
      "Other relay instances taken as gone: silent past the instance timeout, or said goodbye",
      "how",
    ),
    sessionsMoved: registry.counter(
      "sessions_moved_total",
      "Sessions of another instance resumed here (their instance died, or their client moved)",
    ),
    unimplemented: registry.counter(
      "unimplemented_packets_total",
      "Packets of types this server does not act on yet (videocall-rs's newer types, or newer), consumed",
      "type",
    ),
  };
}
