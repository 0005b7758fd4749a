/**
 * The client's connection to a relay: WebTransport first (trusting the certificate hashes the
 * server advertises at `/api/v1/webtransport`), WebSocket when WebTransport is unavailable or
 * does not connect in time. A WebSocket carries one serialized PacketWrapper per message.
 *
 * WebTransport uses grouped framing when the server offers it (docs/PROTOCOL.md, "Grouped
 * streams and datagrams"): video on one stream per track and group of pictures (the caller names
 * the track and says where a group starts, {@linkcode Lane}), small unreliable packets as
 * sequenced datagrams whose losses are counted, everything else on one control stream; the
 * server answers in kind. Against an older server it sends one packet per stream, as
 * videocall-rs does.
 *
 * Runs in browsers and in Deno. Deno's own WebTransport client cannot end a stream
 * (docs/PROTOCOL.md, "WebTransport on Deno"), so under Deno reliable packets go length-prefixed
 * on one bidirectional stream (`framed`); datagrams and what it receives are as in browsers.
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";
import { encodeFrame, FrameReader } from "../protocol/framing.ts";
import { GroupWriter } from "../protocol/group_writer.ts";
import { MAX_DATAGRAM_BYTES } from "../protocol/limits.ts";
import {
  CONTROL_TRACK,
  DATAGRAM_HEADER_BYTES,
  DatagramLoss,
  DatagramSequence,
  encodeDatagram,
  FRAMING_PARAM,
  GROUPED_FRAMING,
  isGrouped,
  readDatagram,
  readGroupHeader,
} from "../protocol/wt_groups.ts";
import { MeetingsApi } from "./api.ts";
import { readObject, readOptionalString } from "./json_shape.ts";

/** How a connection ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/**
 * Where a reliable packet goes on a grouped WebTransport connection: its track (one per media
 * kind and simulcast layer, `upstreamTrack` in `lib/protocol/wt_groups.ts`) and whether it
 * starts a new group (a key frame). Other transports ignore it.
 */
export interface Lane {
  track: number;
  startsGroup: boolean;
}

/** What a connection counted. */
export interface TransportStats {
  /** `"groups"`, `"single"` (a packet per stream), `"framed"` (Deno) or `"websocket"`. */
  framing: "groups" | "single" | "framed" | "websocket";
  datagramsSent: number;
  /** Sequenced datagrams received, and those that never arrived (gaps in their numbers). */
  datagramsReceived: number;
  datagramsLost: number;
  /** Grouped streams received (one per track and group of pictures). */
  groupsReceived: number;
}

