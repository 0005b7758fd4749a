/**
 * Layer hints (videocall-rs's LAYER_HINT, relay → publisher): per publisher and kind, the
 * highest simulcast layer any receiver in the cluster wants, so nobody encodes a layer nobody
 * watches — and, our addition, whether anybody watches at all, so a camera on nobody's screen
 * sends nothing (videocall-rs's publishers keep sending the base layer to nobody). Each instance knows its own receivers' wishes (`Forwarding.wantedLayers`) and shares
 * them on the bus (`room.<room>.layers`); the instance that holds a publisher combines them and
 * tells it — a higher layer at once, a lower one only after it has held for
 * {@linkcode LOWER_AFTER_MS} (a receiver flipping pages should not make encoders stop and start).
 * Pure logic, no I/O.
 *
 * @example
 * ```ts
 * import { LayerHints } from "./layer_hints.ts";
 * import { HIGHEST_LAYER } from "./forwarding.ts";
 *
 * const hints = new LayerHints();
 * hints.update("a", new Map([["7:1", 1]]), 0);
 * hints.update("b", new Map([["7:1", 0]]), 0);
 * const due = hints.due(7n, 0, () => true);
 * if (due?.find((h) => h.kind === 1)?.maxLayer !== 1) throw new Error(JSON.stringify(due));
 * if (due.find((h) => h.kind === 3)?.unwatched !== false) throw new Error("not yet: it must hold");
 * if (hints.due(7n, 10, () => true) !== undefined) throw new Error("nothing changed");
 * if (HIGHEST_LAYER !== 0xffffffff) throw new Error();
 * ```
 *
 * @module
 */
import { parseJsonObject } from "./_json.ts";
import { MediaKind } from "../protocol/packets.ts";

/** A lower hint waits this long, unchanged, before it is sent, in ms (videocall-rs: 2 s). */
export const LOWER_AFTER_MS = 2000;
/** The kinds that have layers. */
const KINDS = [MediaKind.VIDEO, MediaKind.SCREEN] as const;
/** Most entries one instance may report (a hostile bus message cannot grow memory). */
const MAX_ENTRIES = 20_000;

/** One hint entry for a publisher. */
export interface Hint {
  kind: number;
  maxLayer: number;
  /** Nobody in the cluster shows this kind of the publisher: it may send none of it. */
  unwatched: boolean;
}

interface Reported {
  wanted: Map<string, number>;
  atMs: number;
}

// What a publisher is told, as one number: -1 nobody watches, otherwise the highest layer.
interface Sent {
  level: number;
  /** A lower level waiting to be sent, and since when. */
  lower?: { level: number; sinceMs: number };
}

const UNWATCHED = -1;

/** Cluster-wide layer wishes of one room, and what each local publisher was last told. */
export class LayerHints {
  readonly #byInstance = new Map<string, Reported>();
  readonly #sent = new Map<string, Sent>();

  /** Whether `instance` reported anything yet (a newcomer wants to hear from everyone). */
  knows(instance: string): boolean {
    return this.#byInstance.has(instance);
  }

  /** Replaces what `instance` reported (`${source}:${kind}` → highest layer wanted). */
  update(instance: string, wanted: Map<string, number>, nowMs: number): void {
    this.#byInstance.set(instance, { wanted, atMs: nowMs });
  }

  /** Drops the reports of instances not heard for `timeoutMs`. */
  expire(nowMs: number, timeoutMs: number): void {
    for (const [instance, report] of this.#byInstance) {
      if (nowMs - report.atMs > timeoutMs) this.#byInstance.delete(instance);
    }
  }

  /** Forgets a publisher that left. */
  forget(source: bigint): void {
    for (const kind of KINDS) this.#sent.delete(`${source}:${kind}`);
  }

  /** The highest layer of `source`'s `kind` anyone wants (0: nobody watches it, or the base). */
  target(source: bigint, kind: number): number {
    return Math.max(0, this.#level(source, kind));
  }

  /** Whether any instance has a receiver that shows `source`'s `kind`. */
  watched(source: bigint, kind: number): boolean {
    return this.#level(source, kind) !== UNWATCHED;
  }

  #level(source: bigint, kind: number): number {
    const k = `${source}:${kind}`;
    let max = UNWATCHED;
    for (const report of this.#byInstance.values()) {
      const wish = report.wanted.get(k);
      if (wish !== undefined && wish > max) max = wish;
    }
    return max;
  }

