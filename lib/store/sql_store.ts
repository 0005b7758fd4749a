/**
 * The {@linkcode Store} in SQL, once, over a {@linkcode Database}: `postgres_store.ts` and
 * `pglite_store.ts` only adapt their driver. Every statement binds its inputs as parameters;
 * no input is ever spliced into SQL text.
 *
 * Consistency under concurrent calls comes from single statements: a participant upsert is one
 * `INSERT … ON CONFLICT DO UPDATE`, and a status transition is one `UPDATE … WHERE status =
 * ANY(from)`, so of two racing transitions exactly one matches. Deleted meetings, and their
 * participants, are invisible to every read and write.
 *
 * @module
 */
import { storeError } from "./_errors.ts";
import { MAX_LIST_ROWS } from "./limits.ts";
import { migrate, type Migration } from "./migrate.ts";
import type { Database, Row } from "./queryable.ts";
import {
  type Meeting,
  type MeetingPatch,
  type MeetingState,
  type NewMeeting,
  type Participant,
  type ParticipantStatus,
  type Role,
  type Store,
  StoreConflictError,
  StoreInvalidError,
} from "./store.ts";

const MEETING_COLUMNS = `id, host_user_id, state, waiting_room_enabled, locked, e2ee_required,
  password_hash IS NOT NULL AS has_password, created_at, updated_at, started_at, ended_at`;

const PARTICIPANT_COLUMNS =
  "meeting_id, user_id, display_name, role, status, created_at, updated_at, claim";

const LIVE_MEETING = "SELECT 1 FROM meetings m WHERE m.id = $1 AND m.deleted_at IS NULL";

/** The input of {@linkcode Store.upsertParticipant}. */
export type ParticipantUpsert = Parameters<Store["upsertParticipant"]>[0];

/**
 * A {@linkcode Store} over any {@linkcode Database} whose schema `migrate()` has brought up to
 * date. Lists return at most {@linkcode MAX_LIST_ROWS} rows whatever `limit` asks for.
 *
 * @example
 * ```ts ignore
 * import { SqlStore } from "./sql_store.ts";
 *
 * const store = new SqlStore("postgres", database);
 * const meeting = await store.createMeeting({ id: "standup", hostUserId: "ada", hostDisplayName: "Ada" });
 * ```
 */
export class SqlStore implements Store {
  readonly kind: string;
  readonly #db: Database;

  /** Wraps a migrated `db`; `kind` names the driver (`"postgres"`, `"pglite"`). */
  constructor(kind: string, db: Database) {
    this.kind = kind;
    this.#db = db;
  }

