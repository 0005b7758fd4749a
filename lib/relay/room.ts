/**
 * One room on one instance: its local sessions, its single bus subscription, the cluster-wide
 * roster, and fan-out. Packets from a local session are stamped once, delivered to the other
 * local sessions, and published once on the bus for the other instances.
 *
 * Sessions survive their connection for the leave grace: a client that comes back with
 * `?resume=<session id>` keeps its id, here or on another instance, which then takes the roster
 * entry over (a `join` with one more move) without a leave or join packet to anyone. The
 * participants of an instance that died get the same grace before their leave is announced.
 * docs/ARCHITECTURE.md, "Presence across instances", tells the whole story.
 *
 * @module
 */
import { encodeMeetingPacket } from "../protocol/codec.ts";
import { SYSTEM_USER_ID } from "../protocol/limits.ts";
import { MediaType, MeetingEventType, PacketType } from "../protocol/packets.ts";
import { encodeIdentity, encodeStampedPacket } from "../protocol/wire.ts";
import {
  type Bus,
  type BusSubscription,
  layersSubject,
  participantSubject,
  roomWildcard,
  systemSubject,
} from "./bus.ts";
import {
  BUS_HEADER_BYTES,
  type MediaInfo,
  NO_MEDIA,
  readBusFrame,
  writeBusHeader,
} from "./bus_frame.ts";
import type { RelayLimits } from "./limits.ts";
import type { Logger } from "../log.ts";
import type { RelayMetrics } from "./metrics.ts";
import { classify, classifySealed, PacketClass } from "./packet_class.ts";
import { encodePresence, parsePresence, type Participant, Roster, supersedes } from "./presence.ts";
import type { InboundPacket, Session } from "./session.ts";
import { type ControlEvent, parseControl } from "./control.ts";
import { mediaKindOf, RoomMedia } from "./room_media.ts";
import { CloseCode, Refusal } from "../protocol/close_codes.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SYSTEM_IDENTITY = encodeIdentity(SYSTEM_USER_ID, 0n);

/** What a room needs from the relay that owns it. */
export interface RoomContext {
  instanceId: string;
  bus: Bus;
  limits: RelayLimits;
  metrics: RelayMetrics;
  log: Logger;
  now: () => number;
  /** Called when the room has no local sessions and no pending leaves. */
  onEmpty(room: Room): void;
}

interface CongestionState {
  windowStartMs: number;
  drops: number;
  lastNoticeMs: number;
}

