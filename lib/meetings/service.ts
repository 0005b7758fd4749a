/**
 * The rules of meetings: who may join, who waits, who decides. HTTP routes and the relay call
 * this; it calls the {@linkcode Store} and tells the relay's instances about host decisions
 * through a {@linkcode MeetingEvents} sink (the bus `room.<room>.control` subject).
 *
 * Rules:
 * - Joining a meeting that does not exist creates it, with the caller as host.
 * - An ended or deleted meeting admits nobody. A set password must match (hosts excepted).
 * - A participant the host removed or rejected stays out of that meeting.
 * - A locked meeting admits only people already admitted, and its hosts and co-hosts.
 * - With the waiting room on, guests wait until a host or co-host admits them.
 * - Only hosts and co-hosts change a meeting; only the host changes roles, and nobody can
 *   remove or demote the host.
 *
 * @module
 */
import { Refusal } from "../protocol/close_codes.ts";
import type { ControlEvent } from "../relay/control.ts";
import type { Meeting, Participant, ParticipantStatus, Role, Store } from "../store/store.ts";

/** A refusal, with the HTTP status and a code and message for the user. */
export class MeetingError extends Error {
  override name = "MeetingError";
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Host decisions that must reach live connections on every instance. */
export type MeetingEvent = ControlEvent;

/** Where the service sends {@linkcode MeetingEvent}s. */
export interface MeetingEvents {
  publish(event: MeetingEvent): void;
}

/** Checks a password against a stored hash. */
export type PasswordCheck = (password: string, hash: string) => Promise<boolean>;

/** The caller of an operation. */
export interface Caller {
  userId: string;
  displayName: string;
  /** The meeting a room-scoped token is for; such a caller may act on that meeting only. */
  room?: string;
  /** A role an operator's token grants in `room` (host tokens make a co-host of an existing meeting). */
  grantedRole?: Role;
  /**
   * The caller's guest session (open mode): the identities it takes in a meeting are bound to it
   * and nobody else can use them there (docs/SECURITY.md, "Open mode").
   */
  claim?: string;
  /**
   * The identity is only a claim from a URL (`/lobby/<user>/<room>` without a token): it may use
   * an id nobody's session holds, never one a session does. Callers with neither `claim` nor
   * `anonymous` hold an operator's token and are who it says.
   */
  anonymous?: boolean;
}

/** The outcome of a join: the participant and the meeting. */
export interface JoinResult {
  meeting: Meeting;
  participant: Participant;
  created: boolean;
}

/** Longest list any call returns. */
export const MAX_LIST = 500;

const MANAGERS: Role[] = ["host", "cohost"];

/** How a join may go beyond the meeting's own rules. */
export interface JoinOptions {
  /**
   * Called before a join creates the meeting; throws a {@linkcode MeetingError} to refuse (the
   * server bounds how many meetings one address creates).
   */
  mayCreate?: () => void;
}

/** The meeting rules over a store. */
export class MeetingService {
  readonly #store: Store;
  readonly #events: MeetingEvents;
  readonly #checkPassword: PasswordCheck;
  readonly #claimPrefix: string | undefined;

  /**
   * @param claimPrefix What this server's claims start with (it names the token secret): a
   * claim with another prefix was made under a secret no token can be signed with any more, so
   * nobody can prove it and the identity is free again.
   */
  constructor(
    store: Store,
    events: MeetingEvents,
    checkPassword: PasswordCheck,
    claimPrefix?: string,
  ) {
    this.#store = store;
    this.#events = events;
    this.#checkPassword = checkPassword;
    this.#claimPrefix = claimPrefix;
  }

