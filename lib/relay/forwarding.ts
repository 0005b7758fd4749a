/**
 * Selective forwarding for one room on one instance: what each local receiver asked for
 * (videocall-rs's VIEWPORT and LAYER_PREFERENCE) and which simulcast layers each source is
 * publishing, and the decision — does this video packet go to this receiver? Pure logic, no I/O.
 *
 * The rules (docs/PROTOCOL.md, "Selective forwarding"):
 * - A viewport lists the sources whose camera a receiver renders; camera video of other sources is
 *   not forwarded to it. Audio and screen shares never are filtered by it. No viewport, or an empty
 *   one, means everything.
 * - A layer preference names, per (source, kind), the one simulcast layer wanted; the base layer
 *   (0) always flows; no preference means every layer. Ours is "at most": the relay forwards the
 *   highest layer the source publishes that is not above the one asked for — so a layer a
 *   publisher stops encoding falls back to the next one below instead of leaving only the base,
 *   and {@linkcode HIGHEST_LAYER} asks for the best there is (what videocall-rs's receivers cannot
 *   ask for). A videocall-rs client only asks for layers it has seen, which "at most" forwards
 *   exactly as its own relay would.
 * - While a receiver's downlink is congested, only base layers of cameras reach it.
 * - All of it subtracts: nothing here can make a receiver get anything it would not get without it.
 *
 * @example
 * ```ts
 * import { Forwarding, HIGHEST_LAYER } from "./forwarding.ts";
 * import { MediaKind } from "../protocol/packets.ts";
 *
 * const f = new Forwarding();
 * for (const layer of [0, 1, 2]) f.noteLayer(7n, MediaKind.VIDEO, layer, 0);
 * f.setLayers(1n, [{ source: 7n, kind: MediaKind.VIDEO, layer: 1 }]);
 * f.setLayers(2n, [{ source: 7n, kind: MediaKind.VIDEO, layer: HIGHEST_LAYER }]);
 * if (!f.wants(1n, 7n, MediaKind.VIDEO, 1, 0) || f.wants(1n, 7n, MediaKind.VIDEO, 2, 0)) {
 *   throw new Error("receiver 1 gets layer 1 only (and the base)");
 * }
 * if (!f.wants(2n, 7n, MediaKind.VIDEO, 2, 0) || f.wants(2n, 7n, MediaKind.VIDEO, 1, 0)) {
 *   throw new Error("receiver 2 gets the highest layer");
 * }
 * f.setViewport(1n, [9n]);
 * if (f.wants(1n, 7n, MediaKind.VIDEO, 0, 0)) throw new Error("7 is not in 1's viewport");
 * ```
 *
 * @module
 */
import { MediaKind } from "../protocol/packets.ts";

/** The layer value that asks for the best a source publishes (and hints "every layer"). */
export const HIGHEST_LAYER = 0xffff_ffff;

/** A layer not seen from a source for this long is taken as no longer published, in ms. */
export const LAYER_SEEN_MS = 1500;

/** How long a receiver counts as congested after its last congestion drop, in ms. */
export const DOWNLINK_RELIEF_MS = 8000;

/** One layer-preference entry. */
export interface LayerWish {
  source: bigint;
  /** MediaKind: VIDEO (1) or SCREEN (3); AUDIO (2) is accepted and ignored (one layer). */
  kind: number;
  layer: number;
}

interface Subscription {
  /** Sources whose camera the receiver renders; undefined: everyone's. */
  viewport: Set<bigint> | undefined;
  /** `${source}:${kind}` → the layer wanted (at most). */
  layers: Map<string, number>;
  congestedUntilMs: number;
}

const key = (source: bigint, kind: number) => `${source}:${kind}`;

/** Forwarding state of one room on one instance. */
export class Forwarding {
  readonly #subs = new Map<bigint, Subscription>();
  // `${source}:${kind}` → layer → when last seen.
  readonly #seen = new Map<string, Map<number, number>>();
  // Source → receivers whose viewport lists it (receivers without a viewport are not here).
  readonly #watchers = new Map<bigint, Set<bigint>>();

