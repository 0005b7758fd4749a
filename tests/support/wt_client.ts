/**
 * A WebTransport client that speaks the videocall wire format, on Deno's own `WebTransport`.
 * Deno's client cannot finish a stream (docs/PROTOCOL.md, "WebTransport on Deno"), so it sends every packet on one
 * bidirectional stream, length-prefixed (`lib/protocol/framing.ts`); it receives the server's
 * unidirectional streams and datagrams as any client does. With `framing: "groups"` it asks for
 * grouped framing (docs/PROTOCOL.md, "Grouped streams and datagrams") and reads grouped streams
 * and sequenced datagrams, counting the datagrams lost.
 *
 * @module
 */
import { encodeFrame, FrameReader } from "../../lib/protocol/framing.ts";
import {
  DatagramLoss,
  DatagramSequence,
  encodeDatagram,
  encodeGroupHeader,
  FRAMING_PARAM,
  GROUPED_FRAMING,
  isGrouped,
  readDatagram,
  readGroupHeader,
} from "../../lib/protocol/wt_groups.ts";
import { type CloseInfo, PacketClient } from "./packet_client.ts";
import { concatBytes } from "../../lib/protocol/bytes.ts";

export type { CloseInfo, Received } from "./packet_client.ts";

/** What `GET /api/v1/webtransport` answers. */
export interface WebTransportInfo {
  available: boolean;
  url: string;
  certificateHashes: string[];
}

