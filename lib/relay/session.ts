/**
 * One client connection, whatever its transport: its identity, the limits it must keep, and the
 * bounded queue of what it is sent. The session checks every inbound packet (size, rate, shape,
 * identity) before anything else sees it, and hands valid ones to its room.
 *
 * @module
 */
import { CloseCode, Refusal } from "../protocol/close_codes.ts";
import {
  decodeChatPacket,
  decodeE2eePacket,
  decodeLayerPreferencePacket,
  decodeMediaPacket,
  decodePacketWrapper,
  decodeViewportPacket,
} from "../protocol/codec.ts";
import {
  MAX_CHAT_ID_LENGTH,
  MAX_CHAT_TEXT_LENGTH,
  MAX_E2EE_KEY_BYTES,
  MAX_SEALED_CHAT_BYTES,
} from "../protocol/limits.ts";
import {
  E2eeKind,
  MediaKind,
  type MediaPacket,
  MediaType,
  PacketType,
  type PacketWrapper,
} from "../protocol/packets.ts";
import { encodeIdentity } from "../protocol/wire.ts";
import { type MediaInfo, NO_MEDIA } from "./bus_frame.ts";
import type { LayerWish } from "./forwarding.ts";
import type { RelayLimits } from "./limits.ts";
import type { RelayMetrics } from "./metrics.ts";
import { type DropReason, OutboundQueue } from "./outbound_queue.ts";
import { PACKET_CLASS_NAMES, type PacketClass } from "./packet_class.ts";
import { TokenBucket } from "./token_bucket.ts";

/** What a session needs from its transport (WebSocket or WebTransport). */
export interface Transport {
  /** `"websocket"` or `"webtransport"`, for logs and metrics. */
  readonly kind: string;
  /** Bytes handed to the transport and not yet sent. */
  bufferedBytes(): number;
  /**
   * Sends one serialized PacketWrapper from `sender` (0 for the server); `layer` is a video
   * packet's simulcast layer (0 otherwise).
   */
  send(packet: Uint8Array, cls: PacketClass, sender: bigint, layer: number): void;
  /** Closes the connection with a code and a reason the client can show. */
  close(code: number, reason: string): void;
}

/** A checked inbound packet, as the room receives it. */
export interface InboundPacket {
  packetType: number;
  /** The wrapper's `data` (a view into the received bytes). */
  data: Uint8Array;
  /** The whole packet as received (RTT probes are echoed unchanged). */
  raw: Uint8Array;
  /** Parsed for MEDIA packets (absent for media sealed whole by a videocall-rs client). */
  media?: MediaPacket;
  /** What forwarding reads of a MEDIA packet (layer, kind, audio level); zeros otherwise. */
  info: MediaInfo;
  /** A VIEWPORT's sessions or a LAYER_PREFERENCE's wishes. */
  selection?: { viewport?: bigint[]; layers?: LayerWish[] };
}

/** What the session reports to the relay. */
export interface SessionHost {
  onPacket(session: Session, packet: InboundPacket): void;
  onDrop(session: Session, sender: bigint, cls: PacketClass, reason: DropReason): void;
  onClosed(session: Session, code: number, reason: string): void;
}

/** How a session is made. */
export interface SessionInit {
  id: bigint;
  userId: string;
  roomId: string;
  displayName: string;
  transport: Transport;
  limits: RelayLimits;
  metrics: RelayMetrics;
  host: SessionHost;
  now?: () => number;
}

// Packet types the relay carries from clients to the room.
const RELAYED_TYPES = new Set<number>([
  PacketType.RSA_PUB_KEY,
  PacketType.AES_KEY,
  PacketType.MEDIA,
  PacketType.CONNECTION,
  PacketType.DIAGNOSTICS,
  PacketType.HEALTH,
  PacketType.CONGESTION,
  PacketType.CHAT,
  PacketType.E2EE,
]);

// Packet types only a server may send: a client sending one impersonates the server.
const SERVER_TYPES = new Set<number>([PacketType.MEETING, PacketType.SESSION_ASSIGNED]);

/** Media types whose wrapper layer is kept (docs/PROTOCOL.md, "Selective forwarding"). */
const LAYERED_TYPES: ReadonlySet<number> = new Set([
  MediaType.VIDEO,
  MediaType.SCREEN,
  MediaType.KEYFRAME_REQUEST,
]);

/** The highest simulcast layer id accepted on a MEDIA packet (upstream skips higher ones). */
export const MAX_SIMULCAST_LAYER = 7;