/** One open connection. */
export interface Connection {
  readonly kind: "webtransport" | "websocket";
  /** Sends one packet reliably; a media packet names its {@linkcode Lane}. */
  send(packet: Uint8Array, lane?: Lane): void;
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
  /** What it counted so far. */
  stats(): TransportStats;
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
   * Send reliable packets on one length-prefixed bidirectional stream. Deno's WebTransport client
   * cannot end a stream, so this defaults to true under Deno.
   */
  framed?: boolean;
  /**
   * Use grouped framing when the server offers it (default true); false keeps one packet per
   * stream, as videocall-rs clients do.
   */
  grouped?: boolean;
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
      const grouped = options.grouped !== false && info.framings.includes(GROUPED_FRAMING);
      return await withTimeout(
        connectWebTransport(info.url + options.path, hashes, { framed, grouped }),
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
      stats: () => ({
        framing: "websocket",
        datagramsSent: 0,
        datagramsReceived: 0,
        datagramsLost: 0,
        groupsReceived: 0,
      }),
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

/** How a WebTransport connection frames its packets. */
export interface WebTransportFraming {
  /** Reliable packets length-prefixed on one bidirectional stream (Deno's client). */
  framed?: boolean;
  /** Grouped framing: asked of the server, and used for what we send (unless `framed`). */
  grouped?: boolean;
}

// Largest packet accepted on a grouped stream: far above any frame the relay forwards.
const MAX_RECEIVED_PACKET_BYTES = 16 * 1024 * 1024;
// A track of ours with nothing sent for this long has its stream ended, in ms.
const IDLE_TRACK_MS = 5000;
// Send orders of our streams: control above audio above camera above screen.
const SEND_ORDER = { control: 7, audio: 5, camera: 3, screen: 2 };

/**
 * Opens a WebTransport session, trusting the given SHA-256 certificate hashes (base64; none:
 * the usual certificate checks), framed as {@linkcode WebTransportFraming} says.
 */
export async function connectWebTransport(
  url: string,
  certificateHashes: string[],
  framing: WebTransportFraming = {},
): Promise<Connection> {
  const grouped = framing.grouped === true;
  const framed = framing.framed === true;
  if (grouped) {
    const target = new URL(url);
    target.searchParams.set(FRAMING_PARAM, GROUPED_FRAMING);
    url = target.href;
  }
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
  const counts: TransportStats = {
    framing: framed ? "framed" : grouped ? "groups" : "single",
    datagramsSent: 0,
    datagramsReceived: 0,
    datagramsLost: 0,
    groupsReceived: 0,
  };
  const datagrams = wt.datagrams.writable.getWriter();
  const sequence = new DatagramSequence();
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
  // Grouped streams of ours (browsers, which can end a stream).
  const groups = grouped && !framed
    ? new GroupWriter(
      (sendOrder) =>
        wt.createUnidirectionalStream({ sendOrder } as WebTransportSendStreamOptions).then((s) =>
          s.getWriter()
        ),
      () => {},
    )
    : undefined;
  let lastSweepMs = 0;
  const sendGrouped = (writer: GroupWriter, packet: Uint8Array, lane: Lane | undefined) => {
    const now = performance.now();
    if (lane === undefined || lane.track === CONTROL_TRACK) {
      writer.write(CONTROL_TRACK, SEND_ORDER.control, packet, now);
    } else {
      if (lane.startsGroup) writer.startGroup(lane.track, now);
      writer.write(lane.track, orderOf(lane.track), packet, now);
    }
    if (now - lastSweepMs >= IDLE_TRACK_MS) {
      lastSweepMs = now;
      writer.sweep(now, IDLE_TRACK_MS);
    }
  };
  closed.then(() => gone = true);
  const connection: Connection = {
    kind: "webtransport",
    send(packet, lane) {
      if (gone) return;
      if (framed) return sendFramed(packet);
      if (groups) return sendGrouped(groups, packet, lane);
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
      if (!grouped) {
        if (packet.length > MAX_DATAGRAM_BYTES) return connection.send(packet);
        datagrams.write(packet).catch(() => {});
        return;
      }
      // The path's datagram size, as the browser (or Deno) knows it now.
      if (packet.length + DATAGRAM_HEADER_BYTES > wt.datagrams.maxDatagramSize) {
        return connection.send(packet);
      }
      counts.datagramsSent++;
      datagrams.write(encodeDatagram(sequence.next(), packet)).catch(() => {});
    },
    backlog: () => pending + (groups?.bufferedBytes ?? 0),
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
    stats: () => ({ ...counts }),
  };
  readStreams(wt, inbox, counts).catch(() => {});
  readDatagrams(wt, inbox, counts).catch(() => {});
  return connection;
}

// Our tracks are 1 + kind × 8 + layer (wt_groups.ts `upstreamTrack`): kind 2 is audio, 3 screen.
function orderOf(track: number): number {
  const kind = (track - 1) >> 3;
  return kind === 2 ? SEND_ORDER.audio : kind === 3 ? SEND_ORDER.screen : SEND_ORDER.camera;
}

async function readStreams(wt: WebTransport, inbox: Inbox, counts: TransportStats): Promise<void> {
  const reader = wt.incomingUnidirectionalStreams.getReader();
  // The newest grouped stream of each track; an older one still being read is stale.
  const newest = new Map<number, ReadableStreamDefaultReader<Uint8Array>>();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    readOne(value, inbox, counts, newest).catch(() => {});
  }
}

// Reads one server stream: a grouped stream's packets as they complete, or a single packet at
// its end.
async function readOne(
  stream: ReadableStream<Uint8Array>,
  inbox: Inbox,
  counts: TransportStats,
  newest: Map<number, ReadableStreamDefaultReader<Uint8Array>>,
): Promise<void> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let frames: FrameReader | undefined;
  let track: number | undefined;
  let single = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (frames) {
        for (const packet of frames.push(value)) inbox.deliver(packet);
        continue;
      }
      chunks.push(value);
      size += value.length;
      if (single) continue;
      const head = chunks.length === 1 ? value : concatBytes(chunks, size);
      if (!isGrouped(head)) {
        single = true;
        continue;
      }
      const header = readGroupHeader(head);
      if (header === undefined) continue;
      chunks.length = 0;
      counts.groupsReceived++;
      track = header.track;
      if (track !== CONTROL_TRACK) {
        newest.get(track)?.cancel().catch(() => {});
        newest.set(track, reader);
      }
      frames = new FrameReader(MAX_RECEIVED_PACKET_BYTES);
      for (const packet of frames.push(head.subarray(header.next))) inbox.deliver(packet);
    }
  } finally {
    if (track !== undefined && newest.get(track) === reader) newest.delete(track);
  }
  if (frames === undefined && size > 0) {
    inbox.deliver(chunks.length === 1 ? chunks[0] : concatBytes(chunks, size));
  }
}

async function readDatagrams(
  wt: WebTransport,
  inbox: Inbox,
  counts: TransportStats,
): Promise<void> {
  const reader = wt.datagrams.readable.getReader();
  const loss = new DatagramLoss();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const datagram = readDatagram(value);
    if (datagram === undefined) {
      inbox.deliver(value);
      continue;
    }
    loss.note(datagram.seq);
    counts.datagramsReceived = loss.received;
    counts.datagramsLost = loss.lost;
    inbox.deliver(datagram.packet);
  }
}