  #sub(receiver: bigint): Subscription {
    let sub = this.#subs.get(receiver);
    if (sub === undefined) {
      sub = { viewport: undefined, layers: new Map(), congestedUntilMs: 0 };
      this.#subs.set(receiver, sub);
    }
    return sub;
  }

  /** Sets the sources whose camera `receiver` renders; undefined or empty: everyone's. */
  setViewport(receiver: bigint, sources: readonly bigint[] | undefined): void {
    const sub = this.#sub(receiver);
    for (const source of sub.viewport ?? []) this.#watchers.get(source)?.delete(receiver);
    sub.viewport = sources === undefined || sources.length === 0 ? undefined : new Set(sources);
    for (const source of sub.viewport ?? []) {
      let set = this.#watchers.get(source);
      if (set === undefined) {
        set = new Set();
        this.#watchers.set(source, set);
      }
      set.add(receiver);
    }
  }

  /** Replaces `receiver`'s layer preferences (an empty list: every layer of everyone). */
  setLayers(receiver: bigint, wishes: readonly LayerWish[]): void {
    const layers = new Map<string, number>();
    for (const wish of wishes) {
      const kind = normalizeKind(wish.kind);
      if (kind === MediaKind.AUDIO) continue;
      layers.set(key(wish.source, kind), wish.layer);
    }
    this.#sub(receiver).layers = layers;
  }

  /** Forgets a receiver that left, and what it asked for. */
  remove(receiver: bigint): void {
    this.setViewport(receiver, undefined);
    this.#subs.delete(receiver);
  }

  /** Forgets a source that left (its layers). */
  forgetSource(source: bigint): void {
    for (const kind of [MediaKind.VIDEO, MediaKind.SCREEN]) this.#seen.delete(key(source, kind));
    this.#watchers.delete(source);
  }

  /** Notes that `source` publishes `layer` of `kind` (a packet of it passed through now). */
  noteLayer(source: bigint, kind: number, layer: number, nowMs: number): void {
    const k = key(source, normalizeKind(kind));
    let layers = this.#seen.get(k);
    if (layers === undefined) {
      layers = new Map();
      this.#seen.set(k, layers);
    }
    layers.set(layer, nowMs);
  }

  /** The layers `source` published of `kind` within {@linkcode LAYER_SEEN_MS}, ascending. */
  publishedLayers(source: bigint, kind: number, nowMs: number): number[] {
    const layers = this.#seen.get(key(source, normalizeKind(kind)));
    if (layers === undefined) return [];
    return [...layers].filter(([, at]) => nowMs - at <= LAYER_SEEN_MS).map(([l]) => l)
      .sort((a, b) => a - b);
  }

  /**
   * The layer of `source`'s `kind` that goes to `receiver` besides the base: the highest one
   * published that is not above what it asked for; undefined when it asked for nothing (every
   * layer goes).
   */
  chosenLayer(receiver: bigint, source: bigint, kind: number, nowMs: number): number | undefined {
    const wanted = this.#subs.get(receiver)?.layers.get(key(source, normalizeKind(kind)));
    if (wanted === undefined) return undefined;
    let chosen = 0;
    for (const layer of this.publishedLayers(source, kind, nowMs)) {
      if (layer <= wanted && layer > chosen) chosen = layer;
    }
    return chosen;
  }

  /** The layer `receiver` asked for from `source`'s `kind`, if it asked. */
  preference(receiver: bigint, source: bigint, kind: number): number | undefined {
    return this.#subs.get(receiver)?.layers.get(key(source, normalizeKind(kind)));
  }

  /** The sources seen publishing layers of `kind` within {@linkcode LAYER_SEEN_MS}. */
  publishers(kind: number, nowMs: number): bigint[] {
    const out: bigint[] = [];
    const suffix = `:${normalizeKind(kind)}`;
    for (const [k, layers] of this.#seen) {
      if (!k.endsWith(suffix)) continue;
      for (const at of layers.values()) {
        if (nowMs - at <= LAYER_SEEN_MS) {
          out.push(BigInt(k.slice(0, -suffix.length)));
          break;
        }
      }
    }
    return out;
  }

  /** Whether `receiver` renders `source`'s camera (its viewport lists it, or it has none). */
  watches(receiver: bigint, source: bigint): boolean {
    const viewport = this.#subs.get(receiver)?.viewport;
    return viewport === undefined || viewport.has(source);
  }

  /** Whether `receiver` has a viewport (and so watches only what it lists). */
  hasViewport(receiver: bigint): boolean {
    return this.#subs.get(receiver)?.viewport !== undefined;
  }

  /** The receivers whose viewport lists `source`. */
  watchersOf(source: bigint): ReadonlySet<bigint> {
    return this.#watchers.get(source) ?? EMPTY;
  }

  /** Whether a video packet (`kind` VIDEO or SCREEN) of `layer` from `source` goes to `receiver`. */
  wants(receiver: bigint, source: bigint, kind: number, layer: number, nowMs: number): boolean {
    const normalized = normalizeKind(kind);
    const sub = this.#subs.get(receiver);
    if (sub === undefined) return true;
    if (normalized === MediaKind.VIDEO && sub.viewport !== undefined && !sub.viewport.has(source)) {
      return false;
    }
    if (layer === 0) return true;
    if (normalized === MediaKind.VIDEO && nowMs < sub.congestedUntilMs) return false;
    const chosen = this.chosenLayer(receiver, source, normalized, nowMs);
    return chosen === undefined || chosen === layer;
  }

  /**
   * Marks `receiver`'s downlink congested now; true on the rising edge (it was not congested),
   * when the receiver should be told (DOWNLINK_CONGESTION).
   */
  congested(receiver: bigint, nowMs: number): boolean {
    const sub = this.#sub(receiver);
    const rising = nowMs >= sub.congestedUntilMs;
    sub.congestedUntilMs = nowMs + DOWNLINK_RELIEF_MS;
    return rising;
  }
}

const EMPTY: ReadonlySet<bigint> = new Set();

/** videocall-rs's reading of a kind: 2 audio, 3 screen, anything else video. */
export function normalizeKind(kind: number): number {
  return kind === MediaKind.AUDIO || kind === MediaKind.SCREEN ? kind : MediaKind.VIDEO;
}
