/**
 * A participant's side of a meeting, without media devices: joins through the meeting API,
 * connects (WebTransport or WebSocket), keeps the roster from the server's MEETING packets and
 * everyone's heartbeats, sends heartbeats, RTT probes, chat and media packets, and reconnects
 * with backoff into the same session after a network drop. Capture, encoding and playback
 * (the browser's part) plug in through {@linkcode CallEvents} and {@linkcode Call.sendMedia}.
 *
 * Runs in browsers and in Deno (over WebSocket), which is how it is tested.
 *
 * @module
 */
import {
  decodeChatPacket,
  decodeE2eePacket,
  decodeHeartbeatMetadata,
  decodeMediaPacket,
  decodeMeetingPacket,
  decodePacketWrapper,
  encodeChatPacket,
  encodeE2eePacket,
  encodeHeartbeatMetadata,
  encodeMediaPacket,
  encodePacketWrapper,
} from "../protocol/codec.ts";
import {
  type ChatPacket,
  type HeartbeatMetadata,
  type MediaPacket,
  MediaType,
  MeetingEventType,
  PacketType,
} from "../protocol/packets.ts";
import { MAX_CHAT_TEXT_LENGTH } from "../protocol/limits.ts";
import { Backoff } from "../client/backoff.ts";
import { E2eeSession } from "../client/e2ee/e2ee_session.ts";
import {
  type CloseInfo,
  connect,
  ConnectError,
  type Connection,
  type ConnectOptions,
  type TransportChoice,
} from "../client/transport.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Close codes after which reconnecting cannot help. */
const FINAL_CODES: Record<number, string> = {
  1000: "You left the meeting",
  4400: "The server refused the connection",
  4403: "A host removed you from the meeting",
  4410: "The meeting has ended",
};

/** Someone else in the meeting (one session: the same user may be here twice). */
export interface Peer {
  sessionId: string;
  userId: string;
  displayName: string;
  video: boolean;
  audio: boolean;
  screen: boolean;
  speaking: boolean;
  joinedAtMs: number;
  /** Their last media or heartbeat was end-to-end encrypted. */
  encrypted: boolean;
  /** Their packets that failed to decrypt (dropped, never shown or played). */
  decryptFailures: number;
}

/** Someone we just learned of: nothing on until their heartbeat or media says so. */
export function newPeer(sessionId: string, userId: string, displayName: string): Peer {
  return {
    sessionId,
    userId,
    displayName,
    video: false,
    audio: false,
    screen: false,
    speaking: false,
    joinedAtMs: Date.now(),
    encrypted: false,
    decryptFailures: 0,
  };
}

/** A chat message, sent or received. */
export interface ChatMessage {
  id: string;
  fromSessionId: string;
  fromUserId: string;
  fromName: string;
  text: string;
  sentAtMs: number;
  mine: boolean;
  /** It travelled end-to-end encrypted. */
  encrypted: boolean;
}

/** Where the call stands. */
export type CallState =
  | { kind: "connecting"; attempt: number }
  | { kind: "waiting" }
  | { kind: "connected"; transport: "webtransport" | "websocket" }
  | { kind: "reconnecting"; attempt: number; inMs: number; reason: string }
  | { kind: "ended"; reason: string; code: number; error?: boolean };

/** What the call reports. Every member is optional. */
export interface CallEvents {
  state?(state: CallState): void;
  /** The roster or someone's state changed. */
  peers?(peers: Peer[]): void;
  chat?(message: ChatMessage): void;
  /** Something to tell the user briefly ("Ada joined"). */
  notice?(text: string): void;
  /** A media packet (video, audio, screen) from a peer. */
  media?(peer: Peer, media: MediaPacket): void;
  /** Someone asked this participant for a key frame of `mediaType`. */
  keyframeRequest?(mediaType: number): void;
  /** The relay reports that receivers of this participant's video are congested. */
  congestion?(): void;
  /** E2EE members or keys changed (safety code). */
  e2ee?(): void;
  /**
   * Our media key moved on for newcomers, who cannot read anything sent before: send key
   * frames now (not rate-limited like requests).
   */
  newKey?(): void;
  rtt?(ms: number): void;
  /** A waiting-room change (hosts refetch the waiting list). */
  waitingRoom?(): void;
}

