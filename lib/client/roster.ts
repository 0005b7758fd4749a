/**
 * Who else is in the room: learned from the server's MEETING packets (joined, left), kept
 * current by everyone's heartbeats (camera, microphone, screen, speaking), and checked again
 * after a resume (whoever the server does not list again within a moment left while we were
 * away). Pure state with callbacks: no network, no timers but the resume check.
 *
 * @example
 * ```ts
 * import { Roster } from "./roster.ts";
 *
 * const joined: string[] = [];
 * const roster = new Roster({ joined: (p) => joined.push(p.displayName) });
 * roster.add("7", "ada", "Ada");
 * roster.heartbeat(roster.get("7")!, {
 *   videoEnabled: true,
 *   audioEnabled: false,
 *   screenEnabled: false,
 *   isSpeaking: false,
 * });
 * if (joined[0] !== "Ada" || !roster.get("7")!.video) throw new Error();
 * ```
 *
 * @module
 */
import type { HeartbeatMetadata } from "../protocol/packets.ts";
import { newParticipant, type Participant } from "./participant.ts";

/** After a resume, how long the server has to list everyone present again, in ms. */
export const ROSTER_CONFIRM_MS = 1500;

/** What the roster tells its owner. Every member is optional. */
export interface RosterEvents {
  joined?(participant: Participant): void;
  /**
   * They are gone: `announced` when they left (the server said so, or a resume did not find
   * them), false when the roster was cleared (a fresh session, or the end of the call).
   */
  left?(participant: Participant, announced: boolean): void;
  /** Name, flags or encryption of someone changed. */
  updated?(participant: Participant): void;
}

/** The participants of one room, by session id. */
export class Roster {
  readonly #events: RosterEvents;
  readonly #byId = new Map<string, Participant>();
  #unconfirmed = new Set<string>();
  #confirmTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(events: RosterEvents = {}) {
    this.#events = events;
  }

  /** Everyone else, by session id. */
  get map(): ReadonlyMap<string, Participant> {
    return this.#byId;
  }

  /** How many others are here. */
  get size(): number {
    return this.#byId.size;
  }

  /** One participant by session id. */
  get(sessionId: string): Participant | undefined {
    return this.#byId.get(sessionId);
  }

  /** Everyone else, in order of arrival. */
  list(): Participant[] {
    return [...this.#byId.values()].sort((a, b) => a.joinedAtMs - b.joinedAtMs);
  }

  /**
   * Someone the server announced (or whose media came first): added, or their name updated.
   * Returns the participant and whether they are new.
   */
  add(sessionId: string, userId: string, displayName: string): Participant {
    this.#unconfirmed.delete(sessionId);
    const known = this.#byId.get(sessionId);
    if (known !== undefined) {
      if (known.displayName !== displayName) {
        known.displayName = displayName;
        this.#events.updated?.(known);
      }
      return known;
    }
    const participant = newParticipant(sessionId, userId, displayName);
    this.#byId.set(sessionId, participant);
    this.#events.joined?.(participant);
    return participant;
  }

  /** Someone left (announced by the server, or not confirmed after a resume). */
  remove(sessionId: string, announced = true): Participant | undefined {
    const participant = this.#byId.get(sessionId);
    if (participant === undefined) return undefined;
    this.#byId.delete(sessionId);
    this.#events.left?.(participant, announced);
    return participant;
  }

  /** Applies a heartbeat's flags; tells `updated` when anything changed. */
  heartbeat(participant: Participant, flags: HeartbeatMetadata): void {
    const changed = participant.video !== flags.videoEnabled ||
      participant.audio !== flags.audioEnabled || participant.screen !== flags.screenEnabled ||
      participant.speaking !== flags.isSpeaking;
    participant.video = flags.videoEnabled;
    participant.audio = flags.audioEnabled;
    participant.screen = flags.screenEnabled;
    participant.speaking = flags.isSpeaking;
    if (changed) this.#events.updated?.(participant);
  }

  /** Marks a flag or property on, telling `updated` if it was off. */
  set<K extends "video" | "screen" | "encrypted">(
    participant: Participant,
    key: K,
    value: boolean,
  ): void {
    if (participant[key] === value) return;
    participant[key] = value;
    this.#events.updated?.(participant);
  }

  /** Counts a packet of theirs that failed to decrypt (told on the first and every 50th). */
  decryptFailed(participant: Participant): void {
    participant.decryptFailures++;
    if (participant.decryptFailures === 1 || participant.decryptFailures % 50 === 0) {
      this.#events.updated?.(participant);
    }
  }

  /**
   * After a resume: the server lists everyone present again; whoever it has not listed within
   * {@linkcode ROSTER_CONFIRM_MS} left while we were away.
   */
  confirmAfterResume(): void {
    this.#unconfirmed = new Set(this.#byId.keys());
    clearTimeout(this.#confirmTimer);
    this.#confirmTimer = setTimeout(() => {
      for (const sessionId of this.#unconfirmed) this.remove(sessionId);
      this.#unconfirmed.clear();
    }, ROSTER_CONFIRM_MS);
  }

  /** Forgets everyone (a fresh session, or the end), telling `left` (not announced) for each. */
  clear(): void {
    clearTimeout(this.#confirmTimer);
    this.#unconfirmed.clear();
    for (const sessionId of [...this.#byId.keys()]) this.remove(sessionId, false);
  }

  /** Stops the resume check's timer. */
  close(): void {
    clearTimeout(this.#confirmTimer);
  }
}
