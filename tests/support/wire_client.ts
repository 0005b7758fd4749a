/**
 * A WebSocket client that speaks the videocall wire format, for tests and load generators.
 * It uses the npm `ws` client because Deno's built-in WebSocket client leaves Nagle's algorithm
 * on (DESIGN.md §9) and would measure 40 ms of TCP delay instead of the relay.
 *
 * @module
 */
import WebSocket from "ws";
import {
  decodeMeetingPacket,
  decodePacketWrapper,
  encodeMediaPacket,
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
}

type Waiter = {
  match: (r: Received) => boolean;
  resolve: (r: Received) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

/** How the connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A wire-format client of one session. */
export class WireClient {
  readonly userId: string;
  readonly received: Received[] = [];
  sessionId = 0n;
  /** Resolves when the socket closes. */
  readonly closed: Promise<CloseInfo>;
  /** Keep every packet in `received` (off for load generators, which count instead). */
  keep = true;
  /** Called for every packet when set. */
  onPacket?: (r: Received) => void;
  readonly #ws: WebSocket;
  #waiters: Waiter[] = [];

  private constructor(ws: WebSocket, userId: string) {
    this.#ws = ws;
    this.userId = userId;
    this.closed = new Promise((resolve) => {
      ws.on("close", (code: number, reason: Buffer) => {
        const info = { code, reason: reason.toString() };
        for (const w of this.#waiters) {
          clearTimeout(w.timer);
          w.reject(new Error(`Connection closed (${code} ${info.reason}) while waiting`));
        }
        this.#waiters = [];
        resolve(info);
      });
    });
    ws.on("message", (data: Buffer) => this.#onMessage(new Uint8Array(data)));
  }

  /**
   * Opens `ws://host:port/lobby/<user>/<room>` and waits for SESSION_ASSIGNED.
   */
  static async connect(
    baseUrl: string,
    userId: string,
    room: string,
    query = "",
  ): Promise<WireClient> {
    const url = `${baseUrl}/lobby/${encodeURIComponent(userId)}/${
      encodeURIComponent(room)
    }${query}`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new WireClient(ws, userId);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", (e: Error) => reject(e));
      ws.once("unexpected-response", (_req: unknown, res: { statusCode: number }) => {
        reject(new Error(`HTTP ${res.statusCode}`));
        ws.terminate();
      });
    });
    const assigned = await client.next((r) => r.wrapper.packetType === PacketType.SESSION_ASSIGNED);
    client.sessionId = assigned.wrapper.sessionId;
    return client;
  }

  /** Sends raw bytes as one binary message. */
  sendRaw(bytes: Uint8Array | string): void {
    this.#ws.send(bytes);
  }

  /** Sends a PacketWrapper with this client's user id. */
  send(packetType: number, data: Uint8Array, userId: string = this.userId, sessionId = 0n): void {
    this.#ws.send(
      encodeWrapperFast({ packetType, userId: encoder.encode(userId), data, sessionId }),
    );
  }

  /** Sends a MEDIA packet. */
  sendMedia(media: Partial<MediaPacket> & { mediaType: number }): void {
    this.send(
      PacketType.MEDIA,
      encodeMediaPacket({
        userId: new Uint8Array(0),
        data: new Uint8Array(0),
        frameType: "",
        timestamp: 0,
        duration: 0,
        ...media,
      }),
    );
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

  /** Stops reading from the socket (a slow receiver). */
  pause(): void {
    this.#ws.pause();
  }

  /** Reads again after {@linkcode pause}. */
  resume(): void {
    this.#ws.resume();
  }

  /** Closes normally and waits for the close to complete (terminating after 2 s). */
  async close(): Promise<CloseInfo> {
    this.#ws.resume();
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(1000, "bye");
    }
    const timer = setTimeout(() => this.#ws.terminate(), 2000);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops the TCP connection without a close handshake. */
  async terminate(): Promise<CloseInfo> {
    this.#ws.terminate();
    return await this.closed;
  }

  #onMessage(raw: Uint8Array): void {
    const decoded = decodePacketWrapper(raw);
    if (!decoded.ok) throw decoded.error;
    const r: Received = {
      wrapper: decoded.value,
      userId: decoder.decode(decoded.value.userId),
      raw,
      atMs: performance.now(),
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
}
