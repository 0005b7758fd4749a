/**
 * A participant's side of a meeting — the client library's main object. {@linkcode Room.join}
 * signs in (a guest session on open servers, or the given token), joins through the meetings
 * API, connects (WebTransport first, WebSocket as fallback) and keeps the connection: the roster
 * from the server's MEETING packets and everyone's heartbeats, our heartbeats and RTT probes,
 * chat, end-to-end encryption, key-frame requests, and reconnecting into the same session after
 * a drop. Media devices are not its business: publish encoded media with {@linkcode Room.publish}
 * and receive everyone's through the `media` event.
 *
 * Runs in browsers and in Deno.
 *
 * @example
 * ```ts ignore
 * import { Room } from "./room.ts";
 *
 * const room = await Room.join({ url: "http://localhost:8080", userId: "ada", meetingId: "standup" });
 * room.on("participantJoined", (p) => console.log(`${p.displayName} joined`));
 * room.on("chat", (m) => console.log(`${m.fromName}: ${m.text}`));
 * room.sendChat("Hello");
 * await room.leave();
 * ```
 *
 * @module
 */
import {
  encodeChatPacket,
  encodeE2eePacket,
  encodeMediaPacket,
  encodePacketWrapper,
} from "../protocol/codec.ts";
import { decodePacketWrapper } from "../protocol/codec.ts";
import {
  type ChatPacket,
  type HeartbeatMetadata,
  MediaKind,
  MediaType,
  PacketType,
  type PacketWrapper,
} from "../protocol/packets.ts";
import { CloseCode, Refusal } from "../protocol/close_codes.ts";
import { JoinError, MeetingsApi } from "./api.ts";
import { type ChatMessage, clearChatPacket, composeChat } from "./chat.ts";
import { ConnectionLoop, type RoomState } from "./connection.ts";
import { type OutgoingMedia, RoomEncryption } from "./encryption.ts";
import { Emitter } from "./events.ts";
import { Heartbeats } from "./heartbeat.ts";
import { Inbound } from "./inbound.ts";
import type { Participant } from "./participant.ts";
import { Roster } from "./roster.ts";
import { chooseServer, httpOrigin } from "./pool.ts";
import type { ActiveSpeakers, RoomEvents } from "./room_events.ts";
import { type LayerPreference, MAX_LAYER, Selection } from "./selection.ts";
import type { JoinInfo, RoomOptions } from "./room_options.ts";
import type { CloseInfo, Connection, Lane } from "./transport.ts";
import { upstreamTrack } from "../protocol/wt_groups.ts";

const decoder = new TextDecoder();

export type { JoinInfo, RoomEvents, RoomOptions };

/** How a media packet is labelled in the clear, for the relay's selective forwarding. */
export interface PublishOptions {
  /** The simulcast layer: 0 (the default) is the base layer, at most 7. */
  layer?: number;
  /**
   * An audio packet's level in -dBov, as RFC 6464: 0 is the loudest, 127 silence. The relay
   * ranks speakers by it; audio without a level is never ranked, and always forwarded.
   */
  audioLevel?: number;
}

/** The clear media kind of each media type that has one. */
const MEDIA_KIND: Record<number, number | undefined> = {
  [MediaType.VIDEO]: MediaKind.VIDEO,
  [MediaType.AUDIO]: MediaKind.AUDIO,
  [MediaType.SCREEN]: MediaKind.SCREEN,
};

/** The clear wrapper fields of an outgoing packet. */
type ClearFields = Pick<PacketWrapper, "simulcastLayerId" | "mediaKind" | "audioLevel">;