/** How to join. */
export interface CallOptions {
  /** The server's HTTP origin. */
  origin: string;
  userId: string;
  meetingId: string;
  displayName: string;
  /** An operator-issued token; without one, a guest session is made (open servers). */
  token?: string;
  password?: string;
  transport?: TransportChoice;
  events?: CallEvents;
  /** Heartbeat period in milliseconds. */
  heartbeatMs?: number;
  /** Gives up reconnecting after this many failed attempts in a row. */
  maxReconnectAttempts?: number;
  /** Transport details (certificate policy, framing, WebSocket factory) for {@linkcode connect}. */
  connect?: Pick<ConnectOptions, "trustAdvertisedCertificate" | "framed" | "webSocket">;
  /** Encrypt our media and chat end to end (always on in meetings that require it). */
  e2ee?: boolean;
  /** Create the meeting as one that requires E2EE, if it does not exist yet. */
  createE2eeRequired?: boolean;
  /**
   * Tests only: sees (and may replace) each received packet's payload before the call does —
   * a stand-in for a malicious relay.
   */
  intercept?: (packetType: number, data: Uint8Array, from: bigint) => Uint8Array;
}

/** What `POST /api/v1/meetings/{id}/join` said about us. */
export interface JoinInfo {
  status: "admitted" | "waiting";
  role: "host" | "cohost" | "guest";
  hostUserId: string;
  locked: boolean;
  waitingRoomEnabled: boolean;
  e2eeRequired: boolean;
}

/** A refusal from the meeting API, with its code and message. */
export class JoinError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = "JoinError";
  }
}

