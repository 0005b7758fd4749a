/**
 * The relay: the rooms of this instance, the sessions in them, and the timers that keep
 * presence and liveness honest. Transports create sessions through {@linkcode Relay.attach};
 * everything after that is transport-independent. Other instances are watched through
 * `liveness.ts`: when one dies, every room here gives its participants the leave grace to
 * resume on a live instance.
 *
 * @module
 */
import process from "node:process";
import { CloseCode, Refusal } from "../protocol/close_codes.ts";
import { SYSTEM_USER_ID } from "../protocol/limits.ts";
import { PacketType } from "../protocol/packets.ts";
import { encodeIdentity, encodeStampedPacket } from "../protocol/wire.ts";
import type { Logger } from "../log.ts";
import { type Bus, controlSubject, systemSubject } from "./bus.ts";
import { type InstanceCard, Liveness } from "./liveness.ts";
import { encodePresence, parsePresence, type Participant } from "./presence.ts";
import { type ControlEvent, encodeControl } from "./control.ts";
import type { Standing } from "./admission.ts";
import { BUS_HEADER_BYTES } from "./bus_frame.ts";
import type { RelayLimits } from "./limits.ts";
import type { RelayMetrics } from "./metrics.ts";
import { PACKET_CLASS_NAMES, PacketClass } from "./packet_class.ts";
import { Room } from "./room.ts";
import { type InboundPacket, Session, type SessionHost, type Transport } from "./session.ts";

/** How a relay is made. */
export interface RelayOptions {
  bus: Bus;
  limits: RelayLimits;
  metrics: RelayMetrics;
  log: Logger;
  /** A unique id for this instance; random when omitted. */
  instanceId?: string;
  now?: () => number;
  /**
   * What this instance tells the cluster of itself besides its sessions and whether it accepts
   * (the server pool); read at every heartbeat.
   */
  describe?: () => Pick<InstanceCard, "url" | "capacity" | "webTransport">;
}

/** One instance of the server pool, as `GET /api/v1/servers` lists it. */
export interface PoolEntry extends InstanceCard {
  instance: string;
  /** Whether this is the instance answering. */
  self: boolean;
}

/** Who is connecting, and over what. */
export interface AttachRequest {
  userId: string;
  roomId: string;
  displayName?: string;
  transport: Transport;
  /** A session id from an earlier connection to take over, if its leave is still pending. */
  resumeSessionId?: bigint;
  /** Put the session in the waiting room: it hears nothing until a host admits it. */
  waiting?: boolean;
  /** Refuse media that is not end-to-end encrypted (the meeting requires it). */
  e2eeRequired?: boolean;
  /**
   * Re-reads the participant's standing once the session is in its room, so a host decision
   * made while the connection was being admitted still applies.
   */
  standing?: () => Promise<Standing | undefined>;
}

// Room ids and user ids are validated before they get here; leave room for the bus header and
// the wrapper fields the relay adds when checking a packet against the bus's payload limit.
const STAMP_OVERHEAD_BYTES = BUS_HEADER_BYTES + 128;

/** Random non-zero 64-bit session id. */
export function newSessionId(): bigint {
  const view = new DataView(crypto.getRandomValues(new Uint8Array(8)).buffer);
  const id = view.getBigUint64(0);
  return id === 0n ? 1n : id;
}

/**
 * CPU seconds this process used, user and system. Node's `process.cpuUsage()`: Deno refuses
 * reading `/proc/self/stat` without --allow-all.
 */
function processCpuSeconds(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1e6;
}

/** How long one cluster-wide roster answer serves further requests, in ms. */
const ROSTER_QUERY_REUSE_MS = 1000;
/** How long {@linkcode Relay.prepareResume} looks for a session in the cluster, in ms. */
const RESUME_LOOKUP_MS = 250;
/** How long a session found by {@linkcode Relay.prepareResume} waits for its attach, in ms. */
const RESUME_LEAD_MS = 10_000;

