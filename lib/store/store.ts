/**
 * The boundary between the server and where meetings and participants live. The relay and the
 * HTTP routes depend on this interface only; `postgres_store.ts` (postgres.js against a real
 * PostgreSQL) and `pglite_store.ts` (embedded Postgres in WASM, the default) implement it with
 * the same SQL migrations. Business rules (who may do what, who waits) live in the meeting
 * service above the store; the store keeps the data consistent under concurrent calls.
 *
 * @module
 */

/** A meeting's life cycle: created, someone is in it, over. */
export type MeetingState = "idle" | "active" | "ended";

/** What a participant may do in a meeting. */
export type Role = "host" | "cohost" | "guest";

/** Where a participant stands with a meeting. */
export type ParticipantStatus = "waiting" | "admitted" | "rejected" | "removed" | "left";

/** A meeting as stored. */
export interface Meeting {
  id: string;
  hostUserId: string;
  state: MeetingState;
  waitingRoomEnabled: boolean;
  locked: boolean;
  e2eeRequired: boolean;
  /** Whether a password is set (the hash itself never leaves the store but for checking). */
  hasPassword: boolean;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
}

/** A participant of a meeting as stored. */
export interface Participant {
  meetingId: string;
  userId: string;
  displayName: string;
  role: Role;
  status: ParticipantStatus;
  createdAt: Date;
  updatedAt: Date;
  /** The guest session that holds this identity in the meeting, if one does. */
  claim?: string;
}

/** What creating a meeting takes. */
export interface NewMeeting {
  id: string;
  hostUserId: string;
  hostDisplayName: string;
  /** The creator's guest session: the host identity is bound to it. */
  hostClaim?: string;
  waitingRoomEnabled?: boolean;
  e2eeRequired?: boolean;
  /** A hash from `lib/auth/password.ts`, never the password. */
  passwordHash?: string | null;
}

/** Fields a host may change. */
export interface MeetingPatch {
  waitingRoomEnabled?: boolean;
  locked?: boolean;
  e2eeRequired?: boolean;
  passwordHash?: string | null;
  state?: MeetingState;
}

/** Thrown when a write conflicts with existing data (a meeting id taken, for example). */
export class StoreConflictError extends Error {
  override name = "StoreConflictError";
}

/**
 * Thrown when the database refuses a value its constraints forbid (an id outside
 * `^[A-Za-z0-9_-]{1,64}$`, a display name longer than the cap, a NUL character). Callers should
 * validate first; this is the last line of defence, and the HTTP layer answers 400.
 */
export class StoreInvalidError extends Error {
  override name = "StoreInvalidError";
}

/** Thrown when the database cannot be reached or fails; the HTTP layer answers 503. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** Meetings and participants. Every method is atomic. */
export interface Store {
  /** `"postgres"` or `"pglite"`. */
  readonly kind: string;
  /** Creates a meeting with its host as an admitted participant; conflicts if the id exists. */
  createMeeting(meeting: NewMeeting): Promise<Meeting>;
  /** A meeting that is not deleted. */
  getMeeting(id: string): Promise<Meeting | undefined>;
  /** Meetings a user hosts, newest first, at most `limit`. */
  listMeetings(hostUserId: string, limit: number, offset: number): Promise<Meeting[]>;
  /** Changes a meeting; undefined if it does not exist. */
  updateMeeting(id: string, patch: MeetingPatch): Promise<Meeting | undefined>;
  /** Soft-deletes a meeting; false if it did not exist. */
  deleteMeeting(id: string): Promise<boolean>;
  /** The stored password hash, for checking a join. */
  passwordHash(id: string): Promise<string | null | undefined>;
  /** A participant, if the user ever joined. */
  getParticipant(meetingId: string, userId: string): Promise<Participant | undefined>;
  /**
   * Inserts or updates a participant in one statement (concurrent joins of one user are safe).
   * `role` is only set on insert unless `updateRole` is true. A participant a host removed or
   * rejected is never revived: it is returned unchanged, and the caller must refuse. Throws
   * {@linkcode StoreConflictError} when the meeting does not exist or is deleted.
   */
  upsertParticipant(
    p: Pick<Participant, "meetingId" | "userId" | "displayName" | "role" | "status"> & {
      updateRole?: boolean;
      /** Binds the identity to this claim when it has none (or, with `replaceClaim`, always). */
      claim?: string;
      replaceClaim?: boolean;
    },
  ): Promise<Participant>;
  /** Bans a guest session from a meeting (a host removed its holder). */
  banClaim(meetingId: string, claim: string): Promise<void>;
  /** Whether a guest session is banned from a meeting. */
  isBanned(meetingId: string, claim: string): Promise<boolean>;
  /** Sets a participant's status if it is currently one of `from`; undefined otherwise. */
  transitionParticipant(
    meetingId: string,
    userId: string,
    from: ParticipantStatus[],
    to: ParticipantStatus,
  ): Promise<Participant | undefined>;
  /** Sets a participant's role; undefined if not a participant. */
  setRole(meetingId: string, userId: string, role: Role): Promise<Participant | undefined>;
  /** Participants with one of `statuses` (all when omitted), oldest first, at most `limit`. */
  listParticipants(
    meetingId: string,
    statuses: ParticipantStatus[] | undefined,
    limit: number,
  ): Promise<Participant[]>;
  /** Releases connections. */
  close(): Promise<void>;
}
