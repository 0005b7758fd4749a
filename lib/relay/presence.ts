/**
 * Cluster-wide presence of one room: who is in it on every instance, and the small JSON
 * messages instances exchange about it on `room.<room>.system`. Pure logic, no I/O.
 *
 * Every instance announces joins and leaves as they happen, answers a `sync` request with its
 * roster, and repeats its roster every few seconds. An instance that falls silent for longer
 * than the presence timeout has crashed or lost the bus: its participants are taken as gone.
 *
 * @module
 */
import { parseJsonObject } from "./_json.ts";

/** A participant as all instances know it. */
export interface Participant {
  sessionId: bigint;
  userId: string;
  displayName: string;
  /** The instance that holds the participant's connection. */
  instance: string;
  /**
   * Announced to the room one by one (false: counted only — a participant of a large meeting
   * who publishes nothing). Absent means announced (instances of earlier versions).
   */
  announced?: boolean;
}

/** A presence message between instances. */
export type PresenceMessage =
  | { t: "join"; i: string; p: Participant }
  | { t: "leave"; i: string; s: bigint }
  | { t: "sync"; i: string }
  | { t: "roster"; i: string; started: number; p: Participant[] };

const encoder = new TextEncoder();
const MAX_ROSTER = 10_000;

// [session id, user id, display name] and, for someone counted but not announced, a 0.
type WireParticipant = [string, string, string] | [string, string, string, 0];

/** Serializes a presence message. */
export function encodePresence(message: PresenceMessage): Uint8Array {
  const wire = (p: Participant): WireParticipant =>
    p.announced === false
      ? [p.sessionId.toString(), p.userId, p.displayName, 0]
      : [p.sessionId.toString(), p.userId, p.displayName];
  switch (message.t) {
    case "join":
      return encoder.encode(JSON.stringify({ t: "join", i: message.i, p: wire(message.p) }));
    case "leave":
      return encoder.encode(JSON.stringify({ t: "leave", i: message.i, s: message.s.toString() }));
    case "sync":
      return encoder.encode(JSON.stringify(message));
    case "roster":
      return encoder.encode(
        JSON.stringify({
          t: "roster",
          i: message.i,
          started: message.started,
          p: message.p.map(wire),
        }),
      );
  }
}

function parseSessionId(value: unknown): bigint | undefined {
  if (typeof value !== "string" || !/^[0-9]{1,20}$/.test(value)) return undefined;
  const id = BigInt(value);
  return id > 0n && id < 1n << 64n ? id : undefined;
}

function parseParticipant(value: unknown, instance: string): Participant | undefined {
  if (!Array.isArray(value) || (value.length !== 3 && value.length !== 4)) return undefined;
  const [s, u, n, a] = value;
  const sessionId = parseSessionId(s);
  if (sessionId === undefined || typeof u !== "string" || typeof n !== "string") return undefined;
  if (value.length === 4 && a !== 0) return undefined;
  const participant: Participant = { sessionId, userId: u, displayName: n, instance };
  if (value.length === 4) participant.announced = false;
  return participant;
}

/** Parses a presence message; returns undefined for anything malformed. */
export function parsePresence(bytes: Uint8Array): PresenceMessage | undefined {
  const m = parseJsonObject(bytes);
  if (m === undefined) return undefined;
  const i = m.i;
  if (typeof i !== "string" || i.length === 0 || i.length > 64) return undefined;
  switch (m.t) {
    case "join": {
      const p = parseParticipant(m.p, i);
      return p && { t: "join", i, p };
    }
    case "leave": {
      const s = parseSessionId(m.s);
      return s === undefined ? undefined : { t: "leave", i, s };
    }
    case "sync":
      return { t: "sync", i };
    case "roster": {
      if (!Array.isArray(m.p) || m.p.length > MAX_ROSTER || typeof m.started !== "number") {
        return undefined;
      }
      const p: Participant[] = [];
      for (const entry of m.p) {
        const parsed = parseParticipant(entry, i);
        if (parsed === undefined) return undefined;
        p.push(parsed);
      }
      return { t: "roster", i, started: m.started, p };
    }
    default:
      return undefined;
  }
}

/** Changes to a roster, to be announced to local sessions. */
export interface RosterChange {
  /** Newly announced participants (new ones, and counted ones that now publish). */
  joined: Participant[];
  left: Participant[];
  /** Whether the number of participants changed. */
  counted: boolean;
}

/**
 * The participants of one room across all instances.
 *
 * @example
 * ```ts
 * import { Roster } from "./presence.ts";
 *
 * const roster = new Roster("me");
 * roster.add({ sessionId: 1n, userId: "a", displayName: "A", instance: "other" }, 0);
 * const gone = roster.expire(20_000, 15_000);
 * if (gone.length !== 1) throw new Error("a silent instance's participants should expire");
 * ```
 */
export class Roster {
  readonly #self: string;
  readonly #entries = new Map<bigint, Participant>();
  readonly #lastHeard = new Map<string, number>();

  /** @param self This instance's id; its own participants never expire. */
  constructor(self: string) {
    this.#self = self;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(sessionId: bigint): Participant | undefined {
    return this.#entries.get(sessionId);
  }

  values(): IterableIterator<Participant> {
    return this.#entries.values();
  }

  /** Participants with `userId` (one user may have several sessions). */
  byUser(userId: string): Participant[] {
    return [...this.#entries.values()].filter((p) => p.userId === userId);
  }

  /** Notes that `instance` was heard from at `nowMs`. */
  heard(instance: string, nowMs: number): void {
    if (instance !== this.#self) this.#lastHeard.set(instance, nowMs);
  }

  /** Adds or moves a participant; returns true if it was not known before. */
  add(participant: Participant, nowMs: number): boolean {
    this.heard(participant.instance, nowMs);
    const known = this.#entries.has(participant.sessionId);
    this.#entries.set(participant.sessionId, participant);
    return !known;
  }

  /** Removes a participant; returns it if it was known. */
  remove(sessionId: bigint): Participant | undefined {
    const p = this.#entries.get(sessionId);
    this.#entries.delete(sessionId);
    return p;
  }

  /** Makes `instance`'s participants exactly `list`. */
  reconcile(instance: string, list: Participant[], nowMs: number): RosterChange {
    this.heard(instance, nowMs);
    const change: RosterChange = { joined: [], left: [], counted: false };
    const listed = new Set<bigint>();
    for (const p of list) {
      listed.add(p.sessionId);
      const known = this.#entries.get(p.sessionId);
      const wasAnnounced = known !== undefined && known.announced !== false;
      if (this.add(p, nowMs)) change.counted = true;
      if (p.announced !== false && !wasAnnounced) change.joined.push(p);
    }
    for (const p of [...this.#entries.values()]) {
      if (p.instance === instance && !listed.has(p.sessionId)) {
        this.#entries.delete(p.sessionId);
        change.left.push(p);
        change.counted = true;
      }
    }
    return change;
  }

  /** Removes and returns the participants of instances silent for longer than `timeoutMs`. */
  expire(nowMs: number, timeoutMs: number): Participant[] {
    const gone: Participant[] = [];
    for (const p of [...this.#entries.values()]) {
      if (p.instance === this.#self) continue;
      const last = this.#lastHeard.get(p.instance) ?? 0;
      if (nowMs - last > timeoutMs) {
        this.#entries.delete(p.sessionId);
        gone.push(p);
      }
    }
    for (const [instance, last] of this.#lastHeard) {
      if (nowMs - last > timeoutMs) this.#lastHeard.delete(instance);
    }
    return gone;
  }
}
