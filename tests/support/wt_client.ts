/**
 * A WebTransport client that speaks the videocall wire format, on Deno's own `WebTransport`.
 * Deno's client cannot finish a stream (docs/PROTOCOL.md, "WebTransport on Deno"), so it sends every packet on one
 * bidirectional stream, length-prefixed (`lib/protocol/framing.ts`); it receives the server's
 * unidirectional streams and datagrams as any client does.
 *
 * @module
 */
import { encodeFrame } from "../../lib/protocol/framing.ts";
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
    options: { waitForSession?: boolean } = {},
  ): Promise<WtClient> {
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

  async #readOne(stream: ReadableStream<Uint8Array>): Promise<void> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        chunks.push(chunk);
        size += chunk.length;
      }
    } catch {
      return; // Reset by the server (an abandoned delta frame).
    }
    this.handlePacket(concatBytes(chunks, size), "stream");
  }

  async #readDatagrams(): Promise<void> {
    const reader = this.transport.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.handlePacket(value, "datagram");
      }
    } catch {
      // Closed.
    }
  }
}