  /**
   * Applies migrations the database has not seen (all of `migrations/` by default) and returns
   * their versions; empty when it is up to date. The drivers' constructors already did this.
   */
  async migrate(migrations?: readonly Migration[]): Promise<string[]> {
    return await migrate(this.#db, migrations);
  }

  async createMeeting(meeting: NewMeeting): Promise<Meeting> {
    try {
      return await this.#db.transaction(async (tx) => {
        const [row] = await tx.query(
          `INSERT INTO meetings (id, host_user_id, waiting_room_enabled, e2ee_required, password_hash)
           VALUES ($1::text, $2::text, $3::boolean, $4::boolean, $5::text)
           RETURNING ${MEETING_COLUMNS}`,
          [
            meeting.id,
            meeting.hostUserId,
            meeting.waitingRoomEnabled ?? false,
            meeting.e2eeRequired ?? false,
            meeting.passwordHash ?? null,
          ],
        );
        await tx.query(
          `INSERT INTO participants (meeting_id, user_id, display_name, role, status, claim)
           VALUES ($1::text, $2::text, $3::text, 'host', 'admitted', $4::text)`,
          [meeting.id, meeting.hostUserId, meeting.hostDisplayName, meeting.hostClaim ?? null],
        );
        return toMeeting(row);
      });
    } catch (error) {
      const failure = storeError(error, `create meeting "${printable(meeting.id)}"`);
      if (failure instanceof StoreConflictError) {
        throw new StoreConflictError(`Meeting "${printable(meeting.id)}" already exists`, {
          cause: error,
        });
      }
      throw failure;
    }
  }

  async getMeeting(id: string): Promise<Meeting | undefined> {
    const rows = await this.#query(
      "read a meeting",
      `SELECT ${MEETING_COLUMNS} FROM meetings WHERE id = $1::text AND deleted_at IS NULL`,
      [id],
    );
    return rows.length === 0 ? undefined : toMeeting(rows[0]);
  }

  async listMeetings(hostUserId: string, limit: number, offset: number): Promise<Meeting[]> {
    const rows = await this.#query(
      "list meetings",
      `SELECT ${MEETING_COLUMNS} FROM meetings
       WHERE host_user_id = $1::text AND deleted_at IS NULL
       ORDER BY seq DESC
       LIMIT $2::bigint OFFSET $3::bigint`,
      [hostUserId, cappedLimit(limit), count("offset", offset)],
    );
    return rows.map(toMeeting);
  }

  async updateMeeting(id: string, patch: MeetingPatch): Promise<Meeting | undefined> {
    const setsPassword = patch.passwordHash !== undefined;
    const fields = [patch.waitingRoomEnabled, patch.locked, patch.e2eeRequired, patch.state];
    if (!setsPassword && fields.every((v) => v === undefined)) return await this.getMeeting(id);
    const rows = await this.#query(
      "update a meeting",
      `UPDATE meetings SET
         waiting_room_enabled = COALESCE($2::boolean, waiting_room_enabled),
         locked = COALESCE($3::boolean, locked),
         e2ee_required = COALESCE($4::boolean, e2ee_required),
         password_hash = CASE WHEN $5::boolean THEN $6::text ELSE password_hash END,
         state = COALESCE($7::text, state),
         started_at = CASE WHEN $7::text = 'active' THEN COALESCE(started_at, now())
                      ELSE started_at END,
         ended_at = CASE WHEN $7::text = 'ended' THEN COALESCE(ended_at, now())
                    WHEN $7::text IS NOT NULL THEN NULL
                    ELSE ended_at END,
         updated_at = now()
       WHERE id = $1::text AND deleted_at IS NULL
       RETURNING ${MEETING_COLUMNS}`,
      [
        id,
        patch.waitingRoomEnabled ?? null,
        patch.locked ?? null,
        patch.e2eeRequired ?? null,
        setsPassword,
        patch.passwordHash ?? null,
        patch.state ?? null,
      ],
    );
    return rows.length === 0 ? undefined : toMeeting(rows[0]);
  }

  async deleteMeeting(id: string): Promise<boolean> {
    const rows = await this.#query(
      "delete a meeting",
      `UPDATE meetings SET deleted_at = now(), updated_at = now()
       WHERE id = $1::text AND deleted_at IS NULL
       RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  async passwordHash(id: string): Promise<string | null | undefined> {
    const rows = await this.#query(
      "read a meeting password",
      "SELECT password_hash FROM meetings WHERE id = $1::text AND deleted_at IS NULL",
      [id],
    );
    if (rows.length === 0) return undefined;
    const hash = rows[0].password_hash;
    return hash === null ? null : text(hash, "password_hash");
  }

  async getParticipant(meetingId: string, userId: string): Promise<Participant | undefined> {
    const rows = await this.#query(
      "read a participant",
      `SELECT ${PARTICIPANT_COLUMNS} FROM participants
       WHERE meeting_id = $1::text AND user_id = $2::text AND EXISTS (${LIVE_MEETING})`,
      [meetingId, userId],
    );
    return rows.length === 0 ? undefined : toParticipant(rows[0]);
  }

  async upsertParticipant(p: ParticipantUpsert): Promise<Participant> {
    const rows = await this.#query(
      "add a participant",
      `INSERT INTO participants AS p (meeting_id, user_id, display_name, role, status, claim)
       SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $7::text
       WHERE EXISTS (${LIVE_MEETING})
       ON CONFLICT (meeting_id, user_id) DO UPDATE SET
         display_name = EXCLUDED.display_name,
         status = EXCLUDED.status,
         role = CASE WHEN $6::boolean THEN EXCLUDED.role ELSE p.role END,
         claim = CASE WHEN $8::boolean THEN EXCLUDED.claim ELSE COALESCE(p.claim, EXCLUDED.claim) END,
         updated_at = now()
       WHERE p.status NOT IN ('removed', 'rejected')
       RETURNING ${PARTICIPANT_COLUMNS}`,
      [
        p.meetingId,
        p.userId,
        p.displayName,
        p.role,
        p.status,
        p.updateRole ?? false,
        p.claim ?? null,
        p.replaceClaim ?? false,
      ],
    );
    if (rows.length === 0) {
      // A host's removal or refusal stands even against a join racing with it.
      const barred = await this.getParticipant(p.meetingId, p.userId);
      if (barred !== undefined) return barred;
      throw new StoreConflictError(`Meeting "${printable(p.meetingId)}" does not exist`);
    }
    return toParticipant(rows[0]);
  }

  async banClaim(meetingId: string, claim: string): Promise<void> {
    await this.#query(
      "ban a session",
      `INSERT INTO meeting_bans (meeting_id, claim) SELECT $1::text, $2::text
       WHERE EXISTS (${LIVE_MEETING})
       ON CONFLICT DO NOTHING`,
      [meetingId, claim],
    );
  }

  async isBanned(meetingId: string, claim: string): Promise<boolean> {
    const rows = await this.#query(
      "read a ban",
      "SELECT 1 FROM meeting_bans WHERE meeting_id = $1::text AND claim = $2::text",
      [meetingId, claim],
    );
    return rows.length > 0;
  }

  async transitionParticipant(
    meetingId: string,
    userId: string,
    from: ParticipantStatus[],
    to: ParticipantStatus,
  ): Promise<Participant | undefined> {
    const rows = await this.#query(
      "change a participant's status",
      `UPDATE participants SET status = $4::text, updated_at = now()
       WHERE meeting_id = $1::text AND user_id = $2::text AND status = ANY($3::text[])
         AND EXISTS (${LIVE_MEETING})
       RETURNING ${PARTICIPANT_COLUMNS}`,
      [meetingId, userId, from, to],
    );
    return rows.length === 0 ? undefined : toParticipant(rows[0]);
  }

  async setRole(meetingId: string, userId: string, role: Role): Promise<Participant | undefined> {
    const rows = await this.#query(
      "change a participant's role",
      `UPDATE participants SET role = $3::text, updated_at = now()
       WHERE meeting_id = $1::text AND user_id = $2::text AND EXISTS (${LIVE_MEETING})
       RETURNING ${PARTICIPANT_COLUMNS}`,
      [meetingId, userId, role],
    );
    return rows.length === 0 ? undefined : toParticipant(rows[0]);
  }

  async listParticipants(
    meetingId: string,
    statuses: ParticipantStatus[] | undefined,
    limit: number,
  ): Promise<Participant[]> {
    const rows = await this.#query(
      "list participants",
      `SELECT ${PARTICIPANT_COLUMNS} FROM participants
       WHERE meeting_id = $1::text AND ($2::text[] IS NULL OR status = ANY($2::text[]))
         AND EXISTS (${LIVE_MEETING})
       ORDER BY seq
       LIMIT $3::bigint`,
      [meetingId, statuses ?? null, cappedLimit(limit)],
    );
    return rows.map(toParticipant);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async #query(doing: string, sql: string, params: readonly unknown[]): Promise<Row[]> {
    try {
      return await this.#db.query(sql, params);
    } catch (error) {
      throw storeError(error, doing);
    }
  }
}

function count(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StoreInvalidError(`The ${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function cappedLimit(limit: number): number {
  return Math.min(count("limit", limit), MAX_LIST_ROWS);
}

// Keeps control characters out of error messages and logs.
function printable(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, "?");
}

function text(value: unknown, column: string): string {
  if (typeof value !== "string") throw new Error(`Column "${column}" is not text`);
  return value;
}

function flag(value: unknown, column: string): boolean {
  if (typeof value !== "boolean") throw new Error(`Column "${column}" is not a boolean`);
  return value;
}

function time(value: unknown, column: string): Date {
  const date = value instanceof Date ? value : new Date(text(value, column));
  if (Number.isNaN(date.getTime())) throw new Error(`Column "${column}" is not a timestamp`);
  return date;
}

function toMeeting(row: Row): Meeting {
  return {
    id: text(row.id, "id"),
    hostUserId: text(row.host_user_id, "host_user_id"),
    state: text(row.state, "state") as MeetingState,
    waitingRoomEnabled: flag(row.waiting_room_enabled, "waiting_room_enabled"),
    locked: flag(row.locked, "locked"),
    e2eeRequired: flag(row.e2ee_required, "e2ee_required"),
    hasPassword: flag(row.has_password, "has_password"),
    createdAt: time(row.created_at, "created_at"),
    updatedAt: time(row.updated_at, "updated_at"),
    startedAt: row.started_at === null ? null : time(row.started_at, "started_at"),
    endedAt: row.ended_at === null ? null : time(row.ended_at, "ended_at"),
  };
}

function toParticipant(row: Row): Participant {
  return {
    meetingId: text(row.meeting_id, "meeting_id"),
    userId: text(row.user_id, "user_id"),
    displayName: text(row.display_name, "display_name"),
    role: text(row.role, "role") as Role,
    status: text(row.status, "status") as ParticipantStatus,
    createdAt: time(row.created_at, "created_at"),
    updatedAt: time(row.updated_at, "updated_at"),
    ...(row.claim === null || row.claim === undefined ? {} : { claim: text(row.claim, "claim") }),
  };
}