/** One participant's connection to a meeting. */
export class Call {
  readonly options: CallOptions;
  readonly peers = new Map<string, Peer>();
  sessionId = 0n;
  token = "";
  join: JoinInfo | undefined;
  state: CallState = { kind: "connecting", attempt: 0 };
  /** Our own flags, sent in every heartbeat. */
  readonly local: HeartbeatMetadata = {
    videoEnabled: false,
    audioEnabled: false,
    screenEnabled: false,
    isSpeaking: false,
  };
  rttMs: number | undefined;
  /** End-to-end encryption: keys are always exchanged; our media is encrypted while this is on. */
  readonly e2ee: E2eeSession;
  e2eeOn: boolean;
  /**
   * The first 48 bytes of the last 32 payloads we encrypted — what an observer of the relay must
   * never see (tests check exactly that).
   */
  readonly sealedSamples: Uint8Array[] = [];
  /** Packets received and sent, for the diagnostics panel. */
  readonly counters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };

  #connection: Connection | undefined;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #backoff = new Backoff({ baseMs: 300, maxMs: 8000 });
  #leaving = false;
  #chatSeq = 0;
  #seenChat = new Set<string>();
  #userIdBytes: Uint8Array;
  #lastHeartbeatMs = 0;
  /** Ends a reconnect wait early (leave). */
  #wake: (() => void) | undefined;

  constructor(options: CallOptions) {
    this.options = options;
    this.#userIdBytes = encoder.encode(options.userId);
    this.e2eeOn = options.e2ee === true;
    this.e2ee = new E2eeSession({
      send: (packet) => this.#send(PacketType.E2EE, encodeE2eePacket(packet)),
      isMember: (session) => this.peers.has(session.toString()),
      changed: () => this.#events.e2ee?.(),
      newKey: () => {
        if (this.e2eeOn) this.#events.newKey?.();
      },
      keyChanged: (session) => {
        const peer = this.peers.get(session.toString());
        this.#events.notice?.(
          `${peer?.displayName ?? "Someone"}'s encryption key changed: compare safety codes again`,
        );
      },
    });
  }

  get #events(): CallEvents {
    return this.options.events ?? {};
  }

  /** The transport in use, if connected. */
  get transport(): "webtransport" | "websocket" | undefined {
    return this.#connection?.kind;
  }

  /** Whether the current connection is open. */
  get connected(): boolean {
    return this.state.kind === "connected" || this.state.kind === "waiting";
  }

  /** Gets an identity and a place in the meeting (API), then connects. Throws JoinError. */
  async start(): Promise<void> {
    await this.#signIn();
    if (this.#leaving) return;
    if (this.options.createE2eeRequired) await this.#createEncrypted();
    await this.#joinMeeting();
    // Left while the join was on its way: the leave went first, so leave again after it.
    if (this.#leaving) return void await this.#postLeave();
    await this.#connectLoop();
  }

  async #api(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.options.origin}/api/v1${path}`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw new JoinError(
        0,
        "unreachable",
        `Cannot reach the server at ${this.options.origin}. Check your connection and try again.`,
      );
    }
    const json = await response.json().catch(() => undefined) as
      | { success: boolean; result: { code?: string; message?: string } }
      | undefined;
    if (!response.ok || json?.success !== true) {
      throw new JoinError(
        response.status,
        json?.result?.code ?? "http_error",
        json?.result?.message ?? `The server answered ${response.status}`,
      );
    }
    return json.result;
  }

  /** Calls the meeting API as this participant (host controls use it). */
  api(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.#api(method, path, body);
  }

  async #signIn(): Promise<void> {
    if (this.options.token) {
      this.token = this.options.token;
      return;
    }
    const result = await this.#api("POST", "/session", {
      user_id: this.options.userId,
      display_name: this.options.displayName,
    }) as { token: string };
    this.token = result.token;
  }

  async #createEncrypted(): Promise<void> {
    try {
      await this.#api("POST", "/meetings", {
        meeting_id: this.options.meetingId,
        e2ee_required: true,
      });
    } catch (error) {
      // It exists already: join it as it is (the join says whether it requires E2EE).
      if (!(error instanceof JoinError) || error.status !== 409) throw error;
    }
  }

  async #joinMeeting(): Promise<void> {
    const body: Record<string, string> = { display_name: this.options.displayName };
    if (this.options.password) body.password = this.options.password;
    const result = await this.#api(
      "POST",
      `/meetings/${encodeURIComponent(this.options.meetingId)}/join`,
      body,
    ) as {
      meeting: {
        host: string;
        locked: boolean;
        waiting_room_enabled: boolean;
        e2ee_required: boolean;
      };
      participant: { status: "admitted" | "waiting"; role: "host" | "cohost" | "guest" };
    };
    this.join = {
      status: result.participant.status,
      role: result.participant.role,
      hostUserId: result.meeting.host,
      locked: result.meeting.locked,
      waitingRoomEnabled: result.meeting.waiting_room_enabled,
      e2eeRequired: result.meeting.e2ee_required === true,
    };
    if (this.join.e2eeRequired) this.e2eeOn = true;
  }

  #setState(state: CallState): void {
    this.state = state;
    this.#events.state?.(state);
  }

  async #connectLoop(): Promise<void> {
    for (;;) {
      if (this.#leaving) return;
      const attempt = this.#backoff.attempts;
      if (this.state.kind !== "reconnecting") this.#setState({ kind: "connecting", attempt });
      else if (!(await this.#rejoin())) return;
      const query = new URLSearchParams({ token: this.token });
      if (this.sessionId !== 0n) query.set("resume", this.sessionId.toString());
      const path = `/lobby/${encodeURIComponent(this.options.userId)}/${
        encodeURIComponent(this.options.meetingId)
      }?${query}`;
      let connection: Connection;
      try {
        connection = await connect({
          ...this.options.connect,
          origin: this.options.origin,
          path,
          transport: this.options.transport,
        });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (!(error instanceof ConnectError) || !this.#retry(reason)) return;
        await this.#sleepForRetry(reason);
        continue;
      }
      if (this.#leaving) {
        connection.close(1000, "left");
        return;
      }
      const info = await this.#run(connection);
      if (this.#leaving) return;
      const final = FINAL_CODES[info.code];
      if (final !== undefined) {
        this.#end(info.reason || final, info.code);
        return;
      }
      this.counters.reconnects++;
      const reason = info.reason || `connection lost (${info.code})`;
      if (!this.#retry(reason)) return;
      await this.#sleepForRetry(reason);
    }
  }

  /**
   * Before a reconnect: join through the API again, so a server that restarted (and forgot a
   * guest session's secret) or a meeting that ended or removed us is noticed with its reason.
   * False when the call is over.
   */
  async #rejoin(): Promise<boolean> {
    try {
      if (!this.options.token) await this.#signIn();
      await this.#joinMeeting();
      return !this.#leaving;
    } catch (error) {
      if (this.#leaving) return false;
      if (error instanceof JoinError && error.status >= 400 && error.status < 500) {
        this.#end(error.message, error.status === 410 ? 4410 : 4403, true);
        return false;
      }
      // Unreachable or a server error: the connection attempt will say more, and we retry.
      return true;
    }
  }

  #retry(reason: string): boolean {
    // Before the first connection, a few quick tries: the person is looking at a spinner.
    const max = this.sessionId === 0n ? 3 : this.options.maxReconnectAttempts ?? 12;
    if (this.#backoff.attempts >= max) {
      this.#end(`Cannot reach the meeting: ${reason}`, 1006, true);
      return false;
    }
    return true;
  }

  async #sleepForRetry(reason: string): Promise<void> {
    const inMs = this.#backoff.next();
    this.#setState({ kind: "reconnecting", attempt: this.#backoff.attempts, inMs, reason });
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, inMs);
      this.#timers.push(t);
      this.#wake = resolve;
    });
  }

  #end(reason: string, code: number, error = false): void {
    this.#stopTimers();
    clearTimeout(this.#rosterTimer);
    this.e2ee.close();
    this.#setState({ kind: "ended", reason, code, error });
    this.peers.clear();
    this.#events.peers?.([]);
  }

  /** Runs one connection until it closes. */
  async #run(connection: Connection): Promise<CloseInfo> {
    this.#connection = connection;
    let assigned = false;
    const opened = performance.now();
    connection.listen((bytes) => {
      this.counters.packetsIn++;
      this.counters.bytesIn += bytes.length;
      const wrapper = decodePacketWrapper(bytes);
      if (!wrapper.ok) return;
      const { packetType, data, sessionId, userId } = wrapper.value;
      if (packetType === PacketType.SESSION_ASSIGNED) {
        if (this.sessionId !== 0n && this.sessionId !== sessionId) {
          // A fresh session: whoever we knew may have changed; the server resends the roster.
          this.peers.clear();
          this.#events.peers?.([]);
        } else if (this.sessionId === sessionId) {
          // Resumed: the server lists everyone present again; who is not listed left meanwhile.
          this.#confirmRoster();
        }
        this.sessionId = sessionId;
        assigned = true;
        this.e2ee.connected(sessionId).catch(() => {});
        this.#setState(
          this.join?.status === "waiting"
            ? { kind: "waiting" }
            : { kind: "connected", transport: connection.kind },
        );
        this.sendHeartbeat();
        return;
      }
      if (!assigned) return;
      const seen = this.options.intercept?.(packetType, data, sessionId) ?? data;
      this.#onPacket(packetType, seen, sessionId, decoder.decode(userId));
    });
    this.#startTimers();
    const info = await connection.closed;
    this.#stopTimers();
    this.#connection = undefined;
    // A connection that lasted resets the backoff.
    if (assigned && performance.now() - opened > 5000) this.#backoff.reset();
    return info;
  }

  #startTimers(): void {
    this.#stopTimers();
    const hb = this.options.heartbeatMs ?? 1000;
    this.#timers.push(setInterval(() => this.sendHeartbeat(), hb));
    this.#timers.push(setInterval(() => this.#sendRtt(), 2000));
  }

  #stopTimers(): void {
    for (const t of this.#timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    this.#timers = [];
  }

  #onPacket(packetType: number, data: Uint8Array, sessionId: bigint, userId: string): void {
    switch (packetType) {
      case PacketType.MEETING:
        return this.#onMeeting(data);
      case PacketType.MEDIA: {
        const media = decodeMediaPacket(data);
        if (!media.ok) return;
        if (media.value.encrypted) {
          this.#decryptMedia(media.value, sessionId).then((plain) => {
            if (plain !== undefined) this.#onMedia(plain, sessionId, userId);
          });
          return;
        }
        // A meeting that requires E2EE has no clear content (the server refuses it; so do we).
        if (this.join?.e2eeRequired && CONTENT_TYPES.has(media.value.mediaType)) {
          return this.#failedToDecrypt(sessionId);
        }
        return this.#onMedia(media.value, sessionId, userId);
      }
      case PacketType.E2EE: {
        const packet = decodeE2eePacket(data);
        if (packet.ok) this.e2ee.received(sessionId, packet.value).catch(() => {});
        return;
      }
      case PacketType.CHAT: {
        const chat = decodeChatPacket(data);
        if (!chat.ok) return;
        if (chat.value.sealed !== undefined && chat.value.sealed.length > 0) {
          this.e2ee.decrypt(
            chatHeader(sessionId, chat.value.keyId ?? 0, chat.value.sentAtMs),
            new Uint8Array(chat.value.sealed),
            KEY_WAIT_MS,
          ).then((plain) => {
            const text = plain === undefined ? undefined : decoder.decode(plain);
            const newline = text?.indexOf("\n") ?? -1;
            // The id inside must be the id outside (no replay under another id).
            if (text === undefined || text.slice(0, newline) !== chat.value.messageId) {
              return this.#failedToDecrypt(sessionId);
            }
            const message = { ...chat.value, text: text.slice(newline + 1) };
            this.#onChat(message, sessionId, userId, true);
          });
          return;
        }
        // A meeting that requires E2EE has no clear chat (the server refuses it; so do we).
        if (this.join?.e2eeRequired) return this.#failedToDecrypt(sessionId);
        return this.#onChat(chat.value, sessionId, userId, false);
      }
      case PacketType.CONGESTION:
        if (sessionId === this.sessionId) this.#events.congestion?.();
        return;
    }
  }

  #onChat(chat: ChatPacket, sessionId: bigint, userId: string, encrypted: boolean): void {
    const key = `${sessionId}:${chat.messageId}`;
    if (this.#seenChat.has(key)) return;
    if (this.#seenChat.size >= 10_000) this.#seenChat.clear();
    this.#seenChat.add(key);
    const peer = this.peers.get(sessionId.toString());
    this.#events.chat?.({
      id: key,
      fromSessionId: sessionId.toString(),
      fromUserId: userId,
      fromName: peer?.displayName ?? userId,
      text: chat.text,
      sentAtMs: Number(chat.sentAtMs),
      mine: false,
      encrypted,
    });
  }

  async #decryptMedia(media: MediaPacket, sessionId: bigint): Promise<MediaPacket | undefined> {
    const header = mediaHeader(media, sessionId, media.keyId ?? 0);
    const plain = await this.e2ee.decrypt(header, new Uint8Array(media.data), KEY_WAIT_MS);
    if (plain === undefined) {
      // Sent before we joined, under a key we are not meant to have: dropped, not a failure.
      if (!this.e2ee.predates(header)) this.#failedToDecrypt(sessionId);
      return undefined;
    }
    if (media.mediaType === MediaType.HEARTBEAT) {
      const flags = decodeHeartbeatMetadata(plain);
      if (!flags.ok) return undefined;
      return { ...media, data: new Uint8Array(0), heartbeatMetadata: flags.value };
    }
    return { ...media, data: plain };
  }

  #failedToDecrypt(sessionId: bigint): void {
    const peer = this.peers.get(sessionId.toString());
    if (peer === undefined) return;
    peer.decryptFailures++;
    if (peer.decryptFailures === 1 || peer.decryptFailures % 50 === 0) {
      this.#events.peers?.(this.peerList());
    }
  }

  #onMeeting(data: Uint8Array): void {
    const decoded = decodeMeetingPacket(data);
    if (!decoded.ok) return;
    const m = decoded.value;
    const sessionId = m.sessionId.toString();
    const userId = decoder.decode(m.targetUserId);
    switch (m.eventType) {
      case MeetingEventType.PARTICIPANT_JOINED: {
        if (m.sessionId === this.sessionId || m.sessionId === 0n) return;
        const known = this.peers.get(sessionId);
        const displayName = decoder.decode(m.displayName) || userId;
        this.#unconfirmed.delete(sessionId);
        if (known) {
          known.displayName = displayName;
        } else {
          this.peers.set(sessionId, newPeer(sessionId, userId, displayName));
          this.#events.notice?.(`${displayName} joined`);
        }
        this.e2ee.memberJoined(m.sessionId);
        this.#events.peers?.(this.peerList());
        return;
      }
      case MeetingEventType.PARTICIPANT_LEFT:
        return this.#peerLeft(sessionId);
      case MeetingEventType.MEETING_STARTED:
        // A waiting session hears nothing until admitted, so this also means "you are in"
        // (an admission decided while we were connecting sends no PARTICIPANT_ADMITTED).
        if (this.join?.status === "waiting") this.#admitted();
        return;
      case MeetingEventType.PARTICIPANT_ADMITTED:
        if (userId === this.options.userId && this.join?.status === "waiting") this.#admitted();
        return;
      case MeetingEventType.WAITING_ROOM_UPDATED:
        this.#events.waitingRoom?.();
        return;
      case MeetingEventType.MEETING_ENDED:
        this.#events.notice?.("The meeting has ended");
        return;
    }
  }

  #peerLeft(sessionId: string): void {
    this.e2ee.left(BigInt(sessionId));
    const peer = this.peers.get(sessionId);
    if (!peer) return;
    this.peers.delete(sessionId);
    this.#events.notice?.(`${peer.displayName} left`);
    this.#events.peers?.(this.peerList());
  }

  // After a resume, peers the server does not list again within a moment left while we were away.
  #unconfirmed = new Set<string>();
  #rosterTimer: ReturnType<typeof setTimeout> | undefined;
  #confirmRoster(): void {
    this.#unconfirmed = new Set(this.peers.keys());
    clearTimeout(this.#rosterTimer);
    this.#rosterTimer = setTimeout(() => {
      for (const s of this.#unconfirmed) this.#peerLeft(s);
      this.#unconfirmed.clear();
    }, ROSTER_CONFIRM_MS);
  }

  #admitted(): void {
    this.join!.status = "admitted";
    // Nobody heard our identity while we waited.
    this.e2ee.announce();
    if (this.#connection) {
      this.#setState({ kind: "connected", transport: this.#connection.kind });
    }
    this.sendHeartbeat();
  }

  #onMedia(media: MediaPacket, sessionId: bigint, userId: string): void {
    if (media.mediaType === MediaType.RTT) {
      if (sessionId === this.sessionId || userId === this.options.userId) {
        this.rttMs = Math.max(0, Date.now() - media.timestamp);
        this.#events.rtt?.(this.rttMs);
      }
      return;
    }
    if (media.mediaType === MediaType.KEYFRAME_REQUEST) {
      this.#events.keyframeRequest?.(
        media.data[0] === MediaType.SCREEN ? MediaType.SCREEN : MediaType.VIDEO,
      );
      return;
    }
    const key = sessionId.toString();
    let peer = this.peers.get(key);
    if (peer === undefined) {
      // Media before the join notice (it travels another way): learn of them now.
      peer = newPeer(key, userId, userId);
      this.peers.set(key, peer);
      this.#events.peers?.(this.peerList());
    }
    if (
      media.mediaType !== MediaType.KEYFRAME_REQUEST &&
      peer.encrypted !== (media.encrypted === true)
    ) {
      peer.encrypted = media.encrypted === true;
      this.#events.peers?.(this.peerList());
    }
    if (media.mediaType === MediaType.HEARTBEAT) {
      const hb = media.heartbeatMetadata;
      if (!hb) return;
      const changed = peer.video !== hb.videoEnabled || peer.audio !== hb.audioEnabled ||
        peer.screen !== hb.screenEnabled || peer.speaking !== hb.isSpeaking;
      peer.video = hb.videoEnabled;
      peer.audio = hb.audioEnabled;
      peer.screen = hb.screenEnabled;
      peer.speaking = hb.isSpeaking;
      if (changed) this.#events.peers?.(this.peerList());
      return;
    }
    // Video arriving means the camera (or screen) is on, even before their next heartbeat says so.
    if (media.mediaType === MediaType.VIDEO && !peer.video) {
      peer.video = true;
      this.#events.peers?.(this.peerList());
    } else if (media.mediaType === MediaType.SCREEN && !peer.screen) {
      peer.screen = true;
      this.#events.peers?.(this.peerList());
    }
    this.#events.media?.(peer, media);
  }

  /** Everyone else, in order of arrival. */
  peerList(): Peer[] {
    return [...this.peers.values()].sort((a, b) => a.joinedAtMs - b.joinedAtMs);
  }

  #send(packetType: number, data: Uint8Array, unreliable = false): boolean {
    const connection = this.#connection;
    if (connection === undefined || this.sessionId === 0n) return false;
    const bytes = encodePacketWrapper({
      packetType,
      userId: this.#userIdBytes,
      data,
      sessionId: this.sessionId,
    });
    if (unreliable) connection.sendUnreliable(bytes);
    else connection.send(bytes);
    this.counters.packetsOut++;
    this.counters.bytesOut += bytes.length;
    return true;
  }

  /** Packets (WebTransport) or bytes (WebSocket) not yet written; senders skip frames when high. */
  backlog(): number {
    return this.#connection?.backlog() ?? 0;
  }

  /**
   * Sends a media packet (user id filled in), encrypted when E2EE is on (then it leaves a
   * moment later). False when not connected.
   */
  sendMedia(media: Omit<MediaPacket, "userId">): boolean {
    if (this.#connection === undefined || this.sessionId === 0n) return false;
    if (this.e2eeOn && CONTENT_TYPES.has(media.mediaType)) {
      const plain = media.mediaType === MediaType.HEARTBEAT
        ? encodeHeartbeatMetadata(media.heartbeatMetadata!)
        : media.data;
      const sealing = this.e2ee.encrypt(
        headerFields(media),
        new Uint8Array(plain),
        this.sessionId,
      );
      if (sealing === undefined) return false;
      if (plain.length >= 48) {
        this.sealedSamples.push(plain.slice(0, 48));
        if (this.sealedSamples.length > 32) this.sealedSamples.shift();
      }
      sealing.then(({ keyId, payload }) => {
        this.#send(
          PacketType.MEDIA,
          encodeMediaPacket({
            ...media,
            heartbeatMetadata: undefined,
            data: payload,
            encrypted: true,
            keyId,
            userId: this.#userIdBytes,
          }),
        );
      }, () => {});
      return true;
    }
    return this.#send(
      PacketType.MEDIA,
      encodeMediaPacket({ ...media, userId: this.#userIdBytes }),
    );
  }

  /** Sends our flags now (also called every second). */
  sendHeartbeat(): void {
    this.#lastHeartbeatMs = Date.now();
    this.sendMedia({
      mediaType: MediaType.HEARTBEAT,
      data: new Uint8Array(0),
      frameType: "",
      timestamp: this.#lastHeartbeatMs,
      duration: 0,
      heartbeatMetadata: { ...this.local },
    });
  }

  /** Changes our flags and tells everyone at once. */
  setLocal(flags: Partial<HeartbeatMetadata>): void {
    Object.assign(this.local, flags);
    this.sendHeartbeat();
  }

  // RTT probes go as datagrams where there are any: a lost probe costs nothing, and a stream
  // would measure stream set-up as well as the network.
  #sendRtt(): void {
    this.#send(
      PacketType.MEDIA,
      encodeMediaPacket({
        mediaType: MediaType.RTT,
        userId: this.#userIdBytes,
        data: new Uint8Array(0),
        frameType: "",
        timestamp: Date.now(),
        duration: 0,
      }),
      true,
    );
  }

  /**
   * Asks `peer` for a key frame of `mediaType` (VIDEO or SCREEN). The relay delivers it to the
   * sessions of the user named in the packet only; `data` is one byte, the media type wanted.
   */
  requestKeyframe(peer: Peer, mediaType: number): void {
    this.#send(
      PacketType.MEDIA,
      encodeMediaPacket({
        mediaType: MediaType.KEYFRAME_REQUEST,
        userId: encoder.encode(peer.userId),
        data: new Uint8Array([mediaType]),
        frameType: "",
        timestamp: Date.now(),
        duration: 0,
      }),
    );
  }

  /** Sends a chat message; returns it (for the sender's own list), or undefined if not sent. */
  sendChat(text: string): ChatMessage | undefined {
    const trimmed = text.trim().slice(0, MAX_CHAT_TEXT_LENGTH);
    if (trimmed.length === 0) return undefined;
    const id = `${Date.now().toString(36)}-${++this.#chatSeq}`;
    const sentAtMs = Date.now();
    if (this.#connection === undefined || this.sessionId === 0n) return undefined;
    if (this.e2eeOn) {
      // The id travels inside the ciphertext and the time is bound as the sequence: a relay
      // can neither replay a message under a new id nor change when it was sent.
      const sealing = this.e2ee.encrypt(
        { mediaType: CHAT_MEDIA_TYPE, sequence: BigInt(sentAtMs), key: false },
        encoder.encode(`${id}\n${trimmed}`),
        this.sessionId,
      );
      if (sealing === undefined) return undefined;
      sealing.then(({ keyId, payload }) => {
        this.#send(
          PacketType.CHAT,
          encodeChatPacket({
            messageId: id,
            text: "",
            sentAtMs: BigInt(sentAtMs),
            sealed: payload,
            keyId,
          }),
        );
      }, () => {});
    } else {
      this.#send(
        PacketType.CHAT,
        encodeChatPacket({ messageId: id, text: trimmed, sentAtMs: BigInt(sentAtMs) }),
      );
    }
    return {
      id: `${this.sessionId}:${id}`,
      fromSessionId: this.sessionId.toString(),
      fromUserId: this.options.userId,
      fromName: this.options.displayName,
      text: trimmed,
      sentAtMs,
      mine: true,
      encrypted: this.e2eeOn,
    };
  }

  /**
   * Leaves: tells the meeting API (so every server closes our connections at once), then closes.
   * `keepalive` lets the request outlive a closing page.
   */
  async leave(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#stopTimers();
    this.#wake?.();
    const request = this.token ? this.#postLeave() : Promise.resolve();
    this.#connection?.close(1000, "left");
    await request;
    if (this.state.kind !== "ended") this.#end("You left the meeting", 1000);
  }

  async #postLeave(): Promise<void> {
    await fetch(
      `${this.options.origin}/api/v1/meetings/${encodeURIComponent(this.options.meetingId)}/leave`,
      {
        method: "POST",
        keepalive: true,
        headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
      },
    ).then((r) => r.body?.cancel()).catch(() => {});
  }

  /** Drops the connection without leaving (a test of reconnecting, or going offline). */
  dropConnection(): void {
    this.#connection?.close(4000, "dropped by the client");
  }
}

/** Media types whose content is encrypted when E2EE is on (RTT and key-frame requests are not). */
const CONTENT_TYPES = new Set<number>([
  MediaType.VIDEO,
  MediaType.AUDIO,
  MediaType.SCREEN,
  MediaType.HEARTBEAT,
]);

/** How long a frame may wait for its sender's key (a join or rekey in progress), in ms. */
const KEY_WAIT_MS = 4000;

/** The media type a sealed chat message is bound to (not a wire media type). */
const CHAT_MEDIA_TYPE = 0xff;

function headerFields(media: Omit<MediaPacket, "userId">) {
  return {
    mediaType: media.mediaType,
    sequence: media.videoMetadata?.sequence ?? media.audioMetadata?.sequence ?? 0n,
    key: media.frameType === "key",
  };
}

function mediaHeader(media: MediaPacket, senderSession: bigint, keyId: number) {
  return { ...headerFields(media), senderSession, keyId };
}

function chatHeader(senderSession: bigint, keyId: number, sentAtMs: bigint) {
  return { mediaType: CHAT_MEDIA_TYPE, sequence: sentAtMs, key: false, senderSession, keyId };
}

/** After a resume, how long the server has to list everyone present again. */
const ROSTER_CONFIRM_MS = 1500;
