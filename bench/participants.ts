/**
 * The relay benchmark's participants: wire-format clients on WebSocket or WebTransport that send
 * what the load generator gives them and hand every media packet they receive to a sink.
 *
 * @module
 */
import { decodeMeetingPacket } from "../lib/protocol/codec.ts";
import { MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import type { PacketClient, Received } from "../tests/support/packet_client.ts";
import type { ServerProcess } from "../tests/support/server_process.ts";
import { WireClient } from "../tests/support/wire_client.ts";
import { type WebTransportInfo, webTransportInfo, WtClient } from "../tests/support/wt_client.ts";
import type { Sender } from "./load.ts";
import { withTimeout } from "./with_timeout.ts";

/** How a participant reaches the relay: by WebSocket or by WebTransport. */
export type TransportKind = "ws" | "wt";

/**
 * Which transports a target's participants use: `ws` WebSocket, `wss` WebSocket over TLS (the
 * fair comparison for WebTransport, which always encrypts), `wt` WebTransport with grouped
 * framing (what our clients use), `wt1` WebTransport with one packet per stream (what
 * videocall-rs clients use), `mixed` half of each room on `ws` and half on `wt`.
 */
export type TransportMix = "ws" | "wss" | "wt" | "wt1" | "mixed";

/** Every transport mix, in report order. */
export const TRANSPORT_MIXES: readonly TransportMix[] = ["ws", "wss", "wt", "wt1", "mixed"];

/**
 * Receives every media packet delivered to a participant (a serialized MediaPacket), with the
 * receiver's transport (none for the ceiling, which has no relay).
 */
export type MediaSink = (media: Uint8Array, atMs: number, receiver?: TransportKind) => void;

const CLOSE_TIMEOUT_MS = 3_000;

/**
 * The transport of participant `index` of a room of `perRoom` under `mix`: for `mixed`, the first
 * half of the room (rounded up) on WebSocket, the rest on WebTransport, so that round-robin
 * placement across servers still puts both kinds on every server.
 *
 * @example
 * ```ts
 * import { transportOf } from "./participants.ts";
 *
 * const kinds = [0, 1, 2, 3].map((i) => transportOf("mixed", i, 4));
 * if (kinds.join() !== "ws,ws,wt,wt") throw new Error(kinds.join());
 * ```
 */
export function transportOf(mix: TransportMix, index: number, perRoom: number): TransportKind {
  if (mix === "mixed") return index < Math.ceil(perRoom / 2) ? "ws" : "wt";
  return mix === "ws" || mix === "wss" ? "ws" : "wt";
}

/** A wire-format participant and what it has learned of its room. */
export class RelayParticipant implements Sender {
  readonly userId: string;
  readonly kind: TransportKind;
  readonly client: PacketClient;
  readonly joined = new Set<bigint>();
  /** Packets sent so far (for per-transport expected deliveries). */
  sent = 0;
  closedEarly = false;

  constructor(client: PacketClient, kind: TransportKind, sink: MediaSink) {
    this.userId = client.userId;
    this.kind = kind;
    this.client = client;
    client.keep = false;
    for (const r of client.received.splice(0)) this.#onPacket(r, sink);
    client.onPacket = (r) => this.#onPacket(r, sink);
  }

  send(bytes: Uint8Array): void {
    this.sent++;
    // WtClient frames the packet only once its stream is open (a microtask later), by when the
    // generator has stamped the template again: hand it a copy. `ws` copies while masking.
    this.client.sendRaw(this.kind === "wt" ? bytes.slice() : bytes);
  }

  /**
   * Audio goes as a sequenced datagram with grouped WebTransport framing, as our clients send it;
   * otherwise like everything else.
   */
  sendAudio(bytes: Uint8Array): void {
    if (this.client instanceof WtClient && this.client.framing === "groups") {
      this.sent++;
      this.client.sendSequenced(bytes);
      return;
    }
    this.send(bytes);
  }

  /** Closes the connection, abandoning a close that hangs (the server stop ends it anyway). */
  async close(): Promise<void> {
    try {
      await withTimeout(this.client.close(), CLOSE_TIMEOUT_MS, "Closing a participant");
    } catch {
      if (this.client instanceof WireClient) await this.client.terminate();
    }
  }

  #onPacket(r: Received, sink: MediaSink): void {
    const type = r.wrapper.packetType;
    if (type === PacketType.MEDIA) {
      sink(r.wrapper.data, r.atMs, this.kind);
    } else if (type === PacketType.MEETING) {
      const m = decodeMeetingPacket(r.wrapper.data);
      if (m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_JOINED) {
        this.joined.add(m.value.sessionId);
      } else if (m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_LEFT) {
        this.joined.delete(m.value.sessionId);
      }
    }
  }
}

/** Connects participants to servers, reading each server's WebTransport details once. */
export class ParticipantFactory {
  readonly #info = new Map<ServerProcess, Promise<WebTransportInfo>>();
  readonly #sink: MediaSink;

  /** Every participant made will report its media to `sink`. */
  constructor(sink: MediaSink) {
    this.#sink = sink;
  }

  /**
   * Connects `userId` to `room` on `server` over `kind` (WebSocket over TLS when the server
   * serves HTTPS; WebTransport in `framing`) and waits for its session.
   */
  async connect(
    server: ServerProcess,
    kind: TransportKind,
    userId: string,
    room: string,
    framing: "groups" | "single" = "groups",
  ): Promise<RelayParticipant> {
    if (kind === "ws") {
      const client = await WireClient.connect(server.wsUrl, userId, room, "", server.ca);
      return new RelayParticipant(client, kind, this.#sink);
    }
    let info = this.#info.get(server);
    if (info === undefined) this.#info.set(server, info = webTransportInfo(server.httpUrl));
    const details = await info;
    if (!details.available) {
      throw new Error(`Server ${server.pid} offers no WebTransport: ${JSON.stringify(details)}`);
    }
    const client = await WtClient.connect(details, userId, room, "", { framing });
    return new RelayParticipant(client, kind, this.#sink);
  }
}
