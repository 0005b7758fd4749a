/**
 * The server's side of grouped WebTransport framing (docs/PROTOCOL.md, "Grouped streams and
 * datagrams"), for a session that asked for it:
 *
 * - camera and screen video go on one long-lived unidirectional stream per track — a sender's
 *   camera or screen at one simulcast layer — and group of pictures: each key frame opens a new
 *   stream, and the one it replaces is finished, or reset if it fell behind
 *   (`../protocol/group_writer.ts`);
 * - audio, heartbeats and RTT echoes go as sequenced datagrams when they fit the path's datagram
 *   size (read from the connection), otherwise on the control stream;
 * - everything else goes, in order, on one long-lived control stream.
 *
 * Streams are opened with a send order: control above camera above screen. A track idle for
 * {@linkcode IDLE_TRACK_MS} has its stream finished and is forgotten.
 *
 * @module
 */
import { GroupWriter, type StreamOpener } from "../protocol/group_writer.ts";
import {
  CONTROL_TRACK,
  DATAGRAM_HEADER_BYTES,
  DatagramSequence,
  encodeDatagram,
} from "../protocol/wt_groups.ts";
import { PacketClass } from "./packet_class.ts";

/** What the sender needs of the connection. */
export interface GroupedStreamHost {
  openStream: StreamOpener;
  /** Bytes every datagram starts with (WebTransport's session prefix). */
  datagramPrefix(): Uint8Array;
  /** Sends one datagram (whole, its prefix included). */
  sendDatagram(bytes: Uint8Array): Promise<void>;
  /** The largest datagram the path carries now, prefix excluded, in bytes (0: no datagrams). */
  maxDatagramBytes(): number;
}

/** Why the sender lost a packet (a `videocall_drops_total` reason). */
export type GroupedDropReason = "abandoned" | "stream_failed" | "datagram_failed";

/** Send orders of the streams: higher goes first. */
export const SEND_ORDER = { control: 7, camera: 3, screen: 2 } as const;

/** A track with nothing sent for this long has its stream finished, in ms. */
export const IDLE_TRACK_MS = 5000;

/** Grouped framing towards one client. */
export class GroupedSender {
  readonly #host: GroupedStreamHost;
  readonly #onDrop: (reason: GroupedDropReason, count: number) => void;
  readonly #groups: GroupWriter;
  // Track numbers of (sender, camera or screen, layer).
  readonly #tracks = new Map<string, number>();
  readonly #keys = new Map<number, string>();
  readonly #sequence = new DatagramSequence();
  #nextTrack = CONTROL_TRACK + 1;
  #lastSweepMs = 0;
  /** Datagrams sent. */
  datagramsSent = 0;

  constructor(
    host: GroupedStreamHost,
    onDrop: (reason: GroupedDropReason, count: number) => void,
  ) {
    this.#host = host;
    this.#onDrop = onDrop;
    this.#groups = new GroupWriter(host.openStream, onDrop);
  }

  /** Bytes handed to streams and not yet taken by the connection. */
  get bufferedBytes(): number {
    return this.#groups.bufferedBytes;
  }

  /** Groups opened so far. */
  get groupsOpened(): number {
    return this.#groups.groupsOpened;
  }

  /** Sends one packet by its class; `layer` is a video packet's simulcast layer. */
  send(packet: Uint8Array, cls: PacketClass, sender: bigint, layer: number, nowMs: number): void {
    if (cls === PacketClass.AUDIO || cls === PacketClass.INFO) {
      if (packet.length + DATAGRAM_HEADER_BYTES <= this.#host.maxDatagramBytes()) {
        this.datagramsSent++;
        const datagram = encodeDatagram(this.#sequence.next(), packet, this.#host.datagramPrefix());
        this.#host.sendDatagram(datagram).catch(() => this.#onDrop("datagram_failed", 1));
        return;
      }
      this.#groups.write(CONTROL_TRACK, SEND_ORDER.control, packet, nowMs);
      return;
    }
    if (cls === PacketClass.CONTROL) {
      this.#groups.write(CONTROL_TRACK, SEND_ORDER.control, packet, nowMs);
      return;
    }
    const screen = cls === PacketClass.SCREEN_KEY || cls === PacketClass.SCREEN_DELTA;
    const key = `${sender}:${screen ? "s" : "c"}:${layer}`;
    let track = this.#tracks.get(key);
    if (track === undefined) {
      track = this.#nextTrack++;
      this.#tracks.set(key, track);
      this.#keys.set(track, key);
    }
    if (cls === PacketClass.VIDEO_KEY || cls === PacketClass.SCREEN_KEY) {
      this.#groups.startGroup(track, nowMs);
    }
    this.#groups.write(track, screen ? SEND_ORDER.screen : SEND_ORDER.camera, packet, nowMs);
    if (nowMs - this.#lastSweepMs >= IDLE_TRACK_MS) {
      this.#lastSweepMs = nowMs;
      for (const forgotten of this.#groups.sweep(nowMs, IDLE_TRACK_MS)) {
        this.#tracks.delete(this.#keys.get(forgotten)!);
        this.#keys.delete(forgotten);
      }
    }
  }
}
