/**
 * What a receiver asks the relay for — videocall-rs's VIEWPORT (whose camera it shows) and
 * LAYER_PREFERENCE (which simulcast layer of each) — and what the relay tells a publisher back
 * (LAYER_HINT). The room keeps the latest wishes, sends each kind at most every
 * {@linkcode SELECTION_INTERVAL_MS} (the newest wins; a page flipping through the grid sends a
 * few packets, not one per render), and sends them again on every new connection, since a relay
 * forgets them with the session's connection. docs/PROTOCOL.md, "Selective forwarding", has the
 * rules.
 *
 * @example
 * ```ts
 * import { Selection } from "./selection.ts";
 * import { PacketType } from "../protocol/packets.ts";
 *
 * const sent: number[] = [];
 * const selection = new Selection((type) => (sent.push(type), true));
 * selection.setViewport(["7", "9"]);
 * selection.setViewport(["7", "9"]); // unchanged: nothing sent
 * selection.setLayers([{ sessionId: "7", kind: "video", layer: Infinity }]);
 * if (sent.join() !== `${PacketType.VIEWPORT},${PacketType.LAYER_PREFERENCE}`) throw new Error();
 * selection.close();
 * ```
 *
 * @module
 */
import { encodeLayerPreferencePacket, encodeViewportPacket } from "../protocol/codec.ts";
import {
  type LayerHintPacket,
  type LayerPreferenceEntry,
  MediaKind,
  PacketType,
} from "../protocol/packets.ts";

/**
 * Least time between two packets of one kind, in ms. A videocall-rs relay ignores a preference
 * that comes within 200 ms of the last; ours allows 5 selection packets a second.
 */
export const SELECTION_INTERVAL_MS = 400;

/** The layer value that asks for the best layer a source publishes (our relay's extension). */
export const HIGHEST_LAYER_WIRE = 0xffff_ffff;

/** The highest layer a packet may carry (a videocall-rs relay drops higher ones; so does ours). */
export const MAX_LAYER = 7;

/** The kinds of media that have simulcast layers. */
export type LayeredKind = "video" | "screen";

/** One layer wish: from `sessionId`'s camera or screen, at most `layer`. */
export interface LayerPreference {
  sessionId: string;
  kind: LayeredKind;
  /** 0 is the base layer; `Infinity` asks for the best the source publishes. */
  layer: number;
}

/**
 * What a LAYER_HINT says to a publisher: per kind, the highest layer anyone wants (`Infinity`:
 * every layer) — layers above it need not be encoded — and whether anybody shows that kind at
 * all (our relay's addition: when nobody does, nothing needs sending, not even the base layer).
 */
export interface LayerHint {
  video: number;
  screen: number;
  watched: { video: boolean; screen: boolean };
}

const WIRE_KIND: Record<LayeredKind, number> = { video: MediaKind.VIDEO, screen: MediaKind.SCREEN };

/** The wire form of a layer value (`Infinity` becomes the "highest" sentinel). */
function wireLayer(layer: number): number {
  if (layer === Infinity) return HIGHEST_LAYER_WIRE;
  if (!Number.isInteger(layer) || layer < 0) {
    throw new RangeError(`A layer is a whole number from 0, or Infinity; got ${layer}`);
  }
  return Math.min(layer, HIGHEST_LAYER_WIRE);
}

/**
 * A LAYER_HINT as a {@linkcode LayerHint}: kinds it does not name keep every layer (a missing or
 * garbage hint means "encode everything", as upstream says); a layer from
 * {@linkcode MAX_LAYER} up means every layer.
 */
export function readLayerHint(packet: LayerHintPacket): LayerHint {
  const hint: LayerHint = {
    video: Infinity,
    screen: Infinity,
    watched: { video: true, screen: true },
  };
  for (const entry of packet.entries) {
    const layer = entry.maxRequestedLayer >= MAX_LAYER ? Infinity : entry.maxRequestedLayer;
    if (entry.mediaKind === MediaKind.VIDEO) {
      hint.video = layer;
      hint.watched.video = entry.unwatched !== true;
    } else if (entry.mediaKind === MediaKind.SCREEN) {
      hint.screen = layer;
      hint.watched.screen = entry.unwatched !== true;
    }
  }
  return hint;
}