/** One participant's connection to a meeting. */
export class Room extends Emitter<RoomEvents> {
  readonly options: Readonly<RoomOptions>;
  /** The meetings API, as this participant (host controls use it). */
  readonly api: MeetingsApi;
  readonly encryption: RoomEncryption;
  /** Our own flags, sent in every heartbeat. */
  readonly local: HeartbeatMetadata = {
    videoEnabled: false,
    audioEnabled: false,
    screenEnabled: false,
    isSpeaking: false,
  };
  /** Packets received and sent, for diagnostics. */
  readonly counters = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  /** Our session id (0 before the server assigned one). */
  sessionId = 0n;
  state: RoomState = { kind: "connecting", attempt: 0 };
  /** What the join said; undefined before it. */
  joinInfo: JoinInfo | undefined;
  /** The last measured round trip to the server, in ms. */
  rttMs: number | undefined;
  /** Who speaks, as the relay last ranked it. */
  activeSpeakers: ActiveSpeakers = { speakers: [], dominant: undefined };
  /** How many are in the meeting, us included (undefined until the server said). */
  participantCount: number | undefined;
  /** Resolves with the final state when the call is over. */
  readonly done: Promise<Extract<RoomState, { kind: "ended" }>>;

  readonly #roster: Roster;
  readonly #loop: ConnectionLoop;
  readonly #heartbeats: Heartbeats;
  readonly #inbound: Inbound;
  readonly #selection: Selection;
  readonly #userIdBytes: Uint8Array;
  readonly #displayName: string;
  readonly #resolveDone: (state: Extract<RoomState, { kind: "ended" }>) => void;
  #connection: Connection | undefined;
  #leaving = false;
  #chatSeq = 0;

  /** Joins and connects; resolves once connected (or waiting to be admitted). */
  static async join(options: RoomOptions): Promise<Room> {
    const room = new Room(options);
    await room.connect();
    return room;
  }

