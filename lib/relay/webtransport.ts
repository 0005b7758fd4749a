/**
 * The WebTransport transport: a QUIC endpoint on UDP, HTTP/3 handshakes through
 * `Deno.upgradeWebTransport`, and each session turned into a relay {@linkcode Session} exactly
 * like a WebSocket.
 *
 * Packet mapping (docs/PROTOCOL.md, "WebTransport"):
 * - client → server: each unidirectional stream is read by `wt_stream_parser.ts` — one packet to
 *   its end (videocall-rs's convention) or a grouped stream of length-prefixed packets; a
 *   bidirectional stream carries length-prefixed packets (Deno clients, which cannot finish a
 *   stream); each datagram is one packet, sequenced or not (`ping` is a keep-alive). A newer
 *   grouped stream of a track cancels the older one: it is stale.
 * - server → client, for a session that asked for grouped framing (`?framing=groups`): video on
 *   one stream per track and group of pictures, small packets as sequenced datagrams, the rest on
 *   one control stream (`wt_sender.ts`). For any other session, as videocall-rs expects: media on
 *   its own unidirectional stream with a `sendOrder` by class (audio before video, key frames
 *   before deltas); heartbeats and RTT echoes as datagrams when they fit; control, meeting and
 *   key packets always on streams. A key frame abandons (resets) the sender's delta-frame streams
 *   still in flight: they are stale.
 *
 * Workarounds for Deno 2.9.6 (docs/PROTOCOL.md, "WebTransport on Deno"), all in this file, to be removed when Deno fixes them:
 * 1. Never read `QuicIncoming`'s address getters before `accept()`: they consume the incoming.
 * 2. Streams are handled on the `QuicConn`, never through the WebTransport object's stream
 *    getters: its unidirectional reader never delivers Chromium's streams (it blocks on
 *    Chromium's HTTP/3 control streams), and `close()` on its send streams never sends FIN. So we
 *    parse the WebTransport stream header (type 0x54 / 0x41, then the session id) ourselves,
 *    discard HTTP/3's own streams, and write that header on the streams we open.
 * 3. Datagram high-water-mark setters throw and the incoming queue holds one datagram: a read
 *    is kept pending at all times.
 *
 * @module
 */
import { concatBytes } from "../protocol/bytes.ts";
import { CloseCode, Refusal } from "../protocol/close_codes.ts";
import { FrameTooLargeError } from "../protocol/framing.ts";
import { MAX_DATAGRAM_BYTES } from "../protocol/limits.ts";
import {
  CONTROL_TRACK,
  DatagramLoss,
  FRAMING_PARAM,
  GROUPED_FRAMING,
  isGrouped,
  readDatagram,
} from "../protocol/wt_groups.ts";
import { type Admit, type AdmittedIdentity, admittedIdentity, parseLobbyUrl } from "./admission.ts";
import type { Logger } from "../log.ts";
import { PacketClass } from "./packet_class.ts";
import { encodeQuicVarint } from "./quic_varint.ts";
import type { Relay } from "./relay.ts";
import type { Session, Transport } from "./session.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { ConnectionGuard } from "../server/connection_guard.ts";
import { GroupedSender } from "./wt_sender.ts";
import { WtStreamParser } from "./wt_stream_parser.ts";

/** Where the certificate comes from, and the hashes browsers should pin. */
export interface CertificateSource {
  /** The certificate chain and private key to serve, in PEM. */
  current(): { certPem: string; keyPem: string };
  /** Base64 SHA-256 hashes of the certificates browsers may pin (empty for CA-signed ones). */
  hashes(): string[];
}