/** Reads the server's WebTransport details. */
export async function webTransportInfo(httpUrl: string): Promise<WebTransportInfo> {
  const response = await fetch(`${httpUrl}/api/v1/webtransport`);
  return await response.json();
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** A wire-format client of one session over WebTransport. */
export class WtClient extends PacketClient {
  readonly transport: WebTransport;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #datagramWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #tasks: Promise<void>[] = [];
  /** Sequenced datagrams received and lost (grouped framing). */
  readonly datagramLoss = new DatagramLoss();
  readonly #sequence = new DatagramSequence();
  /** Grouped streams received, and those cut short by a newer group of their track. */
  groupsReceived = 0;
  groupsCut = 0;
  readonly #newest = new Map<number, ReadableStreamDefaultReader<Uint8Array>>();

  /** The framing this client asked for. */
  framing: "groups" | "single" = "single";

  private constructor(transport: WebTransport, userId: string) {
    super(userId);
    this.transport = transport;
    transport.closed.then(
      (info) => this.handleClose({ code: info.closeCode ?? 0, reason: info.reason ?? "" }),
      (error) => this.handleClose({ code: 1006, reason: String(error?.message ?? error) }),
    );
  }

  /**
   * Connects to `<info.url>/lobby/<user>/<room>` pinning the advertised certificate hashes, and
   * waits for SESSION_ASSIGNED.
   */
  static async connect(
    info: WebTransportInfo,
    userId: string,
    room: string,
    query = "",
    options: { waitForSession?: boolean; framing?: "groups" | "single" } = {},
  ): Promise<WtClient> {
    if (options.framing === "groups") {
      query += `${query.includes("?") ? "&" : "?"}${FRAMING_PARAM}=${GROUPED_FRAMING}`;
    }
    const url = `${info.url}/lobby/${encodeURIComponent(userId)}/${
      encodeURIComponent(room)
    }${query}`;
    const transport = new WebTransport(url, {
      serverCertificateHashes: info.certificateHashes.map((h) => ({
        algorithm: "sha-256",
        value: fromBase64(h),
      })),
    });
    await transport.ready;
    const client = new WtClient(transport, userId);
    client.framing = options.framing ?? "single";
    client.#tasks.push(client.#readStreams(), client.#readDatagrams());
    if (options.waitForSession !== false) await client.awaitSession();
    return client;
  }

  /** Sends one packet on the framed bidirectional stream. */
  sendRaw(bytes: Uint8Array | string): void {
    const packet = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    // Frame (and so copy) now: the caller may reuse its buffer before the stream is open.
    const frame = encodeFrame(packet);
    this.#framedWriter().then((w) => w.write(frame)).catch(() => {});
  }

  /** Sends one packet as a datagram. */
  sendDatagram(bytes: Uint8Array): void {
    this.#datagramWriter ??= this.transport.datagrams.writable.getWriter();
    this.#datagramWriter.write(bytes).catch(() => {});
  }

  /** Sends one packet as a sequenced datagram (grouped framing). */
  sendSequenced(bytes: Uint8Array): void {
    this.sendDatagram(encodeDatagram(this.#sequence.next(), bytes));
  }

  /**
   * Sends bytes on a new unidirectional stream, as videocall-rs clients do. Deno's client never
   * sends FIN (docs/PROTOCOL.md, "WebTransport on Deno"), so the server only sees the stream end when it times out: use this
   * for the stream-limit tests, not for packets that must arrive.
   */
  async sendOnOwnStream(bytes: Uint8Array): Promise<void> {
    const stream = await this.transport.createUnidirectionalStream();
    const writer = stream.getWriter();
    await writer.write(bytes);
    await writer.close().catch(() => {});
  }

  /**
   * Opens a grouped stream of `track` (docs/PROTOCOL.md, "Grouped streams and datagrams") and
   * returns what writes packets on it, length-prefixed, or raw bytes. Deno's client never ends
   * it; the server reads packets as they complete.
   */
  async openGroup(
    track: number,
  ): Promise<{ send(packet: Uint8Array): Promise<void>; raw(bytes: Uint8Array): Promise<void> }> {
    const stream = await this.transport.createUnidirectionalStream();
    const writer = stream.getWriter();
    await writer.write(encodeGroupHeader(track));
    return {
      send: (packet) => writer.write(encodeFrame(packet)),
      raw: (bytes) => writer.write(bytes),
    };
  }

  /** Closes the session and waits for the close. */
  async close(): Promise<CloseInfo> {
    try {
      this.transport.close({ closeCode: 0, reason: "bye" });
    } catch {
      // Already closed.
    }
    const info = await this.closed;
    await Promise.allSettled(this.#tasks);
    return info;
  }

  #framed: Promise<WritableStreamDefaultWriter<Uint8Array>> | undefined;
  #framedWriter(): Promise<WritableStreamDefaultWriter<Uint8Array>> {
    this.#framed ??= this.transport.createBidirectionalStream().then((s) => {
      this.#writer = s.writable.getWriter();
      s.readable.cancel().catch(() => {});
      return this.#writer;
    });
    return this.#framed;
  }

  async #readStreams(): Promise<void> {
    const reader = this.transport.incomingUnidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#readOne(value);
      }
    } catch {
      // Closed.
    }
  }

  // A single packet read to the stream's end, or a grouped stream's packets as they complete.
  async #readOne(stream: ReadableStream<Uint8Array>): Promise<void> {
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    let frames: FrameReader | undefined;
    let track: number | undefined;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (frames) {
          for (const packet of frames.push(value)) this.handlePacket(packet, "group");
          continue;
        }
        chunks.push(value);
        size += value.length;
        const head = chunks.length === 1 ? value : concatBytes(chunks, size);
        if (!isGrouped(head)) continue;
        const header = readGroupHeader(head);
        if (header === undefined) continue;
        chunks.length = 0;
        this.groupsReceived++;
        track = header.track;
        if (track !== 0) {
          const older = this.#newest.get(track);
          if (older !== undefined) {
            this.groupsCut++;
            older.cancel().catch(() => {});
          }
          this.#newest.set(track, reader);
        }
        frames = new FrameReader(16 * 1024 * 1024);
        for (const packet of frames.push(head.subarray(header.next))) {
          this.handlePacket(packet, "group");
        }
      }
    } catch {
      return; // Reset by the server (an abandoned frame or group), or cut by a newer group.
    } finally {
      if (track !== undefined && this.#newest.get(track) === reader) this.#newest.delete(track);
    }
    if (frames === undefined) this.handlePacket(concatBytes(chunks, size), "stream");
  }

  async #readDatagrams(): Promise<void> {
    const reader = this.transport.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const sequenced = readDatagram(value);
        if (sequenced === undefined) {
          this.handlePacket(value, "datagram");
          continue;
        }
        this.datagramLoss.note(sequenced.seq);
        this.handlePacket(sequenced.packet, "datagram");
      }
    } catch {
      // Closed.
    }
  }
}