  /** Creates a meeting hosted by the caller; 409 if the id is taken. */
  async create(
    caller: Caller,
    id: string,
    options: { waitingRoomEnabled?: boolean; passwordHash?: string | null; e2eeRequired?: boolean },
  ): Promise<Meeting> {
    return await this.#store.createMeeting({
      id,
      hostUserId: caller.userId,
      hostDisplayName: caller.displayName,
      hostClaim: caller.claim,
      ...options,
    });
  }

  /** A meeting, or 404. */
  async get(id: string): Promise<Meeting> {
    const meeting = await this.#store.getMeeting(id);
    if (meeting === undefined) throw notFound(id);
    return meeting;
  }

  /**
   * Joins the caller to a meeting (creating it when it does not exist) and returns where they
   * stand: admitted, or waiting. Refusals throw {@linkcode MeetingError}.
   */
  async join(
    caller: Caller,
    id: string,
    password?: string,
    options: JoinOptions = {},
  ): Promise<JoinResult> {
    let meeting = await this.#store.getMeeting(id);
    let created = false;
    if (meeting === undefined) {
      options.mayCreate?.();
      try {
        meeting = await this.create(caller, id, {});
        created = true;
      } catch (error) {
        // Someone created it at the same moment: join theirs.
        meeting = await this.#store.getMeeting(id);
        if (meeting === undefined) throw error;
      }
    }
    if (meeting.state === "ended") {
      throw new MeetingError(410, "meeting_ended", Refusal.ENDED);
    }
    if (caller.claim !== undefined && await this.#store.isBanned(id, holderOf(caller.claim))) {
      throw new MeetingError(403, "removed", Refusal.REMOVED);
    }
    const existing = await this.#store.getParticipant(id, caller.userId);
    const replaceClaim = this.#assertHolds(caller, existing);
    let role: Role = existing?.role ?? (meeting.hostUserId === caller.userId ? "host" : "guest");
    // An operator's host or co-host token makes its holder a manager of this meeting.
    const granted = caller.room === id && caller.grantedRole !== undefined &&
      caller.grantedRole !== "guest";
    if (granted && role === "guest") role = "cohost";
    const manager = MANAGERS.includes(role);
    if (existing?.status === "removed") {
      throw new MeetingError(403, "removed", Refusal.REMOVED);
    }
    if (existing?.status === "rejected") {
      throw new MeetingError(403, "rejected", Refusal.DECLINED);
    }
    if (meeting.hasPassword && !manager && existing?.status !== "admitted") {
      const hash = await this.#store.passwordHash(id);
      if (!password || !hash || !(await this.#checkPassword(password, hash))) {
        throw new MeetingError(403, "wrong_password", Refusal.WRONG_PASSWORD);
      }
    }
    let status: ParticipantStatus;
    if (manager || existing?.status === "admitted") status = "admitted";
    else if (meeting.locked) {
      throw new MeetingError(423, "locked", Refusal.LOCKED);
    } else status = meeting.waitingRoomEnabled ? "waiting" : "admitted";
    const participant = await this.#store.upsertParticipant({
      meetingId: id,
      userId: caller.userId,
      displayName: caller.displayName,
      role,
      status,
      updateRole: granted,
      claim: caller.claim,
      replaceClaim,
    });
    // A host removed or declined them while this join was on its way: their decision stands.
    if (participant.status === "removed") {
      throw new MeetingError(403, "removed", Refusal.REMOVED);
    }
    if (participant.status === "rejected") {
      throw new MeetingError(403, "rejected", Refusal.DECLINED);
    }
    if (meeting.state === "idle" && status === "admitted") {
      meeting = (await this.#store.updateMeeting(id, { state: "active" })) ?? meeting;
    }
    if (status === "waiting") this.#events.publish({ type: "waiting_changed", meetingId: id });
    return { meeting, participant, created };
  }

  /** Marks the caller as having left. */
  async leave(caller: Caller, id: string): Promise<Participant> {
    this.#assertHolds(caller, await this.#store.getParticipant(id, caller.userId));
    const p = await this.#store.transitionParticipant(
      id,
      caller.userId,
      ["admitted", "waiting"],
      "left",
    );
    if (p === undefined) {
      throw new MeetingError(404, "not_participant", "You are not in this meeting");
    }
    // Close their media connections everywhere now: a browser's WebTransport close is not seen
    // by Deno 2.9.6 until the connection idles out, so the page leaves through the API.
    this.#events.publish({ type: "left", meetingId: id, userId: caller.userId });
    return p;
  }

  /** The caller's standing in a meeting. */
  async status(caller: Caller, id: string): Promise<Participant> {
    await this.get(id);
    const p = await this.#store.getParticipant(id, caller.userId);
    if (p === undefined) {
      throw new MeetingError(404, "not_participant", "You have not joined this meeting");
    }
    return p;
  }

  /** Participants by status (admitted ones by default), for anyone admitted. */
  async participants(
    caller: Caller,
    id: string,
    statuses?: ParticipantStatus[],
  ): Promise<Participant[]> {
    await this.#requireStatus(caller, id, ["admitted"]);
    return await this.#store.listParticipants(id, statuses ?? ["admitted"], MAX_LIST);
  }

  /** Refuses (403) a caller who is not an admitted participant of meeting `id`. */
  async requireAdmitted(caller: Caller, id: string): Promise<void> {
    await this.#requireStatus(caller, id, ["admitted"]);
  }

  /** Who waits, for hosts and co-hosts. */
  async waiting(caller: Caller, id: string): Promise<Participant[]> {
    await this.#requireManager(caller, id);
    return await this.#store.listParticipants(id, ["waiting"], MAX_LIST);
  }

  /** Lets a waiting participant in. */
  async admit(caller: Caller, id: string, userId: string): Promise<Participant> {
    await this.#requireManager(caller, id);
    const p = await this.#store.transitionParticipant(id, userId, ["waiting"], "admitted");
    if (p === undefined) throw notWaiting(userId);
    this.#events.publish({ type: "admitted", meetingId: id, userId });
    return p;
  }

  /** Lets everyone waiting in. */
  async admitAll(caller: Caller, id: string): Promise<Participant[]> {
    await this.#requireManager(caller, id);
    const admitted: Participant[] = [];
    for (const w of await this.#store.listParticipants(id, ["waiting"], MAX_LIST)) {
      const p = await this.#store.transitionParticipant(id, w.userId, ["waiting"], "admitted");
      if (p) {
        admitted.push(p);
        this.#events.publish({ type: "admitted", meetingId: id, userId: p.userId });
      }
    }
    return admitted;
  }

  /** Turns a waiting participant away. */
  async reject(caller: Caller, id: string, userId: string): Promise<Participant> {
    await this.#requireManager(caller, id);
    const p = await this.#store.transitionParticipant(id, userId, ["waiting"], "rejected");
    if (p === undefined) throw notWaiting(userId);
    this.#events.publish({ type: "rejected", meetingId: id, userId });
    return p;
  }

  /** Removes a participant; their connections close on every instance. */
  async remove(caller: Caller, id: string, userId: string): Promise<Participant> {
    const meeting = await this.#requireManager(caller, id);
    if (userId === meeting.hostUserId) {
      throw new MeetingError(403, "cannot_remove_host", "Nobody can remove the host");
    }
    const p = await this.#store.transitionParticipant(
      id,
      userId,
      ["admitted", "waiting", "left"],
      "removed",
    );
    if (p === undefined) {
      throw new MeetingError(404, "not_participant", `"${userId}" is not in this meeting`);
    }
    // Their session may not come back under another name either.
    // Banned is the session, whatever its tokens' expiries.
    if (p.claim !== undefined) await this.#store.banClaim(id, holderOf(p.claim));
    this.#events.publish({ type: "removed", meetingId: id, userId });
    return p;
  }

  /** Makes someone a co-host or a guest again; host only. */
  async setRole(caller: Caller, id: string, userId: string, role: Role): Promise<Participant> {
    const meeting = await this.get(id);
    if (caller.userId !== meeting.hostUserId) {
      throw new MeetingError(403, "not_host", "Only the host can change roles");
    }
    this.#assertHolds(caller, await this.#store.getParticipant(id, caller.userId));
    if (role === "host" || userId === meeting.hostUserId) {
      throw new MeetingError(400, "bad_role", "The host's role cannot be given or taken");
    }
    const p = await this.#store.setRole(id, userId, role);
    if (p === undefined) {
      throw new MeetingError(404, "not_participant", `"${userId}" is not in this meeting`);
    }
    this.#events.publish({ type: "role", meetingId: id, userId, role });
    return p;
  }

  /** Locks or unlocks a meeting. */
  async setLocked(caller: Caller, id: string, locked: boolean): Promise<Meeting> {
    await this.#requireManager(caller, id);
    const meeting = await this.#store.updateMeeting(id, { locked });
    if (meeting === undefined) throw notFound(id);
    this.#events.publish({ type: locked ? "locked" : "unlocked", meetingId: id });
    return meeting;
  }

  /** Changes meeting settings. */
  async update(
    caller: Caller,
    id: string,
    patch: { waitingRoomEnabled?: boolean; passwordHash?: string | null; e2eeRequired?: boolean },
  ): Promise<Meeting> {
    await this.#requireManager(caller, id);
    const meeting = await this.#store.updateMeeting(id, patch);
    if (meeting === undefined) throw notFound(id);
    if (patch.waitingRoomEnabled !== undefined) {
      this.#events.publish({ type: "waiting_changed", meetingId: id });
    }
    return meeting;
  }

  /** Ends a meeting for everyone. */
  async end(caller: Caller, id: string): Promise<Meeting> {
    await this.#requireManager(caller, id);
    const meeting = await this.#store.updateMeeting(id, { state: "ended" });
    if (meeting === undefined) throw notFound(id);
    this.#events.publish({ type: "ended", meetingId: id });
    return meeting;
  }

  /** Deletes a meeting (host only); it also ends. */
  async delete(caller: Caller, id: string): Promise<void> {
    const meeting = await this.get(id);
    if (caller.userId !== meeting.hostUserId) {
      throw new MeetingError(403, "not_host", "Only the host can delete the meeting");
    }
    await this.#store.deleteMeeting(id);
    this.#events.publish({ type: "ended", meetingId: id });
  }

  /** Meetings the caller hosts. */
  async list(caller: Caller, limit: number, offset: number): Promise<Meeting[]> {
    return await this.#store.listMeetings(caller.userId, Math.min(limit, MAX_LIST), offset);
  }

  async #requireStatus(
    caller: Caller,
    id: string,
    statuses: ParticipantStatus[],
  ): Promise<Participant> {
    await this.get(id);
    const p = await this.#store.getParticipant(id, caller.userId);
    if (p === undefined || !statuses.includes(p.status)) {
      throw new MeetingError(403, "not_admitted", "Only admitted participants can see this");
    }
    return p;
  }

  /**
   * Refuses a caller whose identity in this meeting is held by another guest session (403
   * `identity_taken`). A claim is `<secret prefix><session id>.<expiry in Unix seconds>`: the
   * same session holds it whatever its token's expiry; a claim whose session has expired, or
   * that was made under another token secret, can no longer be proved by anyone and is free.
   * True when the caller's claim should be stored (it takes the identity over, or renews it).
   */
  #assertHolds(caller: Caller, p: Participant | undefined): boolean {
    if (p?.claim === undefined || p.claim === caller.claim) return false;
    if (caller.claim !== undefined && holderOf(caller.claim) === holderOf(p.claim)) return true;
    const expired = Number(p.claim.slice(p.claim.lastIndexOf(".") + 1)) * 1000 < Date.now();
    const foreign = this.#claimPrefix !== undefined && !p.claim.startsWith(this.#claimPrefix);
    if (expired || foreign) return caller.claim !== undefined;
    // An operator's token is the operator's word: it needs no session.
    if (caller.claim === undefined && caller.anonymous !== true) return false;
    throw new MeetingError(403, "identity_taken", Refusal.IDENTITY_TAKEN);
  }

  async #requireManager(caller: Caller, id: string): Promise<Meeting> {
    const meeting = await this.get(id);
    const p = await this.#store.getParticipant(id, caller.userId);
    this.#assertHolds(caller, p);
    const manager = meeting.hostUserId === caller.userId ||
      (p !== undefined && MANAGERS.includes(p.role) && p.status === "admitted");
    if (!manager) {
      throw new MeetingError(403, "not_host", "Only hosts and co-hosts can do this");
    }
    return meeting;
  }
}

/** The session part of a claim (without its expiry). */
function holderOf(claim: string): string {
  return claim.slice(0, claim.lastIndexOf("."));
}

function notFound(id: string): MeetingError {
  return new MeetingError(404, "meeting_not_found", `There is no meeting "${id}"`);
}

function notWaiting(userId: string): MeetingError {
  return new MeetingError(409, "not_waiting", `"${userId}" is not waiting to join`);
}