/** WebTransport-specific limits. */
export interface WebTransportLimits {
  /** Streams a client may have open at once, each direction (QUIC flow control). */
  maxIncomingStreams: number;
  /** A client stream not finished within this time ends the session (4010). */
  streamTimeoutMs: number;
  /** Datagrams accepted per second per session; more are dropped and counted. */
  maxDatagramsPerSecond: number;
  /** Streams the server keeps open towards one client before queueing in the relay. */
  maxOutgoingStreams: number;
  /**
   * QUIC idle timeout. Deno 2.9.6 does not report Chromium ending a session (its close capsule,
   * or a closed tab) until the connection idles out, so this is also how long a browser that
   * left stays in the room (plus the leave grace). Keep-alives hold live connections open.
   */
  maxIdleTimeoutMs: number;
  /** QUIC keep-alive interval; well under the idle timeout. */
  keepAliveIntervalMs: number;
}

/** Defaults for {@linkcode WebTransportLimits}. */
export const DEFAULT_WEBTRANSPORT_LIMITS: Readonly<WebTransportLimits> = {
  maxIncomingStreams: 100,
  streamTimeoutMs: 10_000,
  maxDatagramsPerSecond: 200,
  maxOutgoingStreams: 64,
  maxIdleTimeoutMs: 10_000,
  keepAliveIntervalMs: 2_000,
};

/** How to start the server. */
export interface WebTransportServerOptions {
  hostname: string;
  port: number;
  relay: Relay;
  log: Logger;
  certificates: CertificateSource;
  /** Who may join; the same decision as for WebSocket. */
  admit: Admit;
  /** Bounds on connections per address and instance, shared with WebSocket. */
  guard?: ConnectionGuard;
  limits?: Partial<WebTransportLimits>;
}

// WebTransport's unidirectional stream type (draft-ietf-webtrans-http3).
const WT_UNI_STREAM = 0x54n;
// How often the path's datagram size is read again, in ms.
const DATAGRAM_SIZE_REFRESH_MS = 1000;
const PING = new TextEncoder().encode("ping");
// Longest a server-side close waits for streams in flight.
const CLOSE_FLUSH_MS = 500;
// Pause between accepting a session and closing it for a bad request.
const REJECT_DELAY_MS = 100;

/** Whether this Deno offers the QUIC and WebTransport server APIs (`--unstable-net`). */
export function quicAvailable(): boolean {
  const d = Deno as unknown as Record<string, unknown>;
  return typeof d.QuicEndpoint === "function" && typeof d.upgradeWebTransport === "function";
}

/** The QUIC listener and its sessions. */
export class WebTransportServer {
  readonly port: number;
  readonly #endpoint: Deno.QuicEndpoint;
  readonly #options: WebTransportServerOptions;
  readonly #limits: WebTransportLimits;
  readonly #connections = new Set<WebTransportConnection>();
  #closed = false;
  incomingStreams = 0;
  outgoingStreams = 0;
  /** Counters of grouped framing, shared by the sessions. */
  readonly grouped;

  private constructor(endpoint: Deno.QuicEndpoint, options: WebTransportServerOptions) {
    this.#endpoint = endpoint;
    this.#options = options;
    this.#limits = { ...DEFAULT_WEBTRANSPORT_LIMITS, ...options.limits };
    this.port = endpoint.addr.port;
    const registry = options.relay.metrics.registry;
    this.grouped = {
      sessions: registry.counter(
        "webtransport_sessions_total",
        "WebTransport sessions opened, by framing (groups or single)",
        "framing",
      ),
      groups: registry.counter(
        "webtransport_groups_total",
        "Grouped streams opened towards clients (one per track and group of pictures)",
      ),
      groupsIn: registry.counter(
        "webtransport_groups_in_total",
        "Grouped streams opened by clients",
      ),
      datagramsIn: registry.counter(
        "webtransport_datagrams_in_total",
        "Sequenced datagrams received from clients",
      ),
      datagramsLost: registry.counter(
        "webtransport_datagrams_lost_total",
        "Sequenced datagrams from clients that never arrived (gaps in their numbers)",
      ),
      datagramsOut: registry.counter(
        "webtransport_datagrams_out_total",
        "Sequenced datagrams sent to clients",
      ),
    };
    registry.gauge(
      "webtransport_sessions",
      "Open WebTransport sessions",
      () => this.#connections.size,
    );
    registry.gauge(
      "webtransport_incoming_streams",
      "Client streams being read",
      () => this.incomingStreams,
    );
    registry.gauge(
      "webtransport_outgoing_streams",
      "Server streams being written",
      () => this.outgoingStreams,
    );
    this.#listen();
  }