  /**
   * The hint to send `source` now, if it differs from the last one: a raise (a higher layer, or
   * watched again) at once, a lower (a lower layer, or nobody watching) only after it held for
   * {@linkcode LOWER_AFTER_MS}. The first hint never says "unwatched": that too must hold first.
   * Only a kind in `publishes` (the source sent it at least once) can be unwatched: a kind it
   * has not started gets an entry that lets it start, or nobody would ever see its first
   * packet and learn to want it. Undefined when nothing is due.
   */
  due(source: bigint, nowMs: number, publishes: (kind: number) => boolean): Hint[] | undefined {
    let changed = false;
    const hints: Hint[] = [];
    for (const kind of KINDS) {
      const k = `${source}:${kind}`;
      const target = this.#level(source, kind);
      if (!publishes(kind)) {
        hints.push({ kind, maxLayer: Math.max(0, target), unwatched: false });
        continue;
      }
      let sent = this.#sent.get(k);
      if (sent === undefined) {
        sent = { level: Math.max(0, target) };
        this.#sent.set(k, sent);
        changed = true;
      }
      if (target > sent.level) {
        sent.level = target;
        sent.lower = undefined;
        changed = true;
      } else if (target < sent.level) {
        if (sent.lower === undefined || sent.lower.level !== target) {
          sent.lower = { level: target, sinceMs: nowMs };
        } else if (nowMs - sent.lower.sinceMs >= LOWER_AFTER_MS) {
          sent.level = target;
          sent.lower = undefined;
          changed = true;
        }
      } else {
        sent.lower = undefined;
      }
      hints.push({
        kind,
        maxLayer: Math.max(0, sent.level),
        unwatched: sent.level === UNWATCHED,
      });
    }
    return changed ? hints : undefined;
  }
}

/** An instance's report on the bus: its receivers' wishes and its local publishers. */
export interface LayerReport {
  instance: string;
  /** `${source}:${kind}` → the highest layer a receiver of this instance wants. */
  wanted: Map<string, number>;
  /**
   * `${source}:${kind}` of this instance's participants that ever sent that kind: the others
   * learn of a camera that paused before they joined (they never saw its packets) and can say
   * they want it.
   */
  publishers: string[];
}

/** Serializes an instance's report for the bus. */
export function encodeLayerReport(
  instance: string,
  wanted: Map<string, number>,
  publishers: Iterable<string> = [],
): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ t: "layers", i: instance, w: [...wanted], p: [...publishers] }),
  );
}

const ENTRY_KEY = /^[0-9]{1,20}:[13]$/;

/** Parses a bus report; undefined for anything malformed. */
export function parseLayerReport(bytes: Uint8Array): LayerReport | undefined {
  const m = parseJsonObject(bytes);
  if (m === undefined || m.t !== "layers" || typeof m.i !== "string" || !Array.isArray(m.w)) {
    return undefined;
  }
  if (m.i.length === 0 || m.i.length > 64 || m.w.length > MAX_ENTRIES) return undefined;
  const p = m.p ?? [];
  if (!Array.isArray(p) || p.length > MAX_ENTRIES) return undefined;
  const publishers: string[] = [];
  for (const entry of p) {
    if (typeof entry !== "string" || !ENTRY_KEY.test(entry)) return undefined;
    publishers.push(entry);
  }
  const wanted = new Map<string, number>();
  for (const entry of m.w) {
    if (
      !Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" ||
      !ENTRY_KEY.test(entry[0]) || typeof entry[1] !== "number" ||
      !Number.isInteger(entry[1]) || entry[1] < 0 || entry[1] > 0xffff_ffff
    ) {
      return undefined;
    }
    // JSON may say -0: that is layer 0 (kept as -0, it would not survive being encoded again).
    wanted.set(entry[0], entry[1] === 0 ? 0 : entry[1]);
  }
  return { instance: m.i, wanted, publishers };
}