const TYPE_NAMES = Object.fromEntries(
  Object.entries(PacketType).map(([name, value]) => [value, name.toLowerCase()]),
) as Record<number, string>;

/** Prometheus label of a packet type. */
export function packetTypeName(packetType: number): string {
  return TYPE_NAMES[packetType] ?? "unknown";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FLUSH_INTERVAL_MS = 5;

/** A participant's connection. */
export class Session {
  readonly id: bigint;
  readonly userId: string;
  readonly roomId: string;
  readonly displayName: string;
  /** The pre-encoded `user_id` and `session_id` stamped on everything this session sends. */
  readonly identity: Uint8Array;
  readonly transport: Transport;
  /** Announced to the room (after its first packet that is not an RTT probe). */
  active = false;
  /** In the waiting room: hears and is heard by nobody until a host admits it. */
  waiting = false;
  lastInboundMs: number;
  readonly #userIdBytes: Uint8Array;
  readonly #limits: RelayLimits;
  readonly #metrics: RelayMetrics;
  readonly #host: SessionHost;
  readonly #now: () => number;
  readonly #bucket: TokenBucket;
  readonly #bytes: TokenBucket | undefined;
  readonly #videoBytes: TokenBucket | undefined;
  readonly #keyframeBucket: TokenBucket;
  readonly #chatBucket: TokenBucket;
  readonly #e2eeBucket: TokenBucket;
  readonly #controlBucket: TokenBucket;
  /** The meeting takes only end-to-end encrypted media and chat. */
  e2eeRequired = false;
  readonly #queue: OutboundQueue;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.userId = init.userId;
    this.roomId = init.roomId;
    this.displayName = init.displayName;
    this.transport = init.transport;
    this.#userIdBytes = encoder.encode(init.userId);
    this.identity = encodeIdentity(this.#userIdBytes, init.id);
    this.#limits = init.limits;
    this.#metrics = init.metrics;
    this.#host = init.host;
    this.#now = init.now ?? Date.now;
    const now = this.#now();
    this.lastInboundMs = now;
    this.#bucket = new TokenBucket(init.limits.maxPacketsPerSecond, init.limits.packetBurst, now);
    // Bytes per second from kilobits per second; a burst of two seconds' worth.
    const bytesBucket = (kbps: number) =>
      kbps > 0 ? new TokenBucket(kbps * 125, kbps * 250, now) : undefined;
    this.#bytes = bytesBucket(init.limits.maxKbpsPerParticipant);
    this.#videoBytes = bytesBucket(init.limits.maxVideoKbpsPerParticipant);
    this.#keyframeBucket = new TokenBucket(
      init.limits.keyframeRequestsPerSecond,
      init.limits.keyframeRequestsPerSecond,
      now,
    );
    this.#chatBucket = new TokenBucket(
      init.limits.chatMessagesPerSecond,
      init.limits.chatMessagesPerSecond * 4,
      now,
    );
    this.#e2eeBucket = new TokenBucket(
      init.limits.e2eePacketsPerSecond,
      init.limits.e2eePacketsPerSecond * 4,
      now,
    );
    this.#controlBucket = new TokenBucket(
      init.limits.controlPacketsPerSecond,
      init.limits.controlPacketsPerSecond * 2,
      now,
    );
    this.#queue = new OutboundQueue(
      {
        maxPackets: init.limits.outboundQueuePackets,
        maxBytes: init.limits.outboundQueueBytes,
        maxVideoAgeMs: init.limits.maxQueueDelayMs,
      },
      (sender, cls, reason) => this.#host.onDrop(this, sender, cls, reason),
    );
  }

  /** Whether the session has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Packets waiting in this session's outbound queue. */
  get queuedPackets(): number {
    return this.#queue.length;
  }

  /** Takes a keyframe-request token; false when this session asks too often. */
  allowKeyframeRequest(): boolean {
    return this.#keyframeBucket.take(this.#now());
  }

  /** Handles one packet from the client. */
  receive(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.lastInboundMs = this.#now();
    if (bytes.length > this.#limits.maxPacketBytes) {
      return this.reject(
        CloseCode.PACKET_TOO_BIG,
        "packet_too_big",
        `Packet of ${bytes.length} bytes exceeds the limit of ${this.#limits.maxPacketBytes} bytes`,
      );
    }
    if (!this.#bucket.take(this.lastInboundMs)) {
      return this.reject(
        CloseCode.RATE_LIMITED,
        "rate_limited",
        `More than ${this.#limits.maxPacketsPerSecond} packets per second`,
      );
    }
    const wrapper = decodePacketWrapper(bytes);
    if (!wrapper.ok) {
      return this.reject(CloseCode.MALFORMED_PACKET, "malformed", wrapper.error.message);
    }
    const { packetType, userId, data } = wrapper.value;
    if (SERVER_TYPES.has(packetType)) {
      return this.reject(
        CloseCode.POLICY_VIOLATION,
        "forbidden_type",
        `Clients may not send ${TYPE_NAMES[packetType].toUpperCase()} packets`,
      );
    }
    if (packetType === PacketType.VIEWPORT || packetType === PacketType.LAYER_PREFERENCE) {
      return this.#selection(packetType, data);
    }
    if (!RELAYED_TYPES.has(packetType)) {
      // videocall-rs's types we do not act on yet (peer events, reactions, hands, timers, hints
      // sent by a client) and types newer than ours: consumed and counted, never a disconnect.
      this.#metrics.unimplemented.inc(TYPE_NAMES[packetType] ?? "other");
      return;
    }
    if (userId.length > 0 && !bytesEqual(userId, this.#userIdBytes)) {
      return this.reject(
        CloseCode.POLICY_VIOLATION,
        "impersonation",
        `Packet claims user id "${printable(userId)}" but this connection is "${this.userId}"`,
      );
    }
    const typeName = TYPE_NAMES[packetType];
    this.#metrics.packetsIn.inc(typeName);
    this.#metrics.bytesIn.inc(typeName, bytes.length);
    let media: MediaPacket | undefined;
    let info: MediaInfo = NO_MEDIA;
    if (packetType === PacketType.MEDIA) {
      const checked = this.#media(wrapper.value);
      if (checked === undefined) return;
      ({ media, info } = checked);
      // Over the participant's bandwidth: the packet is dropped, not the participant.
      const video = info.kind === MediaKind.VIDEO || info.kind === MediaKind.SCREEN ||
        info.mediaType === MediaType.VIDEO || info.mediaType === MediaType.SCREEN;
      if (video && this.#videoBytes && !this.#videoBytes.take(this.lastInboundMs, bytes.length)) {
        this.#metrics.drops.inc("video_bandwidth_limited");
        return;
      }
      if (this.#bytes && !this.#bytes.take(this.lastInboundMs, bytes.length)) {
        this.#metrics.drops.inc("bandwidth_limited");
        return;
      }
    }
    if (packetType === PacketType.E2EE) {
      const problem = e2eeProblem(data);
      if (problem !== undefined) {
        return this.reject(CloseCode.MALFORMED_PACKET, "malformed", problem);
      }
      if (!this.#e2eeBucket.take(this.lastInboundMs)) {
        return this.reject(
          CloseCode.RATE_LIMITED,
          "rate_limited",
          `More than ${this.#limits.e2eePacketsPerSecond} key packets per second`,
        );
      }
    }
    if (packetType === PacketType.CHAT) {
      const problem = chatProblem(data);
      if (typeof problem === "string") {
        return this.reject(CloseCode.MALFORMED_PACKET, "malformed", problem);
      }
      if (this.e2eeRequired && !problem.sealed) {
        return this.reject(CloseCode.POLICY_VIOLATION, "not_encrypted", Refusal.E2EE_CHAT);
      }
      if (!this.#chatBucket.take(this.lastInboundMs)) {
        return this.reject(
          CloseCode.RATE_LIMITED,
          "rate_limited",
          `More than ${this.#limits.chatMessagesPerSecond} chat messages per second`,
        );
      }
    }
    this.#host.onPacket(this, { packetType, data, raw: bytes, media, info });
  }

  // A MEDIA packet's checks, and what forwarding reads of it; undefined when it was refused or
  // dropped (already handled).
  #media(wrapper: PacketWrapper): { media?: MediaPacket; info: MediaInfo } | undefined {
    const layer = wrapper.simulcastLayerId ?? 0;
    if (layer > MAX_SIMULCAST_LAYER) {
      this.#metrics.drops.inc("bad_layer");
      return undefined;
    }
    const wrapperKind = wrapper.mediaKind ?? 0;
    // An unknown kind is taken as unspecified: forwarded as it is, never filtered by it.
    const kind = wrapperKind >= 0 && wrapperKind <= 3 ? wrapperKind : 0;
    const decoded = decodeMediaPacket(wrapper.data);
    if (!decoded.ok) {
      // A videocall-rs client encrypts the whole MediaPacket; its clear kind says what it is.
      if (kind !== MediaKind.UNSPECIFIED && !this.e2eeRequired) {
        return { info: { mediaType: 0, layer, kind, audioLevel: 0 } };
      }
      this.reject(CloseCode.MALFORMED_PACKET, "malformed", decoded.error.message);
      return undefined;
    }
    const media = decoded.value;
    if (media.mediaType === MediaType.UNKNOWN || media.mediaType > MediaType.KEYFRAME_REQUEST) {
      this.reject(
        CloseCode.POLICY_VIOLATION,
        "unknown_type",
        `Unknown media type ${media.mediaType}`,
      );
      return undefined;
    }
    if (
      media.userId.length > 0 && media.mediaType !== MediaType.KEYFRAME_REQUEST &&
      !bytesEqual(media.userId, this.#userIdBytes)
    ) {
      // The inner user_id says whose media this is to clients that read it (videocall-rs's
      // CLI fills it; its web client leaves it empty). Only a key-frame request names someone
      // else: the sender it asks. Anything else naming another user is forged: dropped.
      this.#metrics.drops.inc("forged_user_id");
      return undefined;
    }
    if (this.e2eeRequired && !media.encrypted && ENCRYPTED_TYPES.has(media.mediaType)) {
      this.reject(CloseCode.POLICY_VIOLATION, "not_encrypted", Refusal.E2EE_MEDIA);
      return undefined;
    }
    const level = media.mediaType === MediaType.AUDIO ? wrapper.audioLevel ?? 0 : 0;
    return {
      media,
      info: {
        mediaType: media.mediaType,
        // Video and screen frames carry their layer; a key-frame request the layer it wants.
        layer: LAYERED_TYPES.has(media.mediaType) ? layer : 0,
        kind,
        audioLevel: level >= 1 && level <= 128 ? level : 0,
      },
    };
  }

  // VIEWPORT and LAYER_PREFERENCE: checked, rate-limited (extra ones are ignored and counted,
  // as videocall-rs's relay does) and handed to the room.
  #selection(packetType: number, data: Uint8Array): void {
    const name = TYPE_NAMES[packetType];
    const max = this.#limits.maxViewportSessions;
    let selection: InboundPacket["selection"];
    if (packetType === PacketType.VIEWPORT) {
      const viewport = decodeViewportPacket(data);
      if (!viewport.ok) {
        return this.reject(CloseCode.MALFORMED_PACKET, "malformed", viewport.error.message);
      }
      if (viewport.value.sessionIds.length > max) {
        return this.reject(
          CloseCode.POLICY_VIOLATION,
          "too_large",
          `VIEWPORT lists more than ${max} sessions`,
        );
      }
      selection = { viewport: viewport.value.sessionIds };
    } else {
      const prefs = decodeLayerPreferencePacket(data);
      if (!prefs.ok) {
        return this.reject(CloseCode.MALFORMED_PACKET, "malformed", prefs.error.message);
      }
      if (prefs.value.entries.length > max) {
        return this.reject(
          CloseCode.POLICY_VIOLATION,
          "too_large",
          `LAYER_PREFERENCE lists more than ${max} entries`,
        );
      }
      selection = {
        layers: prefs.value.entries.map((e) => ({
          source: e.sessionId,
          kind: e.mediaKind,
          layer: e.desiredLayer,
        })),
      };
    }
    this.#metrics.packetsIn.inc(name);
    if (!this.#controlBucket.take(this.lastInboundMs)) {
      this.#metrics.drops.inc("control_rate_limited");
      return;
    }
    this.#host.onPacket(this, {
      packetType,
      data,
      raw: new Uint8Array(0),
      info: NO_MEDIA,
      selection,
    });
  }

  /**
   * Queues a serialized PacketWrapper for the client. `sender` is the session it came from
   * (0 for the server), so drops can be charged to it; `layer` is a video packet's simulcast
   * layer.
   */
  deliver(packet: Uint8Array, cls: PacketClass, sender: bigint, layer = 0): void {
    if (this.#closed) return;
    if (
      this.#queue.length === 0 &&
      this.transport.bufferedBytes() < this.#limits.transportHighWaterBytes
    ) {
      if (this.#queue.isStale(cls, sender)) {
        this.#host.onDrop(this, sender, cls, "stale_delta");
        return;
      }
      this.#queue.noteSent(cls, sender);
      this.#write(packet, cls, sender, layer);
      return;
    }
    const result = this.#queue.push(packet, cls, sender, this.#now(), layer);
    if (result === "overflow") {
      return this.reject(
        CloseCode.RECEIVER_TOO_SLOW,
        "receiver_too_slow",
        "The connection cannot keep up even with control packets",
      );
    }
    this.#scheduleFlush();
  }

  /** Ends the session from the server side. */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#finish(code, reason);
    try {
      this.transport.close(code, reason);
    } catch {
      // Already closed underneath.
    }
  }

  /** Called by the transport when the connection is gone. */
  transportClosed(code = 1005, reason = "closed by client"): void {
    if (this.#closed) return;
    this.#finish(code, reason);
  }

  #finish(code: number, reason: string): void {
    this.#closed = true;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#queue.clear();
    this.#host.onClosed(this, code, reason);
  }

  /** Notes that the client is alive without a packet (a transport-level keep-alive). */
  touch(): void {
    this.lastInboundMs = this.#now();
  }

  /**
   * Closes the session for breaking a rule the transport enforces itself (a stream that never
   * ends, for example), counting it under `metric`.
   */
  reject(code: number, metric: string, reason: string): void {
    if (this.#closed) return;
    this.#metrics.rejected.inc(metric);
    this.close(code, reason);
  }

  #write(packet: Uint8Array, cls: PacketClass, sender: bigint, layer: number): void {
    this.transport.send(packet, cls, sender, layer);
    const className = PACKET_CLASS_NAMES[cls];
    this.#metrics.packetsOut.inc(className);
    this.#metrics.bytesOut.inc(className, packet.length);
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flush();
    }, FLUSH_INTERVAL_MS);
  }

  #flush(): void {
    while (
      !this.#closed && this.#queue.length > 0 &&
      this.transport.bufferedBytes() < this.#limits.transportHighWaterBytes
    ) {
      const next = this.#queue.shift(this.#now());
      if (next === undefined) break;
      this.#write(next.bytes, next.cls, next.sender, next.layer);
    }
    if (this.#queue.length > 0) this.#scheduleFlush();
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function printable(bytes: Uint8Array): string {
  return decoder.decode(bytes.subarray(0, 64)).replace(/[^\x20-\x7e]/g, "?");
}

// Media types that carry content: what an E2EE meeting refuses in clear.
const ENCRYPTED_TYPES = new Set<number>([
  MediaType.VIDEO,
  MediaType.AUDIO,
  MediaType.SCREEN,
  MediaType.HEARTBEAT,
]);

/** Why a CHAT payload is unacceptable, or whether it is sealed when it is fine. */
function chatProblem(data: Uint8Array): string | { sealed: boolean } {
  const decoded = decodeChatPacket(data);
  if (!decoded.ok) return decoded.error.message;
  const { text, messageId, sealed } = decoded.value;
  if (sealed !== undefined && sealed.length > 0) {
    if (text.length > 0) return "An encrypted chat message has clear text too";
    if (sealed.length > MAX_SEALED_CHAT_BYTES) {
      return `An encrypted chat message is larger than ${MAX_SEALED_CHAT_BYTES} bytes`;
    }
  } else if (text.trim().length === 0) return "A chat message has no text";
  else if (text.length > MAX_CHAT_TEXT_LENGTH) {
    return `A chat message is longer than ${MAX_CHAT_TEXT_LENGTH} characters`;
  }
  if (messageId.length === 0 || messageId.length > MAX_CHAT_ID_LENGTH) {
    return `A chat message id must have 1 to ${MAX_CHAT_ID_LENGTH} characters`;
  }
  return { sealed: sealed !== undefined && sealed.length > 0 };
}

/** Why an E2EE payload is unacceptable, or undefined when it is fine. */
function e2eeProblem(data: Uint8Array): string | undefined {
  const decoded = decodeE2eePacket(data);
  if (!decoded.ok) return decoded.error.message;
  const { kind, publicKey, wrapped, toSession } = decoded.value;
  if (kind !== E2eeKind.IDENTITY && kind !== E2eeKind.KEY) {
    return `Unknown E2EE packet kind ${kind}`;
  }
  if (publicKey.length > MAX_E2EE_KEY_BYTES || wrapped.length > MAX_E2EE_KEY_BYTES) {
    return `An E2EE key is larger than ${MAX_E2EE_KEY_BYTES} bytes`;
  }
  if (kind === E2eeKind.IDENTITY && (publicKey.length === 0 || wrapped.length > 0)) {
    return "An E2EE identity carries a public key and nothing wrapped";
  }
  if (kind === E2eeKind.KEY && (wrapped.length === 0 || publicKey.length > 0 || toSession === 0n)) {
    return "An E2EE key packet carries a wrapped key for one session";
  }
  return undefined;
}
