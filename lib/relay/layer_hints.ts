/**
 * Layer hints (videocall-rs's LAYER_HINT, relay → publisher): per publisher and kind, the
 * highest simulcast layer any receiver in the cluster wants, so nobody encodes a layer nobody
 * watches. Each instance knows its own receivers' wishes (`Forwarding.wantedLayers`) and shares
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
 * const due = hints.due(7n, 0);
 * if (due?.find((h) => h.kind === 1)?.maxLayer !== 1) throw new Error(JSON.stringify(due));
 * if (hints.due(7n, 10) !== undefined) throw new Error("nothing changed");
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
}

interface Reported {
  wanted: Map<string, number>;
  atMs: number;
}

interface Sent {
  layer: number;
  /** A lower target waiting to be sent, and since when. */
  lower?: { layer: number; sinceMs: number };
}

/** Cluster-wide layer wishes of one room, and what each local publisher was last told. */
export class LayerHints {
  readonly #byInstance = new Map<string, Reported>();
  readonly #sent = new Map<string, Sent>();

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

  /** The highest layer of `source`'s `kind` anyone wants (0: nobody watches it). */
  target(source: bigint, kind: number): number {
    const k = `${source}:${kind}`;
    let max = 0;
    for (const report of this.#byInstance.values()) max = Math.max(max, report.wanted.get(k) ?? 0);
    return max;
  }

  /**
   * The hint to send `source` now, if it differs from the last one: raises at once, lowers
   * after they held for {@linkcode LOWER_AFTER_MS}. Undefined when nothing is due.
   */
  due(source: bigint, nowMs: number): Hint[] | undefined {
    let changed = false;
    const hints: Hint[] = [];
    for (const kind of KINDS) {
      const k = `${source}:${kind}`;
      const target = this.target(source, kind);
      const sent = this.#sent.get(k);
      let layer = sent?.layer;
      if (sent === undefined || target > sent.layer) {
        layer = target;
        this.#sent.set(k, { layer });
        changed = true;
      } else if (target < sent.layer) {
        if (sent.lower === undefined || sent.lower.layer !== target) {
          sent.lower = { layer: target, sinceMs: nowMs };
        } else if (nowMs - sent.lower.sinceMs >= LOWER_AFTER_MS) {
          layer = target;
          this.#sent.set(k, { layer });
          changed = true;
        }
      } else {
        sent.lower = undefined;
      }
      hints.push({ kind, maxLayer: layer! });
    }
    return changed ? hints : undefined;
  }
}

/** Serializes an instance's wishes for the bus. */
export function encodeLayerReport(instance: string, wanted: Map<string, number>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ t: "layers", i: instance, w: [...wanted] }));
}

/** Parses a bus report; undefined for anything malformed. */
export function parseLayerReport(
  bytes: Uint8Array,
): { instance: string; wanted: Map<string, number> } | undefined {
  const m = parseJsonObject(bytes);
  if (m === undefined || m.t !== "layers" || typeof m.i !== "string" || !Array.isArray(m.w)) {
    return undefined;
  }
  if (m.i.length === 0 || m.i.length > 64 || m.w.length > MAX_ENTRIES) return undefined;
  const wanted = new Map<string, number>();
  for (const entry of m.w) {
    if (
      !Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" ||
      !/^[0-9]{1,20}:[13]$/.test(entry[0]) || typeof entry[1] !== "number" ||
      !Number.isInteger(entry[1]) || entry[1] < 0 || entry[1] > 0xffff_ffff
    ) {
      return undefined;
    }
    wanted.set(entry[0], entry[1]);
  }
  return { instance: m.i, wanted };
}
