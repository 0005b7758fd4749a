/**
 * A WebSocket client that speaks the videocall wire format, for tests and load generators.
 * It uses the npm `ws` client because Deno's built-in WebSocket client leaves Nagle's algorithm
 * on (docs/PROTOCOL.md, "Deno") and would measure 40 ms of TCP delay instead of the relay.
 *
 * @module
 */
import WebSocket from "ws";
import { type CloseInfo, PacketClient } from "./packet_client.ts";

export type { CloseInfo, Received } from "./packet_client.ts";

/** A wire-format client of one session over WebSocket. */
export class WireClient extends PacketClient {
  readonly #ws: WebSocket;

  private constructor(ws: WebSocket, userId: string) {
    super(userId);
    this.#ws = ws;
    ws.on("close", (code: number, reason: Buffer) => {
      this.handleClose({ code, reason: reason.toString() });
    });
    ws.on("message", (data: Buffer) => this.handlePacket(new Uint8Array(data), "message"));
  }

  /**
   * Opens `ws://host:port/lobby/<user>/<room>` and waits for SESSION_ASSIGNED.
   */
  static async connect(
    baseUrl: string,
    userId: string,
    room: string,
    query = "",
    ca?: string,
  ): Promise<WireClient> {
    const url = `${baseUrl}/lobby/${encodeURIComponent(userId)}/${
      encodeURIComponent(room)
    }${query}`;
    const ws = new WebSocket(url, { perMessageDeflate: false, ca });
    const client = new WireClient(ws, userId);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", (e: Error) => reject(e));
      ws.once("unexpected-response", (_req: unknown, res: { statusCode: number }) => {
        reject(new Error(`HTTP ${res.statusCode}`));
        ws.terminate();
      });
    });
    await client.awaitSession();
    return client;
  }

  /** Sends raw bytes as one binary message, or a string as a text frame. */
  sendRaw(bytes: Uint8Array | string): void {
    this.#ws.send(bytes);
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
}