  /** A room not yet joined: add listeners, then {@linkcode connect}. */
  constructor(options: RoomOptions) {
    super();
    this.options = options;
    this.#displayName = options.displayName || options.userId;
    this.#userIdBytes = new TextEncoder().encode(options.userId);
    this.api = new MeetingsApi(httpOrigin(options.url), options.token);
    const done = Promise.withResolvers<Extract<RoomState, { kind: "ended" }>>();
    this.done = done.promise;
    this.#resolveDone = done.resolve;
    this.#heartbeats = new Heartbeats(options.heartbeatMs);
    this.#roster = new Roster({
      joined: (p) => {
        this.encryption.session.memberJoined(BigInt(p.sessionId));
        this.emit("participantJoined", p);
      },
      left: (p, announced) => {
        if (announced) this.encryption.session.left(BigInt(p.sessionId));
        this.#inbound.forget(p.sessionId);
        this.emit("participantLeft", p, announced);
      },
      updated: (p) => this.emit("participantUpdated", p),
    });
    this.encryption = new RoomEncryption(options.e2ee === true, {
      send: (packet) => this.#send(PacketType.E2EE, encodeE2eePacket(packet)),
      isMember: (session) => this.#roster.get(session.toString()) !== undefined,
      changed: () => this.emit("encryption"),
      newKey: () => {
        if (this.encryption.enabled) this.emit("newKey");
      },
      keyChanged: (session) => this.emit("keyChanged", this.#roster.get(session.toString())),
    });
    this.#inbound = new Inbound({
      userId: options.userId,
      roster: this.#roster,
      encryption: this.encryption,
      sessionId: () => this.sessionId,
      waiting: () => this.joinInfo?.status === "waiting",
      admitted: () => this.#admitted(),
      rtt: (ms) => {
        this.rttMs = ms;
        this.emit("rtt", ms);
      },
      speakers: (speakers) => {
        this.activeSpeakers = speakers;
        this.emit("activeSpeakers", speakers);
      },
      count: (n) => {
        if (n === this.participantCount) return;
        this.participantCount = n;
        this.emit("participantCount", n);
      },
      emit: (event, ...args) => this.emit(event, ...args),
    });
    this.#selection = new Selection((type, data) => this.#send(type, data));
    this.#loop = new ConnectionLoop({
      connect: () => ({
        origin: this.api.origin,
        transport: options.transport,
        trustAdvertisedCertificate: options.trustAdvertisedCertificate,
        grouped: options.groupedFraming,
        webSocket: options.webSocket,
      }),
      maxReconnectAttempts: options.maxReconnectAttempts,
      path: () => this.#mediaPath(),
      hasSession: () => this.sessionId !== 0n,
      rejoin: () => this.#rejoin(),
      run: (connection) => this.#run(connection),
      setState: (state) => this.#setState(state),
      end: (reason, code, error) => this.#end(reason, code, error),
    });
  }

  /** Everyone else, by session id. */
  get participants(): ReadonlyMap<string, Participant> {
    return this.#roster.map;
  }

  /** Everyone else, in order of arrival. */
  participantList(): Participant[] {
    return this.#roster.list();
  }

  /** The transport in use, if connected. */
  get transport(): "webtransport" | "websocket" | undefined {
    return this.#connection?.kind;
  }

  /** Whether the connection is open (in the call, or waiting to be admitted). */
  get connected(): boolean {
    return this.state.kind === "connected" || this.state.kind === "waiting";
  }

  /** Connections lost and reconnected (or tried). */
  get reconnects(): number {
    return this.#loop.reconnects;
  }

  /**
   * Signs in, joins through the API and connects; resolves once connected (or waiting to be
   * admitted). Rejects with a {@linkcode JoinError}: the API's refusal (locked, ended, removed,
   * wrong password…), or `connect_failed` when no transport connected.
   */
  async connect(): Promise<void> {
    const first = new Promise<void>((resolve, reject) => {
      const off = this.on("state", (state) => {
        if (state.kind === "connected" || state.kind === "waiting") {
          off();
          resolve();
        } else if (state.kind === "ended") {
          off();
          reject(new JoinError(0, "connect_failed", state.reason));
        }
      });
    });
    first.catch(() => {});
    if (this.options.pickServer) await this.#pickServer();
    if (!this.options.token) await this.api.signIn(this.options.userId, this.#displayName);
    if (this.#leaving) return;
    if (this.options.createE2eeRequired) await this.#createEncrypted();
    await this.#joinMeeting();
    // Left while the join was on its way: the leave went first, so leave again after it.
    if (this.#leaving) return void await this.api.leave(this.options.meetingId);
    this.#loop.run().catch((error) => this.#end(`Connection failed: ${error}`, 1011, true));
    await first;
  }

  // Points the API (and so the next connection) at the pool's best instance (lib/client/pool.ts);
  // keeps the current server when the pool lists none, none answers, or the listing is garbled.
  async #pickServer(): Promise<void> {
    const listing = () => this.api.servers().catch(() => []);
    let candidates = await listing();
    // The instance chosen before may be gone: ask where the room was pointed at first.
    const first = httpOrigin(this.options.url);
    if (candidates.length === 0 && this.api.origin !== first) {
      this.api.origin = first;
      candidates = await listing();
    }
    const best = await chooseServer(candidates, { current: this.api.origin });
    if (best === undefined || best === this.api.origin) return;
    this.api.origin = best;
    this.emit("serverChosen", best);
  }

  async #createEncrypted(): Promise<void> {
    try {
      await this.api.createMeeting(this.options.meetingId, { e2eeRequired: true });
    } catch (error) {
      // It exists already: join it as it is (the join says whether it requires E2EE).
      if (!(error instanceof JoinError) || error.status !== 409) throw error;
    }
  }

  async #joinMeeting(): Promise<void> {
    const joined = await this.api.join(this.options.meetingId, {
      displayName: this.#displayName,
      password: this.options.password,
    });
    this.joinInfo = {
      status: joined.participant.status === "waiting" ? "waiting" : "admitted",
      role: joined.participant.role,
      hostUserId: joined.meeting.hostUserId,
      locked: joined.meeting.locked,
      waitingRoomEnabled: joined.meeting.waitingRoomEnabled,
      e2eeRequired: joined.meeting.e2eeRequired,
    };
    if (this.joinInfo.e2eeRequired) {
      this.encryption.required = true;
      this.encryption.enabled = true;
    }
  }

  /** Before a reconnect: sign in and join again; false when the call is over. */
  async #rejoin(): Promise<boolean> {
    try {
      // The server we were on may be draining or gone: choose again from the pool.
      if (this.options.pickServer) await this.#pickServer();
      // Keep the guest session: the identity in the meeting is bound to it. A new one is only
      // taken when the old one is refused (expired, or the server's secret changed).
      if (!this.options.token && !this.api.token) {
        await this.api.signIn(this.options.userId, this.#displayName);
      }
      try {
        await this.#joinMeeting();
      } catch (error) {
        if (this.options.token || !(error instanceof JoinError) || error.status !== 401) {
          throw error;
        }
        await this.api.signIn(this.options.userId, this.#displayName);
        await this.#joinMeeting();
      }
      return !this.#leaving;
    } catch (error) {
      if (this.#leaving) return false;
      if (error instanceof JoinError && error.status >= 400 && error.status < 500) {
        const code = error.status === 410 ? CloseCode.MEETING_ENDED : CloseCode.FORBIDDEN;
        this.#end(error.message, code, true);
        return false;
      }
      // Unreachable or a server error: the connection attempt will say more, and we retry.
      return true;
    }
  }

  #mediaPath(): string {
    const query = new URLSearchParams({ token: this.api.token });
    if (this.sessionId !== 0n) query.set("resume", this.sessionId.toString());
    const user = encodeURIComponent(this.options.userId);
    return `/lobby/${user}/${encodeURIComponent(this.options.meetingId)}?${query}`;
  }

  #setState(state: RoomState): void {
    const was = this.state.kind;
    this.state = state;
    this.emit("state", state);
    if (state.kind === "reconnecting") {
      const { attempt, inMs, reason } = state;
      this.emit("reconnecting", { attempt, inMs, reason });
    } else if (state.kind === "connected" && was === "reconnecting") {
      this.emit("reconnected");
    }
  }

  #end(reason: string, code: number, error: boolean): void {
    if (this.state.kind === "ended") return;
    this.#heartbeats.stop();
    this.#selection.close();
    this.encryption.close();
    const ended = { kind: "ended" as const, reason, code, error };
    this.#setState(ended);
    this.#roster.clear();
    this.#roster.close();
    this.emit("ended", { reason, code, error });
    this.#resolveDone(ended);
  }

  /** Runs one connection until it closes. */
  async #run(connection: Connection): Promise<{ info: CloseInfo; assigned: boolean }> {
    this.#connection = connection;
    let assigned = false;
    connection.listen((bytes) => {
      this.counters.packetsIn++;
      this.counters.bytesIn += bytes.length;
      const wrapper = decodePacketWrapper(bytes);
      if (!wrapper.ok) return;
      const { packetType, data, sessionId, userId, simulcastLayerId, audioLevel } = wrapper.value;
      if (packetType === PacketType.SESSION_ASSIGNED) {
        assigned = true;
        return this.#onAssigned(sessionId, connection);
      }
      if (!assigned) return;
      this.#inbound.packet(packetType, data, sessionId, decoder.decode(userId), {
        layer: simulcastLayerId ?? 0,
        audioLevel: audioLevel === undefined || audioLevel === 0 ? undefined : audioLevel - 1,
      });
    });
    this.#heartbeats.start(() => this.sendHeartbeat(), () => this.#sendRttProbe());
    const info = await connection.closed;
    this.#heartbeats.stop();
    this.#connection = undefined;
    return { info, assigned };
  }

  #onAssigned(sessionId: bigint, connection: Connection): void {
    if (this.sessionId !== 0n && this.sessionId !== sessionId) {
      // A fresh session: whoever we knew may have changed; the server resends the roster.
      this.#roster.clear();
    } else if (this.sessionId === sessionId) {
      // Resumed: the server lists everyone present again; who is not listed left meanwhile.
      this.#roster.confirmAfterResume();
    }
    this.sessionId = sessionId;
    this.encryption.session.connected(sessionId).catch(() => {});
    this.#setState(
      this.joinInfo?.status === "waiting"
        ? { kind: "waiting" }
        : { kind: "connected", transport: connection.kind },
    );
    this.sendHeartbeat();
    // The relay forgot our viewport and layer wishes with the old connection.
    this.#selection.resend();
  }

  #admitted(): void {
    this.joinInfo!.status = "admitted";
    // Nobody heard our identity while we waited.
    this.encryption.session.announce();
    if (this.#connection) {
      this.#setState({ kind: "connected", transport: this.#connection.kind });
    }
    this.emit("admitted");
    this.sendHeartbeat();
  }

  #send(
    packetType: number,
    data: Uint8Array,
    unreliable = false,
    clear: ClearFields = {},
    lane?: Lane,
  ): boolean {
    const connection = this.#connection;
    if (connection === undefined || this.sessionId === 0n) return false;
    const bytes = encodePacketWrapper({
      packetType,
      userId: this.#userIdBytes,
      data,
      sessionId: this.sessionId,
      ...clear,
    });
    if (unreliable) connection.sendUnreliable(bytes);
    else connection.send(bytes, lane);
    this.counters.packetsOut++;
    this.counters.bytesOut += bytes.length;
    return true;
  }

  /** Bytes handed to the transport and not yet written; senders skip frames when it is high. */
  backlog(): number {
    return this.#connection?.backlog() ?? 0;
  }

  /**
   * Sends a media packet (our user id filled in), encrypted when E2EE is on (then it leaves a
   * moment later), labelled in the clear with its kind, simulcast layer and audio level so the
   * relay can forward selectively. False when not connected, or when encryption has no key yet.
   * Throws a RangeError for a layer that is not a whole number from 0 to 7.
   */
  publish(media: OutgoingMedia, options: PublishOptions = {}): boolean {
    const layer = options.layer ?? 0;
    if (!Number.isInteger(layer) || layer < 0 || layer > MAX_LAYER) {
      throw new RangeError(`A simulcast layer is a whole number from 0 to ${MAX_LAYER}`);
    }
    if (this.#connection === undefined || this.sessionId === 0n) return false;
    const level = options.audioLevel;
    const clear: ClearFields = {
      simulcastLayerId: layer,
      mediaKind: MEDIA_KIND[media.mediaType],
      audioLevel: media.mediaType === MediaType.AUDIO && level !== undefined && level >= 0
        ? Math.min(127, Math.round(level)) + 1
        : undefined,
    };
    // Video on its track's grouped stream, a key frame starting a new group; audio and
    // heartbeats as datagrams where the transport has them (a late one is worth nothing).
    const video = media.mediaType === MediaType.VIDEO || media.mediaType === MediaType.SCREEN;
    const lane: Lane | undefined = video
      ? { track: upstreamTrack(clear.mediaKind!, layer), startsGroup: media.frameType === "key" }
      : undefined;
    const unreliable = media.mediaType === MediaType.AUDIO ||
      media.mediaType === MediaType.HEARTBEAT;
    const wrap = (m: OutgoingMedia) =>
      this.#send(
        PacketType.MEDIA,
        encodeMediaPacket({ ...m, userId: this.#userIdBytes }),
        unreliable,
        clear,
        lane,
      );
    if (!this.encryption.seals(media)) return wrap(media);
    const sealing = this.encryption.sealMedia(media, this.sessionId, layer);
    if (sealing === undefined) return false;
    sealing.then(wrap, () => {});
    return true;
  }

  /** Sends our flags now (also done every second). */
  sendHeartbeat(): void {
    this.publish({
      mediaType: MediaType.HEARTBEAT,
      data: new Uint8Array(0),
      frameType: "",
      timestamp: Date.now(),
      duration: 0,
      heartbeatMetadata: { ...this.local },
    });
  }

  /** Changes our flags and tells everyone at once. */
  setLocalFlags(flags: Partial<HeartbeatMetadata>): void {
    Object.assign(this.local, flags);
    this.sendHeartbeat();
  }

  #sendRttProbe(): void {
    const probe = encodeMediaPacket({
      mediaType: MediaType.RTT,
      userId: this.#userIdBytes,
      data: new Uint8Array(0),
      frameType: "",
      timestamp: Date.now(),
      duration: 0,
    });
    this.#send(PacketType.MEDIA, probe, true);
  }

  /**
   * The sessions whose camera we show (the relay forwards only theirs; audio and screens always
   * come). `undefined` asks for everyone's. Sent at most every 400 ms, the newest wins, and again
   * after every reconnect.
   */
  setViewport(sessionIds: Iterable<string> | undefined): void {
    this.#selection.setViewport(sessionIds);
  }

  /**
   * The simulcast layer we want of each source (at most that one; the base layer always comes;
   * `Infinity` asks for the best there is). Sources not named get every layer. Sent like
   * {@linkcode setViewport}.
   */
  setLayerPreferences(preferences: readonly LayerPreference[]): void {
    this.#selection.setLayers(preferences);
  }

  /**
   * Asks `participant` for a key frame of `mediaType` (VIDEO or SCREEN), of simulcast `layer`.
   * As videocall-rs does it: the user id and session of the sender wanted, `data` the kind as
   * text ("VIDEO" or "SCREEN"), the layer on the envelope. The relay delivers it to that session
   * only.
   */
  requestKeyframe(participant: Participant, mediaType: number, layer = 0): void {
    this.#send(
      PacketType.MEDIA,
      encodeMediaPacket({
        mediaType: MediaType.KEYFRAME_REQUEST,
        userId: new TextEncoder().encode(participant.userId),
        data: KEYFRAME_KIND_TEXT[mediaType === MediaType.SCREEN ? "screen" : "video"],
        frameType: "",
        timestamp: Date.now(),
        duration: 0,
        targetSessionId: BigInt(participant.sessionId),
      }),
      false,
      { simulcastLayerId: layer },
    );
  }

  /** Sends a chat message; returns it (for the sender's own list), or undefined if not sent. */
  sendChat(text: string): ChatMessage | undefined {
    const draft = composeChat(text, ++this.#chatSeq);
    if (draft === undefined || this.#connection === undefined || this.sessionId === 0n) {
      return undefined;
    }
    const send = (packet: ChatPacket) => this.#send(PacketType.CHAT, encodeChatPacket(packet));
    if (this.encryption.enabled) {
      const sealing = this.encryption.sealChat(
        draft.id,
        draft.text,
        draft.sentAtMs,
        this.sessionId,
      );
      if (sealing === undefined) return undefined;
      sealing.then(send, () => {});
    } else {
      send(clearChatPacket(draft));
    }
    return {
      id: `${this.sessionId}:${draft.id}`,
      fromSessionId: this.sessionId.toString(),
      fromUserId: this.options.userId,
      fromName: this.#displayName,
      text: draft.text,
      sentAtMs: draft.sentAtMs,
      mine: true,
      encrypted: this.encryption.enabled,
    };
  }

  /**
   * Leaves: tells the meetings API (so every server closes our connections at once), then
   * closes. Safe to call more than once, and before the join finished.
   */
  async leave(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#loop.stop();
    this.#heartbeats.stop();
    const request = this.api.token ? this.api.leave(this.options.meetingId) : Promise.resolve();
    this.#connection?.close(CloseCode.NORMAL, "left");
    await request;
    this.#end(Refusal.LEFT, CloseCode.NORMAL, false);
  }
}

const KEYFRAME_KIND_TEXT = {
  video: new TextEncoder().encode("VIDEO"),
  screen: new TextEncoder().encode("SCREEN"),
};