  /**
   * Binds the UDP port and starts accepting. Throws when QUIC is unavailable or the port cannot
   * be bound; the caller then runs WebSocket-only.
   */
  static start(options: WebTransportServerOptions): WebTransportServer {
    if (!quicAvailable()) throw new Error("This Deno has no QUIC API (run with --unstable-net)");
    const endpoint = new Deno.QuicEndpoint({ hostname: options.hostname, port: options.port });
    return new WebTransportServer(endpoint, options);
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.#connections.size;
  }

  /**
   * Serves the current certificate to new connections (after a renewal); open ones carry on. If
   * the new pair is refused, the previous listener keeps serving and the error is logged.
   */
  reloadCertificate(): void {
    if (this.#closed) return;
    try {
      this.#listen();
    } catch (error) {
      this.#options.log.error("certificate_reload_failed", { error: String(error) });
    }
  }

  /** Closes every session and the endpoint. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const connection of this.#connections) {
      connection.close(CloseCode.GOING_AWAY, Refusal.SHUTTING_DOWN);
    }
    this.#endpoint.close({ closeCode: CloseCode.GOING_AWAY, reason: Refusal.SHUTTING_DOWN });
  }

  #listen(): void {
    const { certPem, keyPem } = this.#options.certificates.current();
    // A second listen() on the same endpoint replaces the certificate for new connections.
    const listener = this.#endpoint.listen({
      cert: certPem,
      key: keyPem,
      alpnProtocols: ["h3"],
      maxIdleTimeout: this.#limits.maxIdleTimeoutMs,
      keepAliveInterval: this.#limits.keepAliveIntervalMs,
      maxConcurrentUnidirectionalStreams: this.#limits.maxIncomingStreams,
      maxConcurrentBidirectionalStreams: 8,
    });
    this.#acceptLoop(listener);
  }

  async #acceptLoop(listener: Deno.QuicListener): Promise<void> {
    while (!this.#closed) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await listener.incoming();
      } catch {
        return; // The endpoint closed, or a newer listen() took over.
      }
      // Each handshake on its own: one failing client never stops the loop.
      this.#handshake(incoming).catch((error) => {
        this.#options.relay.metrics.rejected.inc("webtransport_handshake");
        this.#options.log.debug("webtransport_handshake_failed", { error: String(error) });
      });
    }
  }

  async #handshake(incoming: Deno.QuicIncoming): Promise<void> {
    const conn = await incoming.accept();
    const address = conn.remoteAddr.hostname;
    const guard = this.#options.guard;
    const allowed = guard?.open(address, performance.now()) ?? { ok: true };
    if (!allowed.ok) {
      this.#options.relay.metrics.rejected.inc(allowed.code);
      conn.close({ closeCode: CloseCode.TRY_AGAIN_LATER, reason: allowed.message });
      return;
    }
    let released = false;
    const release = () => {
      if (!released) guard?.close(address);
      released = true;
    };
    conn.closed.then(release, release);
    try {
      await this.#session(conn, address);
    } catch (error) {
      release();
      throw error;
    }
  }

  async #session(conn: Deno.QuicConn, address: string): Promise<void> {
    let wt: WebTransport & { url: string };
    try {
      wt = await Deno.upgradeWebTransport(conn);
    } catch (error) {
      conn.close({ closeCode: CloseCode.BAD_REQUEST, reason: "WebTransport handshake failed" });
      throw error;
    }
    const { relay, log } = this.#options;
    const url = new URL(wt.url);
    const refuse = (code: number, metric: string, reason: string) => {
      relay.metrics.rejected.inc(metric);
      log.info("connection_rejected", {
        path: url.pathname.slice(0, 200),
        code: metric,
        transport: "webtransport",
      });
      // The upgrade has already answered 200; give the client a moment to see its session
      // open before it is told why it ends (Deno's client loses the reason otherwise).
      setTimeout(() => closeSession(wt, conn, code, reason), REJECT_DELAY_MS);
    };
    const parsed = parseLobbyUrl(url);
    if (!parsed.ok) return refuse(CloseCode.BAD_REQUEST, parsed.code, parsed.message);
    const framing = url.searchParams.get(FRAMING_PARAM);
    if (framing !== null && framing !== GROUPED_FRAMING) {
      return refuse(
        CloseCode.BAD_REQUEST,
        "bad_framing",
        `Unknown framing "${framing.slice(0, 40)}"; this server offers "${GROUPED_FRAMING}"`,
      );
    }
    if (!relay.accepting) {
      closeSession(wt, conn, CloseCode.GOING_AWAY, Refusal.SHUTTING_DOWN);
      return;
    }
    const admitted = await this.#options.admit({ ...parsed.request, address });
    if (!relay.accepting) {
      closeSession(wt, conn, CloseCode.GOING_AWAY, Refusal.SHUTTING_DOWN);
      return;
    }
    if (!admitted.ok) {
      const code = admitted.status === 410
        ? CloseCode.MEETING_ENDED
        : admitted.status === 400
        ? CloseCode.BAD_REQUEST
        : admitted.status >= 500
        ? CloseCode.INTERNAL_ERROR
        : CloseCode.FORBIDDEN;
      return refuse(code, admitted.code, admitted.message);
    }
    const identity = admittedIdentity(admitted, parsed.resumeSessionId);
    await relay.prepareResume(identity);
    const grouped = framing === GROUPED_FRAMING;
    this.grouped.sessions.inc(grouped ? "groups" : "single");
    const connection = new WebTransportConnection(conn, wt, this, this.#limits, grouped);
    this.#connections.add(connection);
    connection.start(identity);
    // A browser may end the WebTransport session (a CLOSE_WEBTRANSPORT_SESSION capsule) and keep
    // the QUIC connection for reuse, so watch the session as well as the connection.
    const ended = (code: number, reason: string) => {
      connection.closedByPeer(code, reason);
      this.#connections.delete(connection);
    };
    wt.closed.then(
      (info) => ended(info.closeCode ?? 0, info.reason ?? ""),
      () => ended(1006, "session lost"),
    );
    conn.closed.then(
      (info) => ended(info.closeCode, info.reason),
      () => ended(1006, "connection lost"),
    );
  }

  /** @internal */
  get relay(): Relay {
    return this.#options.relay;
  }
}

function closeSession(wt: WebTransport, conn: Deno.QuicConn, code: number, reason: string): void {
  try {
    wt.close({ closeCode: code, reason });
  } catch {
    // Already closed.
  }
  // Give the close capsule a moment to leave before the connection goes.
  setTimeout(() => {
    try {
      conn.close({ closeCode: code, reason });
    } catch {
      // Already closed.
    }
  }, 200);
}

/** One WebTransport session: the relay's {@linkcode Transport} on top of a QUIC connection. */
class WebTransportConnection implements Transport {
  readonly kind = "webtransport";
  readonly #conn: Deno.QuicConn;
  readonly #wt: WebTransport;
  readonly #server: WebTransportServer;
  readonly #limits: WebTransportLimits;
  readonly #datagrams: TokenBucket;
  readonly #datagramLoss = new DatagramLoss();
  #session: Session | undefined;
  #uniHeader = concatBytes([encodeQuicVarint(WT_UNI_STREAM), encodeQuicVarint(0)]);
  // A WebTransport datagram starts with the session's quarter stream id (its id / 4).
  #datagramPrefix = encodeQuicVarint(0);
  #datagramWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #maxDatagram = { bytes: 0, readAtMs: Number.NEGATIVE_INFINITY };
  // Grouped framing towards the client, when it asked for it.
  readonly #grouped: GroupedSender | undefined;
  #inflightBytes = 0;
  #inflightStreams = 0;
  // Delta-frame streams in flight per sender and stream (camera / screen), for abandoning.
  readonly #deltas = new Map<string, Set<WritableStreamDefaultWriter<Uint8Array>>>();
  // The client's newest grouped stream per track, cancelled when a newer one starts.
  readonly #inboundGroups = new Map<number, ReadableStreamDefaultReader<Uint8Array>>();
  #closed = false;

