/**
 * Selective forwarding in one room on one instance: which local receivers each packet goes to
 * (viewports, layer preferences, congested downlinks, and in large meetings only the loudest
 * speakers' audio and only watched participants' heartbeats), and the messages that come with it
 * — LAYER_HINT to local publishers (the cluster's wishes, shared on `room.<room>.layers`),
 * DOWNLINK_CONGESTION to congested receivers, ACTIVE_SPEAKERS to everyone. The room owns the
 * sessions and the presence; this owns the media decisions. docs/ARCHITECTURE.md, "Selective
 * forwarding", walks through it.
 *
 * @module
 */
import { encodeActiveSpeakersPacket, encodeLayerHintPacket } from "../protocol/codec.ts";
import { MediaKind, MediaType, PacketType } from "../protocol/packets.ts";
import type { MediaInfo } from "./bus_frame.ts";
import { Forwarding, HIGHEST_LAYER, type LayerWish, normalizeKind } from "./forwarding.ts";
import { encodeLayerReport, LayerHints, parseLayerReport } from "./layer_hints.ts";
import type { RelayLimits } from "./limits.ts";
import type { RelayMetrics } from "./metrics.ts";
import { PacketClass } from "./packet_class.ts";
import type { Session } from "./session.ts";
import { SpeakerRanking, type SpeakerState } from "./speakers.ts";

/** How often hints, congestion relief and the speaker list are looked at, in ms. */
const SPEAKERS_INTERVAL_MS = 250;
const HINTS_INTERVAL_MS = 1000;
/** Wishes are recomputed this long after a viewport or preference changed, in ms. */
const HINTS_DEBOUNCE_MS = 200;

/** What the room provides. */
export interface RoomMediaHost {
  instanceId: string;
  limits: RelayLimits;
  metrics: RelayMetrics;
  now(): number;
  /** This instance's sessions of the room, waiting ones included. */
  local: ReadonlyMap<bigint, Session>;
  /** Whether the room is above the large-meeting size. */
  large(): boolean;
  /** Whether a participant was announced to the room (in large meetings: publishes). */
  announced(session: bigint): boolean;
  /** Whether a participant is in the room's roster (on any instance). */
  member(session: bigint): boolean;
  /** Publishes this instance's layer wishes on the room's bus subject. */
  publishReport(bytes: Uint8Array): void;
  /** A packet from the server (system identity), ready to deliver. */
  systemPacket(packetType: number, data: Uint8Array): Uint8Array;
  /** A packet stamped as if from `session` (LAYER_HINT names the publisher, as upstream). */
  packetFor(session: Session, packetType: number, data: Uint8Array): Uint8Array;
}