/** The server core. */
export class Relay implements SessionHost {
  readonly instanceId: string;
  readonly bus: Bus;
  readonly limits: RelayLimits;
  readonly metrics: RelayMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #rooms = new Map<string, Room>();
  readonly #sessions = new Map<bigint, Session>();
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  readonly #rosterQueries = new Map<string, { atMs: number; answer: Promise<Participant[]> }>();
  /** Sessions of rooms not open here, found in the cluster for a resume about to attach. */
  readonly #resumeLeads = new Map<bigint, { participant: Participant; atMs: number }>();
  readonly #liveness: Liveness;
  #accepting = true;
  #draining = false;
  readonly #describe: RelayOptions["describe"];

  constructor(options: RelayOptions) {
    this.instanceId = options.instanceId ?? crypto.randomUUID().slice(0, 8);
    this.bus = options.bus;
    this.metrics = options.metrics;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#describe = options.describe;
    const busLimit = options.bus.maxPayloadBytes - STAMP_OVERHEAD_BYTES;
    this.limits = {
      ...options.limits,
      maxPacketBytes: Math.min(options.limits.maxPacketBytes, busLimit),
    };
    if (this.limits.maxPacketBytes < options.limits.maxPacketBytes) {
      this.#log.warn("max_packet_bytes_clamped", {
        configured: options.limits.maxPacketBytes,
        effective: this.limits.maxPacketBytes,
        reason: "the bus accepts smaller payloads",
      });
    }
    const registry = options.metrics.registry;
    registry.gauge("sessions", "Connected sessions on this instance", () => this.#sessions.size);
    registry.gauge("rooms", "Rooms with sessions on this instance", () => this.#rooms.size);
    registry.gauge("queued_packets", "Packets waiting in the sessions' outbound queues", () => {
      let queued = 0;
      for (const session of this.#sessions.values()) queued += session.queuedPackets;
      return queued;
    });
    // The process's own cost, for load tools that cannot read /proc on the server's host.
    registry.gauge(
      "process_resident_memory_bytes",
      "Resident memory of this server process",
      () => Deno.memoryUsage().rss,
    );
    registry.gauge(
      "process_heap_used_bytes",
      "JavaScript heap in use (live objects and garbage not yet collected)",
      () => Deno.memoryUsage().heapUsed,
    );
    registry.gauge(
      "process_cpu_seconds_total",
      "CPU time this server process used, user and system",
      processCpuSeconds,
    );
    registry.gauge(
      "bus_connected",
      "1 when the bus is connected",
      () => this.bus.isConnected() ? 1 : 0,
    );
    this.bus.onEvent((event) => {
      this.#log.info("bus_" + event, { bus: this.bus.kind });
      if (event === "reconnected") {
        this.metrics.busReconnects.inc();
        for (const room of this.#rooms.values()) {
          room.requestSync();
          room.announceRoster();
        }
      }
    });
    this.#liveness = new Liveness({
      bus: this.bus,
      instanceId: this.instanceId,
      intervalMs: this.limits.instanceHeartbeatMs,
      timeoutMs: this.limits.instanceTimeoutMs,
      now: this.#now,
      onDead: (instance, silentMs) => {
        this.metrics.instancesLost.inc(silentMs === 0 ? "goodbye" : "silent");
        this.#log.info("instance_lost", { instance, silentMs });
        for (const room of this.#rooms.values()) room.instanceLost(instance);
      },
      onBack: (instance) => {
        this.#log.info("instance_back", { instance });
        for (const room of this.#rooms.values()) room.instanceBack(instance);
      },
      card: options.describe === undefined ? undefined : () => this.#card(),
    });
    registry.gauge(
      "cluster_instances",
      "Relay instances alive on the bus, this one included",
      () => this.#liveness.others + 1,
    );
    this.#timers.push(setInterval(() => this.#presenceTick(), this.limits.presenceHeartbeatMs));
    this.#timers.push(
      setInterval(() => this.#idleTick(), Math.min(1000, this.limits.idleTimeoutMs)),
    );
  }

  /** Sessions on this instance. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Rooms open on this instance. */
  get roomCount(): number {
    return this.#rooms.size;
  }

  /** Whether new sessions are accepted (false once shutdown began). */
  get accepting(): boolean {
    return this.#accepting;
  }

  /** A room by id, if open on this instance. */
  room(id: string): Room | undefined {
    return this.#rooms.get(id);
  }

  /**
   * Who is connected to a meeting now, on every instance: the room's roster when this instance
   * holds the room; otherwise (a cluster where the meeting lives on other instances) what the
   * others answer to a presence `sync` within `waitMs`. Empty when nobody is connected.
   */
  async liveRoster(roomId: string, waitMs = 300): Promise<Participant[]> {
    const room = this.#rooms.get(roomId);
    if (room !== undefined) return [...room.roster.values()];
    if (this.bus.kind === "memory" || !this.bus.isConnected()) return [];
    // One question to the cluster per room and second, however many ask (each answer is a
    // whole roster from every instance).
    const now = this.#now();
    const asked = this.#rosterQueries.get(roomId);
    if (asked !== undefined && now - asked.atMs < ROSTER_QUERY_REUSE_MS) return await asked.answer;
    const answer = this.#askRoster(roomId, waitMs);
    this.#rosterQueries.set(roomId, { atMs: now, answer });
    answer.finally(() =>
      setTimeout(() => {
        if (this.#rosterQueries.get(roomId)?.answer === answer) this.#rosterQueries.delete(roomId);
      }, ROSTER_QUERY_REUSE_MS)
    );
    return await answer;
  }

  async #askRoster(roomId: string, waitMs: number): Promise<Participant[]> {
    const found = new Map<bigint, Participant>();
    const subject = systemSubject(roomId);
    const subscription = this.bus.subscribe(subject, (_subject, data) => {
      const message = parsePresence(data);
      if (message?.t !== "roster") return;
      for (const p of message.p) found.set(p.sessionId, p);
    });
    try {
      this.bus.publish(subject, encodePresence({ t: "sync", i: this.instanceId }));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    } finally {
      subscription.unsubscribe();
    }
    return [...found.values()];
  }

  /**
   * Gets ready to attach a connection that asks to resume a session, before its transport opens
   * (call it between admission and the upgrade; it never fails). A session of another instance
   * can only be taken over where its roster entry is known: when this instance has the room
   * open that is at once (or within {@linkcode RESUME_LOOKUP_MS} of the room opening); when it
   * has not, the cluster is asked (a presence `sync`) and the entry kept for the attach.
   */
  async prepareResume(
    request: Pick<AttachRequest, "roomId" | "userId" | "resumeSessionId">,
  ): Promise<void> {
    const id = request.resumeSessionId;
    // Alone, nobody else can hold the session.
    if (id === undefined || this.#liveness.others === 0) return;
    const room = this.#rooms.get(request.roomId);
    if (room !== undefined) {
      // Open here: its roster knows the session, or will once a fresh room's sync is answered.
      const deadline = room.openedMs + RESUME_LOOKUP_MS;
      while (!room.canResume(id, request.userId) && this.#now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return;
    }
    const found = await this.#findSession(request.roomId, id, RESUME_LOOKUP_MS);
    if (found === undefined || found.userId !== request.userId) return;
    const now = this.#now();
    for (const [key, lead] of this.#resumeLeads) {
      if (now - lead.atMs > RESUME_LEAD_MS) this.#resumeLeads.delete(key);
    }
    this.#resumeLeads.set(id, { participant: found, atMs: now });
  }

  // Asks the cluster who holds `sessionId` in `roomId`; resolves as soon as an instance lists it.
  async #findSession(
    roomId: string,
    sessionId: bigint,
    waitMs: number,
  ): Promise<Participant | undefined> {
    const subject = systemSubject(roomId);
    const { promise, resolve } = Promise.withResolvers<Participant | undefined>();
    const subscription = this.bus.subscribe(subject, (_subject, data) => {
      const message = parsePresence(data);
      if (message?.t !== "roster") return;
      const p = message.p.find((p) => p.sessionId === sessionId);
      if (p !== undefined) resolve(p);
    });
    const timer = setTimeout(() => resolve(undefined), waitMs);
    try {
      this.bus.publish(subject, encodePresence({ t: "sync", i: this.instanceId }));
      return await promise;
    } finally {
      clearTimeout(timer);
      subscription.unsubscribe();
    }
  }

  /**
   * Makes a session for a new connection, sends it SESSION_ASSIGNED and the meeting state, and
   * puts it in its room. The transport must be open. A resume keeps its session id when the
   * session's leave is pending here, or when another instance holds it (`Room.canResume`).
   */
  attach(request: AttachRequest): Session {
    let room = this.#rooms.get(request.roomId);
    if (room === undefined) {
      room = new Room(request.roomId, {
        instanceId: this.instanceId,
        bus: this.bus,
        limits: this.limits,
        metrics: this.metrics,
        log: this.#log,
        now: this.#now,
        onEmpty: (r) => this.#closeRoom(r),
      });
      this.#rooms.set(request.roomId, room);
    }
    const resume = request.resumeSessionId;
    if (resume !== undefined) {
      const lead = this.#resumeLeads.get(resume);
      this.#resumeLeads.delete(resume);
      if (lead !== undefined && this.#now() - lead.atMs <= RESUME_LEAD_MS) {
        room.learn(lead.participant);
      }
    }
    const id = resume !== undefined && !this.#sessions.has(resume) &&
        room.canResume(resume, request.userId)
      ? resume
      : newSessionId();
    const session = new Session({
      id,
      userId: request.userId,
      roomId: request.roomId,
      displayName: request.displayName ?? request.userId,
      transport: request.transport,
      limits: this.limits,
      metrics: this.metrics,
      host: this,
      now: this.#now,
    });
    session.waiting = request.waiting === true;
    session.e2eeRequired = request.e2eeRequired === true;
    // A full meeting takes nobody new (a resumed session already counts); the roster counts the
    // whole cluster's participants.
    const max = this.limits.maxMeetingParticipants;
    if (max > 0 && id !== resume && room.roster.size >= max) {
      this.metrics.rejected.inc("meeting_full");
      this.#log.info("connection_rejected", { room: request.roomId, code: "meeting_full" });
      queueMicrotask(() =>
        session.close(
          CloseCode.FORBIDDEN,
          `This meeting is full (${max} people); try again when someone leaves`,
        )
      );
      if (room.idle) this.#closeRoom(room);
      return session;
    }
    this.#sessions.set(id, session);
    const assigned = encodeStampedPacket(
      0,
      PacketType.SESSION_ASSIGNED,
      encodeIdentity(SYSTEM_USER_ID, id),
      new Uint8Array(0),
    );
    session.deliver(assigned, PacketClass.CONTROL, 0n);
    room.addLocal(session);
    this.#log.info("session_opened", {
      session: id,
      user: request.userId,
      room: request.roomId,
      transport: request.transport.kind,
      resumed: id === resume,
    });
    request.standing?.().then((standing) => {
      if (standing !== undefined) this.#applyStanding(session, standing);
    }).catch(() => {});
    return session;
  }

  /**
   * Applies a host decision here and sends it to every other instance (the bus does not echo
   * our own messages back).
   */
  publishControl(event: ControlEvent): void {
    this.#rooms.get(event.meetingId)?.applyControl(event);
    this.bus.publish(controlSubject(event.meetingId), encodeControl(event));
  }

  // Applies a participant's current standing to a just-attached session: a removal, refusal or
  // end decided while the connection was being admitted closes it; an admission lets it in.
  #applyStanding(session: Session, standing: Standing): void {
    if (session.closed) return;
    switch (standing) {
      case "removed":
        return session.close(CloseCode.FORBIDDEN, Refusal.REMOVED);
      case "rejected":
        return session.close(CloseCode.FORBIDDEN, Refusal.DECLINED);
      case "ended":
        return session.close(CloseCode.MEETING_ENDED, Refusal.ENDED);
      case "admitted":
        if (session.waiting) {
          this.#rooms.get(session.roomId)?.applyControl({
            type: "admitted",
            meetingId: session.roomId,
            userId: session.userId,
          });
        }
        return;
    }
  }

  onPacket(session: Session, packet: InboundPacket): void {
    this.#rooms.get(session.roomId)?.fromSession(session, packet);
  }

  onDrop(session: Session, sender: bigint, cls: PacketClass, reason: string): void {
    this.metrics.drops.inc(reason);
    this.metrics.dropsByClass.inc(PACKET_CLASS_NAMES[cls]);
    this.#rooms.get(session.roomId)?.noteDrop(session, sender);
  }

  onClosed(session: Session, code: number, reason: string): void {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    this.metrics.closed.inc(String(code));
    this.#log.info("session_closed", {
      session: session.id,
      user: session.userId,
      room: session.roomId,
      code,
      reason,
    });
    this.#rooms.get(session.roomId)?.removeLocal(session, code);
  }

  /**
   * The server pool: this instance and the others alive (those that sent a card), the least
   * loaded first (sessions over capacity), those not accepting last.
   */
  pool(): PoolEntry[] {
    const entries: PoolEntry[] = [];
    if (this.#describe !== undefined) {
      entries.push({ instance: this.instanceId, self: true, ...this.#card() });
    }
    for (const [instance, card] of this.#liveness.cards()) {
      entries.push({ instance, self: false, ...card });
    }
    const load = (e: PoolEntry) => e.capacity === 0 ? 1 : e.sessions / e.capacity;
    return entries.sort((a, b) =>
      Number(b.accepting) - Number(a.accepting) || load(a) - load(b) ||
      a.instance.localeCompare(b.instance)
    );
  }

  #card(): InstanceCard {
    return {
      ...this.#describe!(),
      sessions: this.#sessions.size,
      accepting: this.#accepting,
    };
  }

  /** Whether a drain is under way. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Other live instances of the cluster (none alone, or on the in-process bus). */
  get otherInstances(): number {
    return this.#liveness.others;
  }

  /**
   * Hands every session to the rest of the cluster: stops accepting, closes each local session
   * with 1012 (the client reconnects with `resume`, and the load balancer, which sees `/readyz`
   * failing, sends it to another instance) while presence goes on, so that a session resumed
   * elsewhere within the leave grace leaves nobody. Resolves once no session and no pending leave
   * is left here, or after `timeoutMs`; then {@linkcode Relay.shutdown} announces whoever did not
   * come back.
   */
  async drain(timeoutMs: number, reason: string = Refusal.DRAINING): Promise<void> {
    if (!this.#accepting) return;
    this.#accepting = false;
    this.#draining = true;
    const sessions = this.#sessions.size;
    this.#log.info("drain_started", { sessions, others: this.#liveness.others, timeoutMs });
    for (const room of this.#rooms.values()) room.closeLocal(CloseCode.SERVICE_RESTART, reason);
    const deadline = this.#now() + timeoutMs;
    const settled = () =>
      this.#sessions.size === 0 && [...this.#rooms.values()].every((room) => room.idle);
    while (!settled() && this.#now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.#log.info("drain_finished", {
      sessions,
      left: this.#sessions.size,
      settled: settled(),
    });
  }

  /**
   * Stops accepting, closes every session with 1001 and announces the leaves at once, so other
   * instances update presence without waiting for a timeout.
   */
  shutdown(reason: string = Refusal.SHUTTING_DOWN): void {
    this.#accepting = false;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
    for (const room of [...this.#rooms.values()]) {
      room.closeAll(CloseCode.GOING_AWAY, reason);
      room.dispose();
    }
    this.#rooms.clear();
    this.#resumeLeads.clear();
    // After the leaves, so the others hear those first (one publisher's order is kept).
    this.#liveness.stop(true);
  }

  #closeRoom(room: Room): void {
    if (this.#rooms.get(room.id) !== room) return;
    room.dispose();
    this.#rooms.delete(room.id);
  }

  #presenceTick(): void {
    for (const room of this.#rooms.values()) {
      room.announceRoster();
      room.announceWishes();
      room.expireSilentInstances();
    }
  }

  #idleTick(): void {
    const now = this.#now();
    for (const session of [...this.#sessions.values()]) {
      if (now - session.lastInboundMs > this.limits.idleTimeoutMs) {
        this.metrics.rejected.inc("idle_timeout");
        session.close(
          CloseCode.IDLE_TIMEOUT,
          `No packets for ${Math.round(this.limits.idleTimeoutMs / 1000)} s`,
        );
      }
    }
  }
}
