/**
 * The client's connection to a relay: WebTransport first (trusting the certificate hashes the
 * server advertises at `/api/v1/webtransport`), WebSocket when WebTransport is unavailable or
 * does not connect in time. Both carry one serialized PacketWrapper per unit: a WebSocket
 * message, a WebTransport unidirectional stream, or a datagram.
 *
 * Runs in browsers and in Deno. Deno's own WebTransport client cannot finish a stream
 * (docs/PROTOCOL.md, "WebTransport on Deno"), so under Deno packets go length-prefixed on one
 * bidirectional stream (`framed`).
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame } from "../protocol/framing.ts";
import { MAX_DATAGRAM_BYTES } from "../protocol/limits.ts";
import { MeetingsApi } from "./api.ts";
import { readObject, readOptionalString } from "./json_shape.ts";

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** One open connection. */
export interface Connection {
  readonly kind: "webtransport" | "websocket";
  /** Sends one packet reliably. */
  send(packet: Uint8Array): void;
  /**
   * Sends a small packet that may be lost (a WebTransport datagram); falls back to `send` where
   * there are no datagrams or the packet is too big for one.
   */
  sendUnreliable(packet: Uint8Array): void;
  /** Bytes handed to `send` and not yet written. */
  backlog(): number;
  /**
   * Sets the handler for received packets; packets that arrived before it was set (the
   * server's first packets can beat the caller's `await`) are handed over first.
   */
  listen(handler: (packet: Uint8Array) => void): void;
  /** Resolves once, when the connection is gone for any reason. */
  readonly closed: Promise<CloseInfo>;
  close(code?: number, reason?: string): void;
}

/** Holds packets until a handler is set. */
class Inbox {
  #early: Uint8Array[] | undefined = [];
  #handler: (packet: Uint8Array) => void = (p) => this.#early?.push(p);

  deliver(packet: Uint8Array): void {
    try {
      this.#handler(packet);
    } catch (error) {
      console.error("packet handler failed", error);
    }
  }

  listen(handler: (packet: Uint8Array) => void): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#handler = handler;
    for (const p of early) handler(p);
  }
}

/** Which transports to try. */
export type TransportChoice = "auto" | "webtransport" | "websocket";

/** How to connect. */
export interface ConnectOptions {
  /** The server's HTTP origin, e.g. `http://localhost:8080`. */
  origin: string;
  /** The media path with its query, e.g. `/lobby/ada/standup?token=…`. */
  path: string;
  transport?: TransportChoice;
  /** How long WebTransport may take before WebSocket is tried, in milliseconds. */
  webTransportTimeoutMs?: number;
  /**
   * Pin the certificate hashes the server advertises (default true: what browsers do with a
   * self-signed development server). False verifies the certificate the usual way.
   */
  trustAdvertisedCertificate?: boolean;
  /**
   * Send on one length-prefixed bidirectional stream instead of a stream per packet. Deno's
   * WebTransport client cannot finish a stream, so this defaults to true under Deno.
   */
  framed?: boolean;
  /** Makes the WebSocket (Deno callers pass one that sets TCP_NODELAY). */
  webSocket?: (url: string) => WebSocket;
}

/** Neither transport connected; `attempts` says what each one said. */
export class ConnectError extends Error {
  constructor(readonly attempts: { transport: string; error: string }[]) {
    super(
      "Could not connect: " + attempts.map((a) => `${a.transport}: ${a.error}`).join("; "),
    );
    this.name = "ConnectError";
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Connects by the preferred transport, falling back as `transport` allows. */
export async function connect(options: ConnectOptions): Promise<Connection> {
  const choice = options.transport ?? "auto";
  const attempts: { transport: string; error: string }[] = [];
  if (choice !== "websocket") {
    try {
      if (typeof WebTransport === "undefined") throw new Error("this browser has no WebTransport");
      const info = await new MeetingsApi(options.origin).webTransport();
      if (!info.available) throw new Error(info.reason);
      const hashes = options.trustAdvertisedCertificate === false ? [] : info.certificateHashes;
      const framed = options.framed ??
        typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
      return await withTimeout(
        connectWebTransport(info.url + options.path, hashes, framed),
        options.webTransportTimeoutMs ?? 4000,
        "WebTransport did not connect in time (is UDP blocked?)",
      );
    } catch (error) {
      attempts.push({ transport: "webtransport", error: message(error) });
      if (choice === "webtransport") throw new ConnectError(attempts);
    }
  }
  try {
    const wsUrl = options.origin.replace(/^http/, "ws") + options.path;
    return await withTimeout(
      connectWebSocket(wsUrl, options.webSocket),
      CONNECT_TIMEOUT_MS,
      "WebSocket did not connect in time",
    );
  } catch (error) {
    attempts.push({ transport: "websocket", error: await explainWebSocketFailure(options, error) });
    throw new ConnectError(attempts);
  }
}

// A browser hides why a WebSocket upgrade was refused; the same URL without the upgrade says.
async function explainWebSocketFailure(options: ConnectOptions, error: unknown): Promise<string> {
  try {
    const response = await fetch(options.origin + options.path, { cache: "no-store" });
    const body = readObject(await response.json(), "the answer");
    const text = readOptionalString(readObject(body.result, "its result"), "message");
    if (response.status !== 426 && text !== undefined) return text;
  } catch {
    // Unreachable, or no JSON reason: the original error says enough.
  }
  return message(error);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T extends { close(): void }>(
  pending: Promise<T>,
  ms: number,
  text: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(text));
      pending.then((c) => c.close(), () => {});
    }, ms);
    pending.then((value) => {
      clearTimeout(timer);
      if (done) return;
      done = true;
      resolve(value);
    }, (error) => {
      clearTimeout(timer);
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** Opens a WebSocket connection; rejects if it closes before opening. */
export function connectWebSocket(
  url: string,
  make: (url: string) => WebSocket = (u) => new WebSocket(u),
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const ws = make(url);
    const inbox = new Inbox();
    ws.binaryType = "arraybuffer";
    let opened = false;
    let settleClosed: (info: CloseInfo) => void = () => {};
    const closed = new Promise<CloseInfo>((r) => settleClosed = r);
    const connection: Connection = {
      kind: "websocket",
      send(packet) {
        if (ws.readyState === WebSocket.OPEN) ws.send(packet);
      },
      sendUnreliable(packet) {
        this.send(packet);
      },
      backlog: () => ws.bufferedAmount,
      listen: (handler) => inbox.listen(handler),
      closed,
      close(code = 1000, reason = "") {
        if (ws.readyState === WebSocket.CLOSED) return;
        try {
          ws.close(code, reason);
        } catch {
          ws.close();
        }
      },
    };
    ws.onopen = () => {
      opened = true;
      resolve(connection);
    };
    ws.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) inbox.deliver(new Uint8Array(event.data));
    };
    ws.onclose = (event) => {
      if (!opened) reject(new Error(`WebSocket closed before it opened (${event.code})`));
      settleClosed({ code: event.code, reason: event.reason });
    };
    ws.onerror = () => {};
  });
}

