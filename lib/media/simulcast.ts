/**
 * Simulcast, the decisions without the browser: which independent encodes a camera publishes
 * (videocall-rs's ladder: each layer a bounding box, a frame rate and a bitrate, never upscaled),
 * how many a machine can afford, which layer a tile of a given size asks for, and — on the
 * receiving side — which of the layers arriving to decode. docs/ARCHITECTURE.md, "Selective
 * forwarding", tells how the pieces meet.
 *
 * @example
 * ```ts
 * import { layerForTile, simulcastLayers } from "./simulcast.ts";
 *
 * // A 640x480 webcam with three layers: 240x180, 480x360 and 640x480 (never upscaled).
 * const layers = simulcastLayers(640, 480, 3).map((l) => `${l.width}x${l.height}`);
 * if (layers.join() !== "240x180,480x360,640x480") throw new Error(layers.join());
 * // A 120-pixel-high thumbnail on a 2x screen wants layer 1; the speaker's tile the best.
 * if (layerForTile(120, 2, false) !== 1 || layerForTile(120, 2, true) !== Infinity) {
 *   throw new Error();
 * }
 * ```
 *
 * @module
 */

/** One rung of the simulcast ladder. */
export interface LadderTier {
  maxWidth: number;
  maxHeight: number;
  framerate: number;
  bitrate: number;
}

/** videocall-rs's camera ladder (layer 0 low, 1 standard, 2 hd). */
export const SIMULCAST_LADDER: readonly LadderTier[] = [
  { maxWidth: 320, maxHeight: 180, framerate: 7, bitrate: 120_000 },
  { maxWidth: 640, maxHeight: 360, framerate: 15, bitrate: 350_000 },
  { maxWidth: 1280, maxHeight: 720, framerate: 30, bitrate: 1_500_000 },
];

/** The most layers a camera publishes. */
export const MAX_SIMULCAST_LAYERS = SIMULCAST_LADDER.length;

/** One layer a sender encodes: its wire id, encoded size, frame rate and bitrate. */
export interface LayerSpec {
  layer: number;
  width: number;
  height: number;
  framerate: number;
  bitrate: number;
}

/**
 * The layers a `width`x`height` source publishes when it can afford `count` (1–3): with 3,
 * low, standard and hd; with 2, low and hd (as videocall-rs: the middle one is dropped, so
 * large tiles keep full quality); with 1, hd alone. Each is fitted inside its tier's box keeping
 * the aspect ratio, never above the source; a tier that would come out no larger than the one
 * below is left out (a 320x180 camera publishes one layer). Layer ids are dense: 0, 1, ….
 * Bitrates scale down with the pixels when a source is smaller than the box.
 */
export function simulcastLayers(width: number, height: number, count: number): LayerSpec[] {
  const n = Math.max(1, Math.min(MAX_SIMULCAST_LAYERS, Math.floor(count)));
  const tiers = n === 1
    ? [SIMULCAST_LADDER[2]]
    : n === 2
    ? [SIMULCAST_LADDER[0], SIMULCAST_LADDER[2]]
    : [...SIMULCAST_LADDER];
  const out: LayerSpec[] = [];
  for (const tier of tiers) {
    const scale = Math.min(1, tier.maxWidth / width, tier.maxHeight / height);
    const w = Math.max(2, Math.round(width * scale) & ~1);
    const h = Math.max(2, Math.round(height * scale) & ~1);
    const below = out.at(-1);
    if (below !== undefined && w * h <= below.width * below.height) continue;
    const boxPixels = tier.maxWidth * tier.maxHeight;
    const bitrate = Math.round(tier.bitrate * Math.min(1, Math.max(0.25, (w * h) / boxPixels)));
    out.push({ layer: out.length, width: w, height: h, framerate: tier.framerate, bitrate });
  }
  return out;
}

/**
 * How many camera layers a machine publishes by default, from its logical cores: one core
 * cannot afford a second encode; from two cores the low layer (320x180 at 7 fps, about 2% of the
 * pixels per second of 720p at 30) is cheap enough to add; from six, the middle one too.
 */
export function defaultLayerCount(cores: number | undefined): number {
  if (cores === undefined || cores < 2) return 1;
  return cores >= 6 ? 3 : 2;
}