/** Media forwarding state of one room on one instance. */
export class RoomMedia {
  readonly #host: RoomMediaHost;
  readonly forwarding = new Forwarding();
  readonly #speakers: SpeakerRanking;
  readonly #hints = new LayerHints();
  // Local receivers without a viewport: they get every camera.
  readonly #unfiltered = new Set<bigint>();
  // Per kind, every source that ever sent it (until it leaves): a camera paused because nobody
  // watched it still needs a hint when someone does.
  readonly #publishers = new Map<number, Set<bigint>>([
    [MediaKind.VIDEO, new Set()],
    [MediaKind.SCREEN, new Set()],
  ]);
  #speakersSent: SpeakerState = { speakers: [], dominant: undefined };
  #speakersDirty = false;
  #reportDue: ReturnType<typeof setTimeout> | undefined;
  #lastReport = "";
  readonly #timers: ReturnType<typeof setInterval>[];

  constructor(host: RoomMediaHost) {
    this.#host = host;
    this.#speakers = new SpeakerRanking(host.limits.activeSpeakers);
    this.#timers = [
      setInterval(() => this.#sendSpeakers(), SPEAKERS_INTERVAL_MS),
      setInterval(() => this.#hintsTick(), HINTS_INTERVAL_MS),
    ];
  }

  /** Stops the timers (the room closed). */
  dispose(): void {
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#reportDue);
  }

  /** A local session joined: it sees every camera until it sends a viewport. */
  addReceiver(id: bigint): void {
    this.#unfiltered.add(id);
  }

  /** A local session left. */
  removeReceiver(id: bigint): void {
    this.#unfiltered.delete(id);
    this.forwarding.remove(id);
    this.#scheduleReport();
  }

  /** A participant left the room (anywhere): forget its layers, voice and hints. */
  forgetSource(id: bigint): void {
    this.forwarding.forgetSource(id);
    for (const set of this.#publishers.values()) set.delete(id);
    this.#speakers.forget(id);
    this.#hints.forget(id);
  }

  /**
   * Another instance died: its receivers' wishes no longer count (the next hint tick lowers what
   * publishers send; it would otherwise wait for the presence timeout).
   */
  forgetInstance(instance: string): void {
    if (this.#hints.knows(instance)) this.#hints.update(instance, new Map(), this.#host.now());
  }

  /** A local receiver's VIEWPORT (ignored with selective forwarding off). */
  setViewport(receiver: bigint, sources: readonly bigint[]): void {
    if (!this.#host.limits.selectiveForwarding) return;
    this.forwarding.setViewport(receiver, sources);
    if (this.forwarding.hasViewport(receiver)) this.#unfiltered.delete(receiver);
    else this.#unfiltered.add(receiver);
    this.#scheduleReport();
  }

  /** A local receiver's LAYER_PREFERENCE (ignored with selective forwarding off). */
  setLayers(receiver: bigint, wishes: readonly LayerWish[]): void {
    if (!this.#host.limits.selectiveForwarding) return;
    this.forwarding.setLayers(receiver, wishes);
    this.#scheduleReport();
  }

  /** Another instance's layer wishes, from the bus. */
  onReport(bytes: Uint8Array): boolean {
    const report = parseLayerReport(bytes);
    if (report === undefined) return false;
    if (report.instance === this.#host.instanceId) return true;
    const newcomer = !this.#hints.knows(report.instance);
    this.#hints.update(report.instance, report.wanted, this.#host.now());
    let learned = false;
    for (const entry of report.publishers) {
      const [source, kind] = entry.split(":");
      const known = this.#publishers.get(Number(kind))!;
      const id = BigInt(source);
      // Only members: a report cannot grow this set with made-up sources (presence that
      // arrives later is covered by the next periodic report).
      if (!known.has(id) && !this.#host.local.has(id) && this.#host.member(id)) {
        known.add(id);
        learned = true;
      }
    }
    if (newcomer) {
      // It knows nothing of ours yet (our publishers included): say it now, not on the next
      // change.
      this.#report(true);
    } else if (learned) {
      this.#scheduleReport();
    } else {
      this.#sendHints();
    }
    return true;
  }

  /** A receiver's queue dropped a packet: tell it once per congestion episode. */
  noteCongested(receiver: Session): void {
    if (!this.#host.limits.selectiveForwarding) return;
    if (!this.forwarding.congested(receiver.id, this.#host.now())) return;
    this.#host.metrics.downlinkCongestion.inc();
    receiver.deliver(
      this.#host.systemPacket(PacketType.DOWNLINK_CONGESTION, new Uint8Array(0)),
      PacketClass.CONTROL,
      0n,
    );
  }

  /** The ACTIVE_SPEAKERS packet of now (for a newcomer), or undefined before anyone spoke. */
  speakersPacket(): Uint8Array | undefined {
    const state = this.#speakersSent;
    if (state.dominant === undefined && state.speakers.length === 0) return undefined;
    return this.#host.systemPacket(
      PacketType.ACTIVE_SPEAKERS,
      encodeActiveSpeakersPacket({ sessionIds: state.speakers, dominant: state.dominant ?? 0n }),
    );
  }

  /**
   * Delivers a stamped packet from `sender` to this instance's receivers of the room that should
   * get it (`target` 0: everyone but the sender; otherwise that session only).
   */
  fanOut(packet: Uint8Array, cls: PacketClass, sender: bigint, target: bigint, info: MediaInfo) {
    const host = this.#host;
    const local = host.local;
    if (target !== 0n) {
      const session = local.get(target);
      if (session !== undefined && session.id !== sender && !session.waiting) {
        session.deliver(packet, cls, sender, info.layer);
      }
      return;
    }
    const kind = mediaKindOf(info);
    if (kind === MediaKind.VIDEO || kind === MediaKind.SCREEN) {
      const now = host.now();
      this.forwarding.noteLayer(sender, kind, info.layer, now);
      const known = this.#publishers.get(kind)!;
      if (!known.has(sender)) {
        known.add(sender);
        this.#scheduleReport();
      }
      const receivers = kind === MediaKind.VIDEO ? this.#cameraAudience(sender) : local.keys();
      for (const id of receivers) {
        const session = local.get(id);
        if (session === undefined || id === sender || session.waiting) continue;
        if (this.forwarding.wants(id, sender, kind, info.layer, now)) {
          session.deliver(packet, cls, sender, info.layer);
        } else {
          host.metrics.filtered.inc("layer");
        }
      }
      return;
    }
    if (kind === MediaKind.AUDIO) {
      const level = info.audioLevel === 0 ? undefined : info.audioLevel - 1;
      const loud = this.#speakers.hear(sender, level, host.now());
      this.#speakersDirty = true;
      if (
        host.large() && !loud && host.limits.selectiveForwarding && !this.#screenSharing(sender)
      ) {
        host.metrics.filtered.inc("not_loudest");
        return;
      }
    } else if (
      info.mediaType === MediaType.HEARTBEAT && host.large() && host.limits.selectiveForwarding
    ) {
      // In a large meeting a participant's flags matter to those who show their tile.
      if (!host.announced(sender)) return;
      for (const id of this.#cameraAudience(sender)) {
        const session = local.get(id);
        if (session !== undefined && id !== sender && !session.waiting) {
          session.deliver(packet, cls, sender);
        }
      }
      return;
    }
    for (const session of local.values()) {
      if (session.id !== sender && !session.waiting) session.deliver(packet, cls, sender);
    }
  }

  // The local receivers that may get `source`'s camera: those that watch it and those that
  // watch everyone.
  *#cameraAudience(source: bigint): Iterable<bigint> {
    yield* this.#unfiltered;
    for (const id of this.forwarding.watchersOf(source)) {
      if (!this.#unfiltered.has(id)) yield id;
    }
  }

  #screenSharing(source: bigint): boolean {
    return this.forwarding.publishedLayers(source, MediaKind.SCREEN, this.#host.now()).length > 0;
  }

  #sendSpeakers(): void {
    if (!this.#speakersDirty) return;
    this.#speakersDirty = false;
    const state = this.#speakers.state(this.#host.now());
    const sent = this.#speakersSent;
    if (
      state.dominant === sent.dominant && state.speakers.length === sent.speakers.length &&
      state.speakers.every((s, i) => s === sent.speakers[i])
    ) {
      return;
    }
    this.#speakersSent = state;
    const packet = this.speakersPacket();
    if (packet === undefined) return;
    for (const session of this.#host.local.values()) {
      if (!session.waiting) session.deliver(packet, PacketClass.CONTROL, 0n);
    }
  }

  /**
   * This instance's wishes: per (publisher, kind), the highest layer any local receiver that
   * watches it wants (every layer when it asked for nothing). A publisher nobody here watches is
   * left out; left out by every instance, it is told nobody watches.
   */
  wanted(): Map<string, number> {
    const out = new Map<string, number>();
    const receivers = [...this.#host.local.values()].filter((s) => !s.waiting);
    for (const kind of [MediaKind.VIDEO, MediaKind.SCREEN]) {
      for (const source of this.#publishers.get(kind)!) {
        const audience = kind === MediaKind.VIDEO
          ? [...this.#cameraAudience(source)]
          : receivers.map((s) => s.id);
        let max: number | undefined;
        for (const id of audience) {
          if (id === source || this.#host.local.get(id)?.waiting !== false) continue;
          const wish = this.forwarding.preference(id, source, kind) ?? HIGHEST_LAYER;
          max = max === undefined ? wish : Math.max(max, wish);
          if (max === HIGHEST_LAYER) break;
        }
        if (max !== undefined) out.set(`${source}:${kind}`, max);
      }
    }
    return out;
  }

  #scheduleReport(): void {
    if (this.#reportDue !== undefined) return;
    this.#reportDue = setTimeout(() => {
      this.#reportDue = undefined;
      this.#report(false);
    }, HINTS_DEBOUNCE_MS);
  }

  // Shares this instance's wishes (when they changed, or always on the periodic tick) and
  // sends local publishers the hints that are due.
  #report(always: boolean): void {
    const host = this.#host;
    const wanted = this.wanted();
    this.#hints.update(host.instanceId, wanted, host.now());
    const bytes = encodeLayerReport(host.instanceId, wanted, this.#localPublishers());
    const text = new TextDecoder().decode(bytes);
    if (always || text !== this.#lastReport) {
      this.#lastReport = text;
      host.publishReport(bytes);
    }
    this.#sendHints();
  }

  *#localPublishers(): Iterable<string> {
    for (const [kind, sources] of this.#publishers) {
      for (const source of sources) {
        if (this.#host.local.has(source)) yield `${source}:${kind}`;
      }
    }
  }

  #hintsTick(): void {
    this.#hints.expire(this.#host.now(), this.#host.limits.presenceTimeoutMs);
    this.#report(false);
  }

  /** Repeats this instance's wishes for the others (the presence heartbeat). */
  announceWishes(): void {
    this.#report(true);
  }

  #sendHints(): void {
    const host = this.#host;
    const now = host.now();
    const publishers = new Set([
      ...this.#publishers.get(MediaKind.VIDEO)!,
      ...this.#publishers.get(MediaKind.SCREEN)!,
    ]);
    for (const id of publishers) {
      const session = host.local.get(id);
      if (session === undefined) continue;
      const due = this.#hints.due(id, now, (kind) => this.#publishers.get(kind)!.has(id));
      if (due === undefined) continue;
      host.metrics.layerHints.inc();
      session.deliver(
        host.packetFor(
          session,
          PacketType.LAYER_HINT,
          encodeLayerHintPacket({
            entries: due.map((h) => ({
              mediaKind: h.kind,
              maxRequestedLayer: h.maxLayer,
              unwatched: h.unwatched || undefined,
            })),
          }),
        ),
        PacketClass.CONTROL,
        0n,
      );
    }
  }
}

/** The media kind of a packet: its clear kind, or what its media type says. */
export function mediaKindOf(info: MediaInfo): number {
  switch (info.mediaType) {
    case MediaType.VIDEO:
      return MediaKind.VIDEO;
    case MediaType.AUDIO:
      return MediaKind.AUDIO;
    case MediaType.SCREEN:
      return MediaKind.SCREEN;
    case 0:
      // Media we cannot read (sealed by a videocall-rs client): its clear kind says.
      return info.kind === 0 ? 0 : normalizeKind(info.kind);
    default:
      return 0;
  }
}
