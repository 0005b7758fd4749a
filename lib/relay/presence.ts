/**
 * Cluster-wide presence of one room: who is in it on every instance, and the small JSON
 * messages instances exchange about it on `room.<room>.system`. Pure logic, no I/O.
 *
 * Every instance announces joins and leaves as they happen, answers a `sync` request with its
 * roster, and repeats its roster every few seconds. An instance that falls silent for longer
 * than the presence timeout has crashed or lost the bus: its participants are taken as gone
 * (`liveness.ts` notices a crash much sooner).
 *
 * A session can move: a client whose instance died (or whose connection broke) resumes on
 * another instance, which takes the roster entry over and announces it with a `join` carrying
 * the entry's move count plus one. A higher count supersedes whatever an instance said before
 * (a roster sent by the old instance before it heard of the move, say), so every instance ends
 * up with the same owner whatever order the messages arrive in.
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
  /**
   * How many times the session moved to another instance (a resume there). The entry with the
   * higher count is the newer one; absent means 0 (never moved, or an earlier version).
   */
  moves?: number;
}

/** A presence message between instances. */
export type PresenceMessage =
  /** `i` holds `p` now: a new participant, or one that moved there (`p.moves` above 0). */
  | { t: "join"; i: string; p: Participant }
  | { t: "leave"; i: string; s: bigint }
  | { t: "sync"; i: string }
  | { t: "roster"; i: string; started: number; p: Participant[] };

const encoder = new TextEncoder();
const MAX_ROSTER = 10_000;
/** The most moves a message may claim (far more than a session ever makes). */
const MAX_MOVES = 1_000_000;

// [session id, user id, display name] and, for someone counted but not announced, a 0.
type WireParticipant = [string, string, string] | [string, string, string, 0];

/** Serializes a presence message. */
export function encodePresence(message: PresenceMessage): Uint8Array {
  const wire = (p: Participant): WireParticipant =>
    p.announced === false
      ? [p.sessionId.toString(), p.userId, p.displayName, 0]
      : [p.sessionId.toString(), p.userId, p.displayName];
  // Move counts travel beside the participants (`m`), where instances of earlier versions,
  // which read only the fields they know, skip them.
  switch (message.t) {
    case "join": {
      const moves = message.p.moves ?? 0;
      return encoder.encode(
        JSON.stringify({
          t: "join",
          i: message.i,
          p: wire(message.p),
          ...(moves ? { m: moves } : {}),
        }),
      );
    }
    case "leave":
      return encoder.encode(JSON.stringify({ t: "leave", i: message.i, s: message.s.toString() }));
    case "sync":
      return encoder.encode(JSON.stringify(message));
    case "roster": {
      const moves: Record<string, number> = {};
      let moved = false;
      for (const p of message.p) {
        if (p.moves) {
          moves[p.sessionId.toString()] = p.moves;
          moved = true;
        }
      }
      return encoder.encode(
        JSON.stringify({
          t: "roster",
          i: message.i,
          started: message.started,
          p: message.p.map(wire),
          ...(moved ? { m: moves } : {}),
        }),
      );
    }
  }
}

function parseMoves(value: unknown): number | undefined {
  if (value === undefined) return 0;
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_MOVES
    ? value as number
    : undefined;
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
      const moves = parseMoves(m.m);
      if (p === undefined || moves === undefined) return undefined;
      if (moves > 0) p.moves = moves;
      return { t: "join", i, p };
    }
    case "leave": {
      const s = parseSessionId(m.s);
      return s === undefined ? undefined : { t: "leave", i, s };
    }
    case "sync":
      return { t: "sync", i };
    case "roster": {
      // `started` is a wall-clock time in ms: finite and not negative (a room builds a BigInt
      // from it, which Infinity would make throw), and -0 read as 0 so it round-trips.
      const started = m.started;
      if (
        !Array.isArray(m.p) || m.p.length > MAX_ROSTER || typeof started !== "number" ||
        !Number.isFinite(started) || started < 0
      ) {
        return undefined;
      }
      const moves = m.m;
      if (
        moves !== undefined && (typeof moves !== "object" || moves === null || Array.isArray(moves))
      ) {
        return undefined;
      }
      const p: Participant[] = [];
      for (const entry of m.p) {
        const parsed = parseParticipant(entry, i);
        if (parsed === undefined) return undefined;
        const count = parseMoves(
          (moves as Record<string, unknown> | undefined)?.[
            parsed.sessionId.toString()
          ],
        );
        if (count === undefined) return undefined;
        if (count > 0) parsed.moves = count;
        p.push(parsed);
      }
      return { t: "roster", i, started: started === 0 ? 0 : started, p };
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
  /** Participants known before that are now held by the reporting instance (they moved). */
  moved: Participant[];
  /** Whether the number of participants changed. */
  counted: boolean;
}

/**
 * Whether `next` is newer news of a session than `known`: it moved more often, or as often and
 * comes from the same instance. Two instances that took the same session over at once (one
 * client, two connections) tie; the higher instance id wins, so every instance picks the same.
 *
 * @example
 * ```ts
 * import { supersedes } from "./presence.ts";
 *
 * const a = { sessionId: 1n, userId: "u", displayName: "U", instance: "a" };
 * const b = { ...a, instance: "b", moves: 1 };
 * if (!supersedes(b, a) || supersedes(a, b)) throw new Error("the move is newer");
 * ```
 */
export function supersedes(next: Participant, known: Participant | undefined): boolean {
  if (known === undefined) return true;
  const a = next.moves ?? 0;
  const b = known.moves ?? 0;
  if (a !== b) return a > b;
  return next.instance === known.instance || next.instance > known.instance;
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

  /**
   * Makes `instance`'s participants exactly `list`, except entries that another instance holds
   * by a later move (the list is older news about them).
   */
  reconcile(instance: string, list: Participant[], nowMs: number): RosterChange {
    this.heard(instance, nowMs);
    const change: RosterChange = { joined: [], left: [], moved: [], counted: false };
    const listed = new Set<bigint>();
    for (const p of list) {
      listed.add(p.sessionId);
      const known = this.#entries.get(p.sessionId);
      if (!supersedes(p, known)) continue;
      const wasAnnounced = known !== undefined && known.announced !== false;
      if (known !== undefined && known.instance !== p.instance) change.moved.push(p);
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
