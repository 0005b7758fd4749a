/**
 * What every wire-format test client shares, whatever its transport: sending packets, keeping
 * what arrives, and waiting for a packet that matches.
 *
 * @module
 */
import {
  decodeMeetingPacket,
  decodePacketWrapper,
  encodeLayerPreferencePacket,
  encodeMediaPacket,
  encodeViewportPacket,
} from "../../lib/protocol/codec.ts";
import type { MediaPacket, MeetingPacket, PacketWrapper } from "../../lib/protocol/packets.ts";
import { MediaType, PacketType } from "../../lib/protocol/packets.ts";
import { encodeWrapperFast } from "../../lib/protocol/wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A received packet, decoded, with its arrival time. */
export interface Received {
  wrapper: PacketWrapper;
  /** The sender's user id as text. */
  userId: string;
  raw: Uint8Array;
  atMs: number;
  /** How it arrived: "message" (WebSocket), "stream" or "datagram" (WebTransport). */
  via: string;
}

/** How the connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

type Waiter = {
  match: (r: Received) => boolean;
  resolve: (r: Received) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

/** The transport-independent part of a test client. */
export abstract class PacketClient {
  readonly userId: string;
  readonly received: Received[] = [];
  sessionId = 0n;
  /** Keep every packet in `received` (off for load generators, which count instead). */
  keep = true;
  /** Called for every packet when set. */
  onPacket?: (r: Received) => void;
  /** Resolves when the connection closes. */
  readonly closed: Promise<CloseInfo>;
  #waiters: Waiter[] = [];
  #resolveClosed!: (info: CloseInfo) => void;

  constructor(userId: string) {
    this.userId = userId;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
  }

  /** Sends raw bytes as one packet (or a text frame where the transport has them). */
  abstract sendRaw(bytes: Uint8Array | string): void;

  /** Closes normally and waits for the close to complete. */
  abstract close(): Promise<CloseInfo>;

  /** Sends a PacketWrapper with this client's user id. */
  send(packetType: number, data: Uint8Array, userId: string = this.userId, sessionId = 0n): void {
    this.sendRaw(
      encodeWrapperFast({ packetType, userId: encoder.encode(userId), data, sessionId }),
    );
  }

  /**
   * Sends a MEDIA packet, with the wrapper's clear fields (simulcast layer, media kind, audio
   * level plus one) when given.
   */
  sendMedia(
    media: Partial<MediaPacket> & { mediaType: number },
    clear: { layer?: number; kind?: number; audioLevel?: number } = {},
  ): void {
    this.sendRaw(this.mediaBytes(media, clear));
  }

  /** The serialized PacketWrapper {@linkcode PacketClient.sendMedia} would send. */
  mediaBytes(
    media: Partial<MediaPacket> & { mediaType: number },
    clear: { layer?: number; kind?: number; audioLevel?: number } = {},
  ): Uint8Array {
    return (
      encodeWrapperFast({
        packetType: PacketType.MEDIA,
        userId: encoder.encode(this.userId),
        data: encodeMediaPacket({
          userId: new Uint8Array(0),
          data: new Uint8Array(0),
          frameType: "",
          timestamp: 0,
          duration: 0,
          ...media,
        }),
        sessionId: 0n,
        simulcastLayerId: clear.layer,
        mediaKind: clear.kind,
        audioLevel: clear.audioLevel,
      })
    );
  }

  /** Sends a VIEWPORT: the sessions whose camera this client renders. */
  sendViewport(sessionIds: bigint[]): void {
    this.send(PacketType.VIEWPORT, encodeViewportPacket({ sessionIds }));
  }

  /** Sends a LAYER_PREFERENCE (`kind`: 1 video, 3 screen). */
  sendLayers(entries: { sessionId: bigint; desiredLayer: number; mediaKind: number }[]): void {
    this.send(PacketType.LAYER_PREFERENCE, encodeLayerPreferencePacket({ entries }));
  }

  /** Sends a heartbeat (which also announces a new session to the room). */
  heartbeat(): void {
    this.sendMedia({
      mediaType: MediaType.HEARTBEAT,
      userId: encoder.encode(this.userId),
      timestamp: Date.now(),
      heartbeatMetadata: {
        videoEnabled: true,
        audioEnabled: true,
        screenEnabled: false,
        isSpeaking: false,
      },
    });
  }

  /** Waits for the first packet (already received or future) that matches. */
  next(match: (r: Received) => boolean, timeoutMs = 5000): Promise<Received> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`No matching packet within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Meeting events received so far, decoded. */
  meetingEvents(): MeetingPacket[] {
    const out: MeetingPacket[] = [];
    for (const r of this.received) {
      if (r.wrapper.packetType !== PacketType.MEETING) continue;
      const m = decodeMeetingPacket(r.wrapper.data);
      if (m.ok) out.push(m.value);
    }
    return out;
  }

  /** Waits for a meeting event of `eventType` about `sessionId`. */
  nextMeetingEvent(eventType: number, sessionId: bigint, timeoutMs = 5000): Promise<Received> {
    return this.next((r) => {
      if (r.wrapper.packetType !== PacketType.MEETING) return false;
      const m = decodeMeetingPacket(r.wrapper.data);
      return m.ok && m.value.eventType === eventType && m.value.sessionId === sessionId;
    }, timeoutMs);
  }

  /** Waits for SESSION_ASSIGNED and remembers the session id. */
  protected async awaitSession(): Promise<void> {
    const assigned = await this.next((r) => r.wrapper.packetType === PacketType.SESSION_ASSIGNED);
    this.sessionId = assigned.wrapper.sessionId;
  }

  /** For subclasses: one packet arrived. */
  protected handlePacket(raw: Uint8Array, via: string): void {
    const decoded = decodePacketWrapper(raw);
    if (!decoded.ok) throw decoded.error;
    const r: Received = {
      wrapper: decoded.value,
      userId: decoder.decode(decoded.value.userId),
      raw,
      atMs: performance.now(),
      via,
    };
    if (this.keep || this.#waiters.length > 0) this.received.push(r);
    this.onPacket?.(r);
    for (const w of [...this.#waiters]) {
      if (w.match(r)) {
        clearTimeout(w.timer);
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve(r);
      }
    }
  }

  /** For subclasses: the connection closed. */
  protected handleClose(info: CloseInfo): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`Connection closed (${info.code} ${info.reason}) while waiting`));
    }
    this.#waiters = [];
    this.#resolveClosed(info);
  }
}