/** A room as seen by one instance. */
export class Room {
  readonly id: string;
  readonly roster: Roster;
  /** When this instance opened the room (its roster fills from the others' answers after). */
  readonly openedMs: number;
  readonly #ctx: RoomContext;
  readonly #local = new Map<bigint, Session>();
  readonly #pendingLeaves = new Map<
    bigint,
    { participant: Participant; timer: ReturnType<typeof setTimeout> }
  >();
  /** Participants of instances that died, waiting out the leave grace (they may resume). */
  readonly #orphans = new Map<bigint, ReturnType<typeof setTimeout>>();
  readonly #congestion = new Map<bigint, CongestionState>();
  readonly #subscription: BusSubscription;
  readonly #media: RoomMedia;
  #startedMs: number;
  /** The participant count last told to local sessions, and whether a newer one is due. */
  #countSent = -1;
  #countTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, ctx: RoomContext) {
    this.id = id;
    this.#ctx = ctx;
    this.roster = new Roster(ctx.instanceId);
    this.#startedMs = ctx.now();
    this.openedMs = this.#startedMs;
    this.#media = new RoomMedia({
      instanceId: ctx.instanceId,
      limits: ctx.limits,
      metrics: ctx.metrics,
      now: ctx.now,
      local: this.#local,
      large: () => this.large,
      announced: (session) => this.roster.get(session)?.announced !== false,
      member: (session) => this.roster.get(session) !== undefined,
      publishReport: (bytes) => ctx.bus.publish(layersSubject(id), bytes),
      systemPacket: (type, data) => encodeStampedPacket(0, type, SYSTEM_IDENTITY, data),
      packetFor: (session, type, data) => encodeStampedPacket(0, type, session.identity, data),
    });
    this.#subscription = ctx.bus.subscribe(roomWildcard(id), (subject, data) => {
      try {
        this.#onBus(subject, data);
      } catch (error) {
        ctx.log.error("bus_message_failed", { room: id, subject, error: String(error) });
      }
    });
    this.requestSync();
  }

  /** Sessions connected to this instance. */
  get localCount(): number {
    return this.#local.size;
  }

  /** Whether nothing keeps this room open on this instance. */
  get idle(): boolean {
    return this.#local.size === 0 && this.#pendingLeaves.size === 0;
  }

  /**
   * Whether the meeting is large (more participants than `largeMeetingParticipants`): then only
   * publishers are announced one by one, receivers hear only the loudest speakers, and heartbeats
   * go only to those who show the sender's tile.
   */
  get large(): boolean {
    return this.roster.size > this.#ctx.limits.largeMeetingParticipants;
  }

  /** Asks every other instance for its roster of this room. */
  requestSync(): void {
    this.#publishPresence({ t: "sync", i: this.#ctx.instanceId });
  }

  /**
   * Adds a local session: it gets MEETING_STARTED and a PARTICIPANT_JOINED for everyone already
   * present. If it resumes a session id whose leave is pending, it takes that place silently.
   */
  addLocal(session: Session): void {
    this.#local.set(session.id, session);
    this.#media.addReceiver(session.id);
    // A waiting session learns nothing about the meeting until a host admits it.
    if (session.waiting) return;
    this.#welcome(session);
  }

  #welcome(session: Session): void {
    const pending = this.#pendingLeaves.get(session.id);
    session.deliver(
      this.#meetingPacket(MeetingEventType.MEETING_STARTED, {
        creatorId: encoder.encode(session.userId),
      }),
      PacketClass.CONTROL,
      0n,
    );
    for (const p of this.roster.values()) {
      if (p.sessionId !== session.id && p.announced !== false) {
        session.deliver(this.#joinedPacket(p), PacketClass.CONTROL, 0n);
      }
    }
    if (this.large) session.deliver(this.#countPacket(), PacketClass.CONTROL, 0n);
    const speakers = this.#media.speakersPacket();
    if (speakers !== undefined) session.deliver(speakers, PacketClass.CONTROL, 0n);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.#pendingLeaves.delete(session.id);
      session.active = true;
      return;
    }
    const entry = this.roster.get(session.id);
    if (entry !== undefined && entry.instance !== this.#ctx.instanceId) {
      this.#takeOver(session, entry);
    }
  }

  /**
   * Whether `userId` may resume `sessionId` here: its leave is pending on this instance, or its
   * roster entry belongs to another instance (which died, or which the client left behind) and
   * is `userId`'s. A session still connected to this instance is not resumed (as before).
   */
  canResume(sessionId: bigint, userId: string): boolean {
    if (this.#pendingLeaves.get(sessionId)?.participant.userId === userId) return true;
    if (this.#local.has(sessionId)) return false;
    const entry = this.roster.get(sessionId);
    return entry !== undefined && entry.instance !== this.#ctx.instanceId &&
      entry.userId === userId;
  }

  /**
   * Learns a participant found by asking the cluster (a resume on an instance that had not
   * opened the room yet), unless something newer is known.
   */
  learn(participant: Participant): void {
    if (supersedes(participant, this.roster.get(participant.sessionId))) {
      this.roster.add(participant, this.#ctx.now());
    }
  }

  // A session of another instance resumed here: the entry is ours now. Everyone already knows
  // the participant, so nobody gets a packet; the other instances learn the move from a join
  // with one more move, which outranks anything the old instance still says.
  #takeOver(session: Session, entry: Participant): void {
    const moved: Participant = {
      ...entry,
      instance: this.#ctx.instanceId,
      moves: (entry.moves ?? 0) + 1,
    };
    this.roster.add(moved, this.#ctx.now());
    this.#clearOrphan(session.id);
    session.active = true;
    this.#publishPresence({ t: "join", i: this.#ctx.instanceId, p: moved });
    this.#ctx.metrics.sessionsMoved.inc();
    this.#ctx.log.info("session_moved", {
      session: session.id,
      room: this.id,
      from: entry.instance,
      moves: moved.moves,
    });
  }

  /**
   * Another instance died: its participants have the leave grace to resume elsewhere; those
   * who do not are announced as gone (each instance tells its own sessions).
   */
  instanceLost(instance: string): void {
    this.#media.forgetInstance(instance);
    for (const p of this.roster.values()) {
      if (p.instance !== instance || this.#orphans.has(p.sessionId)) continue;
      const id = p.sessionId;
      this.#orphans.set(
        id,
        setTimeout(() => {
          this.#orphans.delete(id);
          if (this.roster.get(id)?.instance === instance) this.#leave(id, false);
        }, this.#ctx.limits.leaveGraceMs),
      );
    }
  }

  /** An instance taken as dead was heard again (it had been cut off): its people stay. */
  instanceBack(instance: string): void {
    for (const p of this.roster.values()) {
      if (p.instance === instance) this.#clearOrphan(p.sessionId);
    }
    this.requestSync();
  }

  #clearOrphan(sessionId: bigint): void {
    const timer = this.#orphans.get(sessionId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#orphans.delete(sessionId);
  }

  // `entry` (already in the roster) is held by another instance now: whatever this instance
  // still had of the session — a pending leave, an orphan's grace, a connection the client left
  // behind — ends without a leave.
  #movedAway(entry: Participant): void {
    const id = entry.sessionId;
    this.#clearOrphan(id);
    const pending = this.#pendingLeaves.get(id);
    if (pending !== undefined) {
      clearTimeout(pending.timer);
      this.#pendingLeaves.delete(id);
    }
    const stale = this.#local.get(id);
    if (stale !== undefined) {
      this.#ctx.log.info("session_moved_away", { session: id, room: this.id, to: entry.instance });
      // The roster already names the new instance, so removeLocal() announces nothing.
      stale.close(CloseCode.SESSION_MOVED, Refusal.MOVED);
    }
    this.#checkEmpty();
  }

  /**
   * Removes a closed local session; its leave is announced after the grace period (at least
   * `moveGraceMs` for a session a drain sent away), or at once
   * when it left for good: 1000 (the server closed it because the participant left through the
   * API, or the client closed normally), 4403 (removed) or 4410 (meeting ended).
   */
  removeLocal(session: Session, code = 0): void {
    if (this.#local.get(session.id) !== session) return;
    this.#local.delete(session.id);
    this.#media.removeReceiver(session.id);
    const participant = this.roster.get(session.id);
    if (participant === undefined || participant.instance !== this.#ctx.instanceId) {
      this.#checkEmpty();
      return;
    }
    if (
      code === CloseCode.FORBIDDEN || code === CloseCode.MEETING_ENDED || code === CloseCode.NORMAL
    ) {
      this.#leave(session.id, true);
      this.#checkEmpty();
      return;
    }
    // A session a drain sent away (1012) is on its way to another instance, through a balancer
    // and perhaps a busy server: it has longer than a dropped one before its leave is announced.
    const grace = code === CloseCode.SERVICE_RESTART
      ? Math.max(this.#ctx.limits.leaveGraceMs, this.#ctx.limits.moveGraceMs)
      : this.#ctx.limits.leaveGraceMs;
    const timer = setTimeout(() => {
      this.#pendingLeaves.delete(session.id);
      this.#leave(session.id, true);
      this.#checkEmpty();
    }, grace);
    this.#pendingLeaves.set(session.id, { participant, timer });
  }

  /** Handles a checked packet from a local session. */
  fromSession(session: Session, packet: InboundPacket): void {
    const media = packet.media;
    if (media?.mediaType === MediaType.RTT) {
      session.deliver(packet.raw, PacketClass.INFO, 0n);
      return;
    }
    if (packet.selection !== undefined) {
      // What this receiver wants: recorded here (its instance), never relayed.
      const { viewport, layers } = packet.selection;
      if (viewport !== undefined) this.#media.setViewport(session.id, viewport);
      if (layers !== undefined) this.#media.setLayers(session.id, layers);
      return;
    }
    if (session.waiting) {
      // Waiting sessions are heard by nobody until admitted.
      this.#ctx.metrics.drops.inc("waiting");
      return;
    }
    if (!session.active) this.#activate(session);
    switch (packet.packetType) {
      case PacketType.HEALTH:
      case PacketType.CONGESTION:
        // Health reports are for the operator, not the room; CONGESTION comes from servers.
        return;
    }
    if (media?.mediaType === MediaType.KEYFRAME_REQUEST) {
      this.#keyframeRequest(session, packet, media.userId, media.targetSessionId ?? 0n);
      return;
    }
    const kind = mediaKindOf(packet.info);
    if (kind !== 0) this.#announce(session);
    const cls = media === undefined && kind !== 0
      ? classifySealed(kind)
      : classify(packet.packetType, media?.mediaType ?? 0, media?.frameType ?? "");
    this.#publish(
      session.id,
      session.identity,
      packet.packetType,
      packet.data,
      cls,
      0n,
      packet.info,
    );
  }

  /** Counts a drop against `sender` and tells it (CONGESTION) when drops pile up. */
  noteDrop(receiver: Session, sender: bigint): void {
    if (sender === 0n) return;
    this.#media.noteCongested(receiver);
    const now = this.#ctx.now();
    const window = this.#ctx.limits.congestionWindowMs;
    let state = this.#congestion.get(sender);
    if (state === undefined) {
      state = { windowStartMs: now, drops: 0, lastNoticeMs: -Infinity };
      this.#congestion.set(sender, state);
    }
    if (now - state.windowStartMs > window) {
      state.windowStartMs = now;
      state.drops = 0;
    }
    state.drops++;
    if (state.drops < this.#ctx.limits.congestionDropThreshold) return;
    if (now - state.lastNoticeMs < window) return;
    state.lastNoticeMs = now;
    this.#ctx.metrics.congestionSent.inc();
    // As videocall-rs: user_id names the congested receiver, session_id the sender to slow down.
    const identity = encodeIdentity(receiver.userId, sender);
    this.#publish(
      receiver.id,
      identity,
      PacketType.CONGESTION,
      new Uint8Array(0),
      PacketClass.CONTROL,
      sender,
    );
  }

  /** Announces this instance's participants again (periodic heartbeat, after a reconnect). */
  announceRoster(): void {
    const mine = [...this.roster.values()].filter((p) => p.instance === this.#ctx.instanceId);
    if (mine.length === 0) return;
    this.#publishPresence({
      t: "roster",
      i: this.#ctx.instanceId,
      started: this.#startedMs,
      p: mine,
    });
  }

  /** Repeats this instance's layer wishes for the others. */
  announceWishes(): void {
    this.#media.announceWishes();
  }

  /** Drops participants of instances that have gone silent. */
  expireSilentInstances(): void {
    for (const p of this.roster.expire(this.#ctx.now(), this.#ctx.limits.presenceTimeoutMs)) {
      this.#media.forgetSource(p.sessionId);
      if (p.announced !== false) this.#broadcastLocal(this.#leftPacket(p));
      this.#countChanged();
    }
  }

  /**
   * Closes every local session with `code` but keeps their leaves pending for the grace period,
   * as for a dropped connection: a session that resumes elsewhere in time leaves nobody (drain).
   */
  closeLocal(code: number, reason: string): void {
    for (const session of [...this.#local.values()]) session.close(code, reason);
  }

  /** Closes every local session (shutdown) and announces the leaves at once. */
  closeAll(code: number, reason: string): void {
    for (const session of [...this.#local.values()]) session.close(code, reason);
    for (const [sessionId, pending] of this.#pendingLeaves) {
      clearTimeout(pending.timer);
      this.#leave(sessionId, true);
    }
    this.#pendingLeaves.clear();
  }

  /** Stops listening to the bus. */
  dispose(): void {
    for (const pending of this.#pendingLeaves.values()) clearTimeout(pending.timer);
    this.#pendingLeaves.clear();
    for (const timer of this.#orphans.values()) clearTimeout(timer);
    this.#orphans.clear();
    clearTimeout(this.#countTimer);
    this.#media.dispose();
    this.#subscription.unsubscribe();
  }

  #checkEmpty(): void {
    if (this.idle) this.#ctx.onEmpty(this);
  }

  #activate(session: Session): void {
    session.active = true;
    // In a large meeting someone who publishes nothing is counted, not announced.
    const announced = this.roster.size + 1 <= this.#ctx.limits.largeMeetingParticipants;
    const participant: Participant = {
      sessionId: session.id,
      userId: session.userId,
      displayName: session.displayName,
      instance: this.#ctx.instanceId,
      announced,
    };
    this.roster.add(participant, this.#ctx.now());
    if (announced) this.#broadcastLocal(this.#joinedPacket(participant), session.id);
    this.#publishPresence({ t: "join", i: this.#ctx.instanceId, p: participant });
    this.#countChanged();
  }

  // A counted participant started publishing: from now on everyone knows them by name.
  #announce(session: Session): void {
    const participant = this.roster.get(session.id);
    if (participant === undefined || participant.announced !== false) return;
    participant.announced = true;
    this.#broadcastLocal(this.#joinedPacket(participant), session.id);
    this.#publishPresence({ t: "join", i: this.#ctx.instanceId, p: participant });
  }

  #countPacket(): Uint8Array {
    return this.#meetingPacket(MeetingEventType.PARTICIPANT_COUNT, {});
  }

  // Large meetings learn the count instead of every join and leave: at most once a second.
  #countChanged(): void {
    if (!this.large && this.#countSent < 0) return;
    if (this.#countTimer !== undefined) return;
    this.#countTimer = setTimeout(() => {
      this.#countTimer = undefined;
      if (this.roster.size === this.#countSent) return;
      this.#countSent = this.roster.size;
      this.#broadcastLocal(this.#countPacket());
    }, 1000);
  }

  #leave(sessionId: bigint, publish: boolean): void {
    this.#clearOrphan(sessionId);
    const participant = this.roster.remove(sessionId);
    this.#congestion.delete(sessionId);
    this.#media.forgetSource(sessionId);
    if (participant === undefined) return;
    if (participant.announced !== false) this.#broadcastLocal(this.#leftPacket(participant));
    if (publish) this.#publishPresence({ t: "leave", i: this.#ctx.instanceId, s: sessionId });
    this.#countChanged();
  }

  // A key-frame request goes to the session it names (videocall-rs's target_session_id), or to
  // every session of the user it names.
  #keyframeRequest(
    session: Session,
    packet: InboundPacket,
    target: Uint8Array,
    targetSession: bigint,
  ): void {
    if (!session.allowKeyframeRequest()) {
      this.#ctx.metrics.drops.inc("keyframe_rate_limited");
      return;
    }
    const named = targetSession === 0n ? undefined : this.roster.get(targetSession);
    const targets = named !== undefined ? [named] : this.roster.byUser(decoder.decode(target));
    if (targets.length === 0) {
      this.#ctx.metrics.drops.inc("keyframe_unknown_target");
      return;
    }
    for (const p of targets) {
      if (p.sessionId === session.id) continue;
      this.#publish(
        session.id,
        session.identity,
        packet.packetType,
        packet.data,
        PacketClass.CONTROL,
        p.sessionId,
        packet.info,
      );
    }
  }

  // Stamps once, delivers locally, publishes once for the other instances.
  #publish(
    sender: bigint,
    identity: Uint8Array,
    packetType: number,
    data: Uint8Array,
    cls: PacketClass,
    target: bigint,
    info: MediaInfo = NO_MEDIA,
  ): void {
    const frame = encodeStampedPacket(BUS_HEADER_BYTES, packetType, identity, data, info);
    writeBusHeader(frame, cls, sender, target, info);
    this.#media.fanOut(frame.subarray(BUS_HEADER_BYTES), cls, sender, target, info);
    if (!this.#ctx.bus.publish(participantSubject(this.id, sender), frame)) {
      this.#ctx.metrics.drops.inc("bus_unavailable");
    }
  }

  #onBus(subject: string, data: Uint8Array): void {
    const kind = subject.slice(subject.lastIndexOf(".") + 1);
    if (kind === "system") return this.#onPresence(data);
    if (kind === "layers") {
      if (!this.#media.onReport(data)) this.#ctx.metrics.drops.inc("bus_malformed");
      return;
    }
    if (kind === "control") {
      const event = parseControl(data);
      if (event === undefined) {
        this.#ctx.metrics.drops.inc("bus_malformed");
        return;
      }
      return this.applyControl(event);
    }
    const frame = readBusFrame(data);
    if (frame === undefined) {
      this.#ctx.metrics.drops.inc("bus_malformed");
      return;
    }
    this.#media.fanOut(frame.packet, frame.cls, frame.sender, frame.target, frame.media);
  }

  #onPresence(data: Uint8Array): void {
    const message = parsePresence(data);
    if (message === undefined) {
      this.#ctx.metrics.drops.inc("bus_malformed");
      return;
    }
    if (message.i === this.#ctx.instanceId) return;
    const now = this.#ctx.now();
    switch (message.t) {
      case "join": {
        const p = message.p;
        const known = this.roster.get(p.sessionId);
        if (!supersedes(p, known)) {
          // Older news than ours (the session moved on since). If it moved here, say so again.
          this.roster.heard(message.i, now);
          if (known?.instance === this.#ctx.instanceId) {
            this.#publishPresence({ t: "join", i: this.#ctx.instanceId, p: known });
          }
          return;
        }
        const wasAnnounced = known !== undefined && known.announced !== false;
        this.roster.add(p, now);
        if (known !== undefined && known.instance !== p.instance) {
          // The session moved to that instance (a resume there): nobody sees it leave or join.
          this.#movedAway(p);
          if (p.announced !== false && !wasAnnounced) this.#broadcastLocal(this.#joinedPacket(p));
          return;
        }
        if (p.announced !== false && !wasAnnounced) this.#broadcastLocal(this.#joinedPacket(p));
        if (known === undefined) this.#countChanged();
        return;
      }
      case "leave": {
        this.roster.heard(message.i, now);
        if (this.roster.get(message.s)?.instance === message.i) this.#leave(message.s, false);
        return;
      }
      case "sync":
        this.roster.heard(message.i, now);
        this.announceRoster();
        return;
      case "roster": {
        if (message.started < this.#startedMs) this.#startedMs = message.started;
        const change = this.roster.reconcile(message.i, message.p, now);
        for (const p of change.moved) this.#movedAway(p);
        for (const p of change.joined) this.#broadcastLocal(this.#joinedPacket(p));
        for (const p of change.left) {
          this.#media.forgetSource(p.sessionId);
          if (p.announced !== false) this.#broadcastLocal(this.#leftPacket(p));
        }
        if (change.counted) this.#countChanged();
        return;
      }
    }
  }

  #publishPresence(message: Parameters<typeof encodePresence>[0]): void {
    this.#ctx.bus.publish(systemSubject(this.id), encodePresence(message));
  }

  #broadcastLocal(packet: Uint8Array, except = 0n): void {
    for (const session of this.#local.values()) {
      if (session.id !== except && !session.waiting) {
        session.deliver(packet, PacketClass.CONTROL, 0n);
      }
    }
  }

  /** Applies a host decision to this instance's sessions of the room. */
  applyControl(event: ControlEvent): void {
    const sessionsOf = (userId: string) =>
      [...this.#local.values()].filter((s) => s.userId === userId);
    switch (event.type) {
      case "admitted":
        for (const session of sessionsOf(event.userId)) {
          if (!session.waiting) continue;
          session.waiting = false;
          session.deliver(
            this.#meetingPacket(MeetingEventType.PARTICIPANT_ADMITTED, {
              target: event.userId,
              message: "A host let you in",
            }),
            PacketClass.CONTROL,
            0n,
          );
          this.#welcome(session);
        }
        return;
      case "rejected":
        for (const session of sessionsOf(event.userId)) {
          session.deliver(
            this.#meetingPacket(MeetingEventType.PARTICIPANT_REJECTED, {
              target: event.userId,
              message: Refusal.DECLINED,
            }),
            PacketClass.CONTROL,
            0n,
          );
          session.close(CloseCode.FORBIDDEN, Refusal.DECLINED);
        }
        return;
      case "removed":
        for (const session of sessionsOf(event.userId)) {
          session.close(CloseCode.FORBIDDEN, Refusal.REMOVED);
        }
        return;
      case "left":
        for (const session of sessionsOf(event.userId)) {
          session.close(CloseCode.NORMAL, Refusal.LEFT);
        }
        return;
      case "ended": {
        const ended = this.#meetingPacket(MeetingEventType.MEETING_ENDED, {
          message: Refusal.ENDED,
        });
        for (const session of [...this.#local.values()]) {
          session.deliver(ended, PacketClass.CONTROL, 0n);
          session.close(CloseCode.MEETING_ENDED, Refusal.ENDED);
        }
        return;
      }
      case "waiting_changed":
        this.#broadcastLocal(
          this.#meetingPacket(MeetingEventType.WAITING_ROOM_UPDATED, {}),
        );
        return;
      default:
        return;
    }
  }

  #meetingPacket(
    eventType: number,
    fields: {
      creatorId?: Uint8Array;
      participant?: Participant;
      message?: string;
      target?: string;
    },
  ): Uint8Array {
    const p = fields.participant;
    const target = p?.userId ?? fields.target;
    const data = encodeMeetingPacket({
      eventType,
      roomId: this.id,
      startTimeMs: BigInt(Math.floor(this.#startedMs)),
      message: fields.message ?? "",
      creatorId: fields.creatorId ?? new Uint8Array(0),
      participantCount: BigInt(this.roster.size),
      targetUserId: target !== undefined ? encoder.encode(target) : new Uint8Array(0),
      roomToken: "",
      sessionId: p?.sessionId ?? 0n,
      displayName: p ? encoder.encode(p.displayName) : new Uint8Array(0),
    });
    return encodeStampedPacket(0, PacketType.MEETING, SYSTEM_IDENTITY, data);
  }

  #joinedPacket(p: Participant): Uint8Array {
    return this.#meetingPacket(MeetingEventType.PARTICIPANT_JOINED, {
      participant: p,
      message: `${p.displayName} has joined the meeting`,
    });
  }

  #leftPacket(p: Participant): Uint8Array {
    return this.#meetingPacket(MeetingEventType.PARTICIPANT_LEFT, {
      participant: p,
      message: `${p.displayName} has left the meeting`,
    });
  }
}