interface Channel {
  /** The packet to send (undefined: nothing set yet). */
  wanted: Uint8Array | undefined;
  /** Its text form, to skip unchanged wishes. */
  key: string;
  sentKey: string;
  lastSentMs: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A receiver's viewport and layer wishes, sent to the relay. */
export class Selection {
  readonly #send: (packetType: number, data: Uint8Array) => boolean;
  readonly #now: () => number;
  readonly #channels = new Map<number, Channel>();
  #closed = false;

  /** `send` delivers one packet to the relay (false: not connected; sent again on `resend`). */
  constructor(send: (packetType: number, data: Uint8Array) => boolean, now = () => Date.now()) {
    this.#send = send;
    this.#now = now;
    for (const type of [PacketType.VIEWPORT, PacketType.LAYER_PREFERENCE]) {
      this.#channels.set(type, {
        wanted: undefined,
        key: "",
        sentKey: "",
        lastSentMs: -Infinity,
        timer: undefined,
      });
    }
  }

  /**
   * The sessions whose camera this receiver shows; `undefined` (or an empty list) asks for
   * everyone's. Audio and screen shares are never affected.
   */
  setViewport(sessionIds: Iterable<string> | undefined): void {
    const ids = [...new Set(sessionIds ?? [])].map((id) => BigInt(id)).sort(compare);
    this.#set(
      PacketType.VIEWPORT,
      ids.join(","),
      () => encodeViewportPacket({ sessionIds: ids }),
    );
  }

  /** The layer wanted per source and kind; sources not named get every layer. */
  setLayers(preferences: readonly LayerPreference[]): void {
    const entries: LayerPreferenceEntry[] = preferences.map((p) => ({
      sessionId: BigInt(p.sessionId),
      desiredLayer: wireLayer(p.layer),
      mediaKind: WIRE_KIND[p.kind],
    })).sort((a, b) => compare(a.sessionId, b.sessionId) || a.mediaKind - b.mediaKind);
    this.#set(
      PacketType.LAYER_PREFERENCE,
      entries.map((e) => `${e.sessionId}:${e.mediaKind}:${e.desiredLayer}`).join(","),
      () => encodeLayerPreferencePacket({ entries }),
    );
  }

  #set(type: number, key: string, encode: () => Uint8Array): void {
    const channel = this.#channels.get(type)!;
    if (channel.wanted !== undefined && key === channel.key) return;
    channel.key = key;
    channel.wanted = encode();
    this.#schedule(type, channel);
  }

  #schedule(type: number, channel: Channel): void {
    if (this.#closed || channel.timer !== undefined || channel.key === channel.sentKey) return;
    const wait = channel.lastSentMs + SELECTION_INTERVAL_MS - this.#now();
    if (wait <= 0) return this.#flush(type, channel);
    channel.timer = setTimeout(() => {
      channel.timer = undefined;
      this.#flush(type, channel);
    }, wait);
  }

  #flush(type: number, channel: Channel): void {
    if (channel.wanted === undefined || channel.key === channel.sentKey) return;
    if (!this.#send(type, channel.wanted)) return;
    channel.sentKey = channel.key;
    channel.lastSentMs = this.#now();
  }

  /** A new connection: the relay knows nothing of our wishes; send them again. */
  resend(): void {
    for (const [type, channel] of this.#channels) {
      channel.sentKey = "\u0000";
      // A new session may send at once (the relay's rate limit is per connection).
      channel.lastSentMs = -Infinity;
      clearTimeout(channel.timer);
      channel.timer = undefined;
      if (channel.wanted !== undefined) this.#schedule(type, channel);
    }
  }

  close(): void {
    this.#closed = true;
    for (const channel of this.#channels.values()) clearTimeout(channel.timer);
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