/** Device pixels of tile height up to which the low layer is enough (180, and a margin). */
const LOW_LAYER_MAX_PX = 200;
/** Up to which the standard layer is enough (360, and a margin). */
const STANDARD_LAYER_MAX_PX = 400;

/**
 * The layer a camera tile asks for: its height in device pixels picks the smallest layer that
 * fills it (0 up to 200, 1 up to 400), and a featured tile (speaker, pinned) asks for the best
 * (`Infinity`). "At most" on our relay: a publisher without that layer sends the next below.
 */
export function layerForTile(heightCssPx: number, devicePixelRatio: number, big: boolean): number {
  if (big) return Infinity;
  const px = heightCssPx * Math.max(1, devicePixelRatio || 1);
  if (px <= LOW_LAYER_MAX_PX) return 0;
  if (px <= STANDARD_LAYER_MAX_PX) return 1;
  return Infinity;
}

/** A layer that has sent nothing for this long is taken as gone, in ms. */
export const LAYER_GONE_MS = 1000;

/**
 * Which simulcast layer of one sender's stream a receiver decodes. The relay forwards the base
 * layer and at most the one asked for; the best layer arriving is the one to show. The decoder
 * switches to another layer only at that layer's key frame (layers are independent encodes), so
 * a switch up waits for one (asking the sender for it), and a layer that stops arriving (the
 * sender stopped encoding it, or the wish went down) falls back to the best still arriving.
 *
 * @example
 * ```ts
 * import { LayerChoice } from "./simulcast.ts";
 *
 * const choice = new LayerChoice();
 * choice.seen(0, 0);
 * choice.released(0, true, 0); // decode the base from its key frame
 * choice.seen(2, 10); // layer 2 arrives: wanted, but it starts with a delta
 * if (choice.released(2, false, 10) || !choice.accepts(0) || choice.accepts(2)) throw new Error();
 * if (choice.wantsKey(400) !== 2) throw new Error("ask for layer 2's key frame");
 * choice.seen(2, 500);
 * if (!choice.released(2, true, 500) || choice.accepts(0)) throw new Error("switched at the key");
 * choice.seen(0, 2000); // layer 2 went quiet for over a second: back to the base
 * if (choice.target(2000) !== 0 || choice.wantsKey(2000) !== 0) throw new Error();
 * ```
 */
export class LayerChoice {
  /** The layer being decoded (undefined before the first key frame). */
  current: number | undefined;
  readonly #lastSeen = new Map<number, number>();
  readonly #lastKeyAsk = new Map<number, number>();
  /** Layer switches made, for the diagnostics. */
  switches = 0;

  /** A packet of `layer` arrived (before any reordering). */
  seen(layer: number, nowMs: number): void {
    this.#lastSeen.set(layer, nowMs);
  }

  /** The best layer seen within {@linkcode LAYER_GONE_MS}. */
  target(nowMs: number): number | undefined {
    let best: number | undefined;
    for (const [layer, at] of this.#lastSeen) {
      if (nowMs - at <= LAYER_GONE_MS && (best === undefined || layer > best)) best = layer;
    }
    return best;
  }

  /**
   * A frame of `layer` came out of its jitter buffer (in order); true when it starts a switch:
   * a key frame of the best layer arriving, which is not the one decoded. The caller decodes
   * the frames of {@linkcode current} and drops the others.
   */
  released(layer: number, key: boolean, nowMs: number): boolean {
    if (layer === this.current || !key || layer !== this.target(nowMs)) return false;
    if (this.current !== undefined) this.switches++;
    this.current = layer;
    return true;
  }

  /** Whether frames of `layer` go to the decoder. */
  accepts(layer: number): boolean {
    return layer === this.current;
  }

  /**
   * The layer to ask the sender a key frame of now, if any: the best arriving when it is not
   * the one decoded (its next periodic key frame may be seconds off). At most one ask per layer
   * per second. (Gaps in the decoded layer are the jitter buffer's to report.)
   */
  wantsKey(nowMs: number): number | undefined {
    const target = this.target(nowMs);
    if (target === undefined || target === this.current) return undefined;
    const last = this.#lastKeyAsk.get(target) ?? -Infinity;
    if (nowMs - last < 1000) return undefined;
    this.#lastKeyAsk.set(target, nowMs);
    return target;
  }

  /** Starts over (the stream was hidden, or its decoder failed). */
  reset(): void {
    this.current = undefined;
    this.#lastSeen.clear();
  }
}