/**
 * Opens a WebTransport session, trusting the given SHA-256 certificate hashes (base64; none:
 * the usual certificate checks). `framed` sends every packet length-prefixed on one
 * bidirectional stream (see {@linkcode ConnectOptions.framed}).
 */
export async function connectWebTransport(
  url: string,
  certificateHashes: string[],
  framed = false,
): Promise<Connection> {
  const wt = new WebTransport(
    url,
    certificateHashes.length === 0 ? {} : {
      serverCertificateHashes: certificateHashes.map((h) => ({
        algorithm: "sha-256",
        value: base64Bytes(h),
      })),
    },
  );
  // A failed handshake rejects `ready` and `closed` both; mark `closed` as handled.
  const closed: Promise<CloseInfo> = wt.closed.then(
    // Deno resolves `closed` with nothing when the handshake fails.
    (info) => ({ code: info?.closeCode ?? 0, reason: info?.reason ?? "" }),
    (error) => ({ code: 1006, reason: message(error) }),
  );
  await wt.ready;
  let pending = 0;
  let gone = false;
  const inbox = new Inbox();
  const datagrams = wt.datagrams.writable.getWriter();
  // The framed stream: opened on first use, frames written in order.
  let stream: Promise<WritableStreamDefaultWriter<Uint8Array>> | undefined;
  const sendFramed = (packet: Uint8Array) => {
    const frame = encodeFrame(packet);
    pending += frame.length;
    stream ??= wt.createBidirectionalStream().then((s) => {
      s.readable.cancel().catch(() => {});
      return s.writable.getWriter();
    });
    stream.then((w) => w.write(frame)).catch(() => {}).finally(() => pending -= frame.length);
  };
  closed.then(() => gone = true);
  const connection: Connection = {
    kind: "webtransport",
    send(packet) {
      if (gone) return;
      if (framed) return sendFramed(packet);
      pending += packet.length;
      // One unidirectional stream per packet (the videocall-rs convention): no head-of-line
      // blocking between frames. Creating a stream waits for the peer's stream credit.
      wt.createUnidirectionalStream().then(async (stream) => {
        const writer = stream.getWriter();
        await writer.write(packet);
        await writer.close();
      }).catch(() => {}).finally(() => pending -= packet.length);
    },
    sendUnreliable(packet) {
      if (gone) return;
      if (packet.length > MAX_DATAGRAM_BYTES) return connection.send(packet);
      datagrams.write(packet).catch(() => {});
    },
    backlog: () => pending,
    listen: (handler) => inbox.listen(handler),
    closed,
    close(code = 1000, reason = "") {
      if (gone) return;
      gone = true;
      try {
        wt.close({ closeCode: code, reason });
      } catch {
        // Already closing.
      }
    },
  };
  readStreams(wt, inbox).catch(() => {});
  readDatagrams(wt, inbox).catch(() => {});
  return connection;
}

async function readStreams(wt: WebTransport, inbox: Inbox): Promise<void> {
  const reader = wt.incomingUnidirectionalStreams.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    readToEnd(value).then((bytes) => inbox.deliver(bytes), () => {});
  }
}

async function readToEnd(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks, size);
}

async function readDatagrams(wt: WebTransport, inbox: Inbox): Promise<void> {
  const reader = wt.datagrams.readable.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    inbox.deliver(value);
  }
}
