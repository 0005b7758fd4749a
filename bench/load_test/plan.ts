/**
 * What each load worker is told (its participants, the clock it runs on) and what it reports
 * back every second, and the pure decisions a synthetic participant makes like a page would:
 * who speaks when, and which cameras a layout shows at which layer.
 *
 * @module
 */
import { type LayerPreference, MAX_LAYER } from "../../lib/client/selection.ts";
import type { HistogramSnapshot } from "../stats.ts";
import type { Layout } from "./options.ts";

/** One synthetic participant. */
export interface PlannedParticipant {
  /** Join order over the whole run (publishers first). */
  index: number;
  userId: string;
  /** The server's base URL (http or ws). */
  url: string;
  video: boolean;
  audio: boolean;
  /** Among audio publishers, its place (for the speaking rotation); -1 for none. */
  audioIndex: number;
  token?: string;
}

/** A worker's whole assignment. */
export interface WorkerPlan {
  worker: number;
  room: string;
  transport: "ws" | "wt";
  layout: Layout;
  simulcast: boolean;
  participants: PlannedParticipant[];
  /** Wall-clock times (ms since the epoch): first join, start and end of measuring. */
  startAtMs: number;
  measureFromMs: number;
  endAtMs: number;
  /** Between two joins of this worker, in ms. */
  joinIntervalMs: number;
  /** Audio publishers speaking at once, out of how many. */
  speakers: number;
  audioPublishers: number;
  /** The index of the run's last joiner (its first media is reported on its own). */
  lastIndex: number;
}

/** Packet classes counted on receipt. */
export type Received = {
  video: number[];
  audio: number;
  control: number;
  videoBytes: number;
  audioBytes: number;
};

/** A worker's cumulative figures, reported every second as one JSON line. */
export interface WorkerReport {
  worker: number;
  atMs: number;
  joinsTried: number;
  joined: number;
  failed: number;
  /** Why joins failed, by message. */
  failures: Record<string, number>;
  /** Connected now. */
  connected: number;
  joinMs: HistogramSnapshot;
  /** From session assigned to the first media received, per participant. */
  firstMediaMs: HistogramSnapshot;
  /** First media of the last participant of the whole run, when this worker had it. */
  lastJoinerFirstMediaMs?: number;
  /** Everything received while measuring, and latencies while measuring. */
  received: Received;
  sent: { video: number; audio: number; videoSkipped: number };
  videoLatency: HistogramSnapshot;
  audioLatency: HistogramSnapshot;
  /** Sequence gaps of up to a second within one stream while measuring: lost packets. */
  lost: { video: number; audio: number };
  /** Closed by the server while the run went on, by close code. */
  closedEarly: Record<string, number>;
  done: boolean;
}

/** How long each group of speakers holds the floor, in ms. */
export const SPEAKING_TURN_MS = 4000;

/**
 * Whether the audio publisher at place `audioIndex` (of `audioPublishers`) is speaking at
 * `nowMs`: `speakers` of them at a time, taking turns every {@linkcode SPEAKING_TURN_MS}. Every
 * worker computes the same from the wall clock.
 *
 * @example
 * ```ts
 * import { isSpeaking, SPEAKING_TURN_MS } from "./plan.ts";
 *
 * const at = (t: number) => [0, 1, 2, 3].filter((i) => isSpeaking(i, 4, 2, t));
 * if (at(0).join() !== "0,1" || at(SPEAKING_TURN_MS).join() !== "2,3") throw new Error();
 * ```
 */
export function isSpeaking(
  audioIndex: number,
  audioPublishers: number,
  speakers: number,
  nowMs: number,
): boolean {
  if (audioIndex < 0 || speakers <= 0 || audioPublishers <= 0) return false;
  if (speakers >= audioPublishers) return true;
  const turn = Math.floor(nowMs / SPEAKING_TURN_MS);
  const first = (turn * speakers) % audioPublishers;
  const offset = (audioIndex - first + audioPublishers) % audioPublishers;
  return offset < speakers;
}

/** The camera tiles of a grid layout (our own tile takes one of them). */
const GRID_TILES: Record<Exclude<Layout, "speaker">, number> = { "3x3": 9, "4x4": 16, "5x5": 25 };
/** The layer a grid tile asks for (a 3x3 tile at 1080p is about 340 pixels high). */
const GRID_LAYER: Record<Exclude<Layout, "speaker">, number> = { "3x3": 1, "4x4": 0, "5x5": 0 };
/** Small tiles beside the speaker in speaker layout. */
const STRIP_TILES = 5;

/**
 * What a receiver showing `layout` asks the relay for, as a page does: the cameras of its first
 * page (in join order, the dominant speaker taking the last place when not on it) at the layer
 * a tile of that size needs; in speaker layout the dominant speaker (or the first to join) at
 * the best layer and a strip of small tiles.
 *
 * @example
 * ```ts
 * import { selectionFor } from "./plan.ts";
 *
 * const others = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"];
 * const grid = selectionFor("3x3", others, "10");
 * if (grid.viewport.join() !== "1,2,3,4,5,6,7,10") throw new Error(grid.viewport.join());
 * const speaker = selectionFor("speaker", others, "4");
 * if (speaker.viewport[0] !== "4" || speaker.layers[0].layer !== Infinity) throw new Error();
 * ```
 */
export function selectionFor(
  layout: Layout,
  others: readonly string[],
  dominant: string | undefined,
): { viewport: string[]; layers: LayerPreference[] } {
  if (layout === "speaker") {
    const featured = dominant ?? others[0];
    if (featured === undefined) return { viewport: [], layers: [] };
    const strip = others.filter((s) => s !== featured).slice(0, STRIP_TILES);
    return {
      viewport: [featured, ...strip],
      layers: [
        { sessionId: featured, kind: "video", layer: Infinity },
        ...strip.map((s) => ({ sessionId: s, kind: "video" as const, layer: 0 })),
      ],
    };
  }
  const slots = GRID_TILES[layout] - 1;
  let page = others.slice(0, slots);
  if (dominant !== undefined && !page.includes(dominant) && others.includes(dominant)) {
    page = [...page.slice(0, slots - 1), dominant];
  }
  const layer = Math.min(GRID_LAYER[layout], MAX_LAYER);
  return {
    viewport: page,
    layers: page.map((s) => ({ sessionId: s, kind: "video", layer })),
  };
}

/** A camera layer a synthetic publisher sends: its rate and packet size. */
export interface SyntheticLayer {
  fps: number;
  bytes: number;
}

/**
 * The synthetic camera: upstream's ladder as packet sizes (120, 350 and 1,500 kbps at 7, 15 and
 * 30 fps are about 2, 3 and 6 KB a frame), or one layer of about 1 Mbps.
 */
export function syntheticLayers(simulcast: boolean): SyntheticLayer[] {
  return simulcast
    ? [{ fps: 7, bytes: 2_100 }, { fps: 15, bytes: 2_900 }, { fps: 30, bytes: 6_200 }]
    : [{ fps: 30, bytes: 4_000 }];
}