  constructor(
    conn: Deno.QuicConn,
    wt: WebTransport,
    server: WebTransportServer,
    limits: WebTransportLimits,
    grouped: boolean,
  ) {
    this.#conn = conn;
    this.#wt = wt;
    this.#server = server;
    this.#limits = limits;
    this.#datagrams = new TokenBucket(
      limits.maxDatagramsPerSecond,
      limits.maxDatagramsPerSecond,
      performance.now(),
    );
    if (grouped) {
      const drops = server.relay.metrics.drops;
      this.#grouped = new GroupedSender({
        openStream: (sendOrder) => this.#openStream(sendOrder),
        // Datagrams go on the QUIC connection itself: a fifth of the CPU of the WebTransport
        // object's datagram writer (docs/PROTOCOL.md, "WebTransport on Deno").
        datagramPrefix: () => this.#datagramPrefix,
        sendDatagram: (bytes) => {
          server.grouped.datagramsOut.inc();
          return this.#conn.sendDatagram(bytes);
        },
        maxDatagramBytes: () => this.#maxDatagramBytes(),
      }, (reason, count) => drops.inc(reason, count));
    }
  }

  start(identity: AdmittedIdentity): void {
    try {
      this.#datagramWriter = this.#wt.datagrams.writable.getWriter();
    } catch {
      this.#datagramWriter = undefined;
    }
    this.#session = this.#server.relay.attach({ ...identity, transport: this });
    this.#readUnidirectional();
    this.#readBidirectional();
    this.#readDatagrams();
  }

  bufferedBytes(): number {
    if (this.#grouped) return this.#grouped.bufferedBytes;
    return this.#inflightStreams >= this.#limits.maxOutgoingStreams
      ? Number.MAX_SAFE_INTEGER
      : this.#inflightBytes;
  }

  send(packet: Uint8Array, cls: PacketClass, sender: bigint, layer: number): void {
    if (this.#closed) return;
    if (this.#grouped) {
      const opened = this.#grouped.groupsOpened;
      this.#grouped.send(packet, cls, sender, layer, performance.now());
      if (this.#grouped.groupsOpened !== opened) this.#server.grouped.groups.inc();
      return;
    }
    if (
      cls === PacketClass.INFO && packet.length <= MAX_DATAGRAM_BYTES &&
      this.#datagramWriter
    ) {
      this.#datagramWriter.write(packet).catch(() => {});
      return;
    }
    if (cls === PacketClass.VIDEO_KEY || cls === PacketClass.SCREEN_KEY) {
      this.#abandonDeltas(cls, sender);
    }
    this.#sendOnStream(packet, cls, sender);
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    // Let streams already on their way (MEETING_ENDED before a 4410, say) leave first.
    const deadline = performance.now() + CLOSE_FLUSH_MS;
    const attempt = () => {
      const busy = this.#grouped ? this.#grouped.bufferedBytes > 0 : this.#inflightStreams > 0;
      if (busy && performance.now() < deadline) {
        setTimeout(attempt, 10);
        return;
      }
      closeSession(this.#wt, this.#conn, code, reason);
    };
    attempt();
  }

  closedByPeer(code: number, reason: string): void {
    if (!this.#closed) {
      this.#closed = true;
      // The session is over; the connection (if the peer kept it) has nothing left to carry.
      setTimeout(() => {
        try {
          this.#conn.close({ closeCode: 0, reason: "session closed" });
        } catch {
          // Already closed.
        }
      }, 200);
    }
    this.#session?.transportClosed(code, reason);
  }

  // The largest datagram the path takes now (QUIC's path MTU discovery raises it as the
  // connection goes on), less the WebTransport session prefix; read again every second.
  #maxDatagramBytes(): number {
    const now = performance.now();
    if (now - this.#maxDatagram.readAtMs >= DATAGRAM_SIZE_REFRESH_MS) {
      let bytes = 0;
      try {
        bytes = this.#conn.maxDatagramSize - this.#datagramPrefix.length;
      } catch {
        bytes = 0;
      }
      this.#maxDatagram = { bytes: Math.max(0, bytes), readAtMs: now };
    }
    return this.#maxDatagram.bytes;
  }

  // A unidirectional stream with WebTransport's header written, once the peer gives credit.
  async #openStream(sendOrder: number): Promise<WritableStreamDefaultWriter<Uint8Array>> {
    const stream = await this.#conn.createUnidirectionalStream({
      sendOrder,
      waitUntilAvailable: true,
    });
    const writer = stream.getWriter();
    writer.write(this.#uniHeader).catch(() => {});
    return writer;
  }

  #streamKey(cls: PacketClass, sender: bigint): string {
    const screen = cls === PacketClass.SCREEN_DELTA || cls === PacketClass.SCREEN_KEY;
    return `${sender}:${screen ? "s" : "v"}`;
  }

  // A new key frame makes the sender's delta frames still in flight worthless: reset them.
  #abandonDeltas(cls: PacketClass, sender: bigint): void {
    const key = this.#streamKey(cls, sender);
    const writers = this.#deltas.get(key);
    if (writers === undefined) return;
    for (const writer of writers) {
      writer.abort().catch(() => {});
      this.#server.relay.metrics.drops.inc("abandoned");
    }
    this.#deltas.delete(key);
  }

  async #sendOnStream(packet: Uint8Array, cls: PacketClass, sender: bigint): Promise<void> {
    this.#inflightBytes += packet.length;
    this.#inflightStreams++;
    this.#server.outgoingStreams++;
    const isDelta = cls === PacketClass.VIDEO_DELTA || cls === PacketClass.SCREEN_DELTA;
    const key = isDelta ? this.#streamKey(cls, sender) : "";
    let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
    try {
      // Wait for stream credit: the peer allows a limited number of open streams (Chromium: 100),
      // and the relay queues behind maxOutgoingStreams meanwhile, where its drop policy applies.
      const stream = await this.#conn.createUnidirectionalStream({
        sendOrder: cls,
        waitUntilAvailable: true,
      });
      writer = stream.getWriter();
      if (isDelta) {
        let set = this.#deltas.get(key);
        if (set === undefined) this.#deltas.set(key, set = new Set());
        set.add(writer);
      }
      await writer.write(concatBytes([this.#uniHeader, packet]));
      await writer.close();
    } catch {
      // Abandoned streams were counted when abandoned; anything else is a loss to count.
      const abandoned = writer !== undefined && isDelta && !this.#deltas.get(key)?.has(writer);
      if (!abandoned && !this.#closed) this.#server.relay.metrics.drops.inc("stream_failed");
    } finally {
      if (isDelta && writer) {
        const set = this.#deltas.get(key);
        set?.delete(writer);
        if (set?.size === 0) this.#deltas.delete(key);
      }
      this.#inflightBytes -= packet.length;
      this.#inflightStreams--;
      this.#server.outgoingStreams--;
    }
  }

  async #readUnidirectional(): Promise<void> {
    const reader = this.#conn.incomingUnidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#readStream(value, false).catch(() => {});
      }
    } catch {
      // Connection closed.
    }
  }

  async #readBidirectional(): Promise<void> {
    const reader = this.#conn.incomingBidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#readStream(value.readable, true).catch(() => {});
      }
    } catch {
      // Connection closed.
    }
  }

  // Reads one client stream (wt_stream_parser.ts says what it may carry). A single-packet stream
  // must end within the stream timeout; a grouped or framed one may live long, but a packet begun
  // on it must complete within that time. HTTP/3's own streams are read and ignored.
  async #readStream(stream: ReadableStream<Uint8Array>, bidirectional: boolean): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    const reader = stream.getReader();
    const parser = new WtStreamParser(bidirectional, this.#server.relay.limits.maxPacketBytes);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let counted = false;
    let track: number | undefined;
    const arm = () => {
      timer = setTimeout(() => {
        session.reject(
          CloseCode.STREAM_TIMEOUT,
          "stream_timeout",
          `Stream not finished within ${Math.round(this.#limits.streamTimeoutMs / 1000)} s`,
        );
        reader.cancel().catch(() => {});
      }, this.#limits.streamTimeoutMs);
    };
    const disarm = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const packets = parser.push(value);
        if (!counted && parser.kind !== "pending" && parser.kind !== "http3") {
          counted = true;
          this.#server.incomingStreams++;
          if (parser.sessionId !== undefined) {
            this.#uniHeader = concatBytes([
              encodeQuicVarint(WT_UNI_STREAM),
              encodeQuicVarint(parser.sessionId),
            ]);
            this.#datagramPrefix = encodeQuicVarint(parser.sessionId / 4n);
          }
          if (parser.kind === "grouped") {
            this.#server.grouped.groupsIn.inc();
            track = this.#takeTrack(parser.track!, reader);
          }
        }
        for (const packet of packets) session.receive(packet);
        // Single-packet streams run on the clock from their first byte; the others only while
        // a packet is incomplete.
        if (parser.kind === "single") {
          if (timer === undefined) arm();
        } else if (counted) {
          if (parser.pendingBytes > 0 && timer === undefined) arm();
          else if (parser.pendingBytes === 0) disarm();
        }
      }
      const packet = parser.end();
      if (packet !== undefined) session.receive(packet);
    } catch (error) {
      if (error instanceof FrameTooLargeError) {
        session.reject(CloseCode.PACKET_TOO_BIG, "packet_too_big", error.message);
        await reader.cancel().catch(() => {});
      }
      // Otherwise the stream was reset or cancelled (a newer group of its track): nothing to say.
    } finally {
      disarm();
      if (counted) this.#server.incomingStreams--;
      if (track !== undefined && this.#inboundGroups.get(track) === reader) {
        this.#inboundGroups.delete(track);
      }
    }
  }

  // A grouped stream of `track` began: the previous one of that track is stale (its group of
  // pictures was replaced), so stop reading it. The control track is never replaced.
  #takeTrack(track: number, reader: ReadableStreamDefaultReader<Uint8Array>): number {
    if (track === CONTROL_TRACK) return track;
    const previous = this.#inboundGroups.get(track);
    this.#inboundGroups.set(track, reader);
    if (previous !== undefined) {
      this.#server.relay.metrics.drops.inc("stale_group");
      previous.cancel().catch(() => {});
    }
    return track;
  }

  async #readDatagrams(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    let reader: ReadableStreamDefaultReader<Uint8Array>;
    try {
      reader = this.#wt.datagrams.readable.getReader();
    } catch {
      return;
    }
    const metrics = this.#server.grouped;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || this.#closed) return;
        if (!this.#datagrams.take(performance.now())) {
          this.#server.relay.metrics.drops.inc("datagram_rate_limited");
          continue;
        }
        if (isGrouped(value)) {
          const datagram = readDatagram(value);
          if (datagram === undefined) {
            session.reject(CloseCode.MALFORMED_PACKET, "malformed", "A datagram is too short");
            return;
          }
          const lostBefore = this.#datagramLoss.lost;
          this.#datagramLoss.note(datagram.seq);
          metrics.datagramsIn.inc();
          const lost = this.#datagramLoss.lost - lostBefore;
          if (lost > 0) metrics.datagramsLost.inc("", lost);
          session.receive(datagram.packet);
          continue;
        }
        if (value.length === PING.length && value.every((b, i) => b === PING[i])) {
          session.touch();
          continue;
        }
        session.receive(value);
      }
    } catch {
      // Session closed.
    }
  }
}
