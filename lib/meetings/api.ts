/**
 * The meeting API under `/api/v1`, after videocall-rs's meeting-api: its routes, its request
 * field names and its envelope, `{"success": true, "result": ...}` or
 * `{"success": false, "result": {"code", "message"}}` with a proper HTTP status.
 *
 * | route | who |
 * |---|---|
 * | `GET /api/v1/meetings`, `POST /api/v1/meetings` | any caller (lists / creates their own) |
 * | `GET`, `PATCH`, `DELETE /api/v1/meetings/{id}` | anyone / hosts and co-hosts / the host |
 * | `POST /api/v1/meetings/{id}/join`, `/leave`; `GET .../status` | the caller |
 * | `GET .../participants` | admitted participants |
 * | `GET .../roster?limit&offset` | admitted participants: who is connected now, paged |
 * | `GET .../waiting`; `POST .../admit`, `/admit-all`, `/reject`, `/remove`, `/lock`, `/unlock`, `/end` | hosts and co-hosts |
 * | `POST .../role` | the host |
 *
 * @module
 */
import { validateId } from "../protocol/ids.ts";
import { StoreConflictError, StoreInvalidError, StoreUnavailableError } from "../store/store.ts";
import type { Meeting, Participant, ParticipantStatus, Role } from "../store/store.ts";
import { type Caller, MeetingError, type MeetingService } from "./service.ts";
import { readJsonObject } from "../server/request_body.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Longest display name, in characters. */
export const MAX_DISPLAY_NAME_LENGTH = 100;
/** Longest meeting password, in characters. */
export const MAX_PASSWORD_LENGTH = 128;
/** Most attendees one create call may list. */
export const MAX_ATTENDEES = 100;

/** What the API needs from its surroundings. */
export interface ApiOptions {
  service: MeetingService;
  /** The caller, or a response refusing the request (401). */
  authenticate(request: Request): Promise<Caller | Response>;
  /** Hashes a meeting password. */
  hashPassword(password: string): Promise<string>;
  /** Who is connected to a meeting now, on every instance (the relay's live roster). */
  liveRoster?(meetingId: string): Promise<LiveParticipant[]>;
  /**
   * Called before a call creates a meeting, with the client's address; throws a
   * {@linkcode MeetingError} to refuse (the server bounds meetings created per address).
   */
  mayCreate?(address: string): void;
}

/** One connected participant, as the live roster lists them. */
export interface LiveParticipant {
  sessionId: bigint;
  userId: string;
  displayName: string;
  /** False for someone a large meeting counts without announcing (they publish nothing). */
  announced?: boolean;
}

/** Most roster entries one request returns. */
export const MAX_ROSTER_PAGE = 500;

/** A whole number from `min` to `max` from a query parameter, or its default. */
function queryInt(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new BadRequest(`"${name}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A JSON success envelope. */
export function ok(result: unknown, status = 200): Response {
  return Response.json({ success: true, result }, { status });
}

/** A JSON error envelope. */
export function fail(status: number, code: string, message: string): Response {
  return Response.json({ success: false, result: { code, message } }, { status });
}

class BadRequest extends Error {
  constructor(message: string, readonly status = 400, readonly code = "bad_request") {
    super(message);
  }
}

function meetingView(m: Meeting) {
  return {
    meeting_id: m.id,
    host: m.hostUserId,
    state: m.state,
    waiting_room_enabled: m.waitingRoomEnabled,
    locked: m.locked,
    e2ee_required: m.e2eeRequired,
    has_password: m.hasPassword,
    created_at: m.createdAt.toISOString(),
    started_at: m.startedAt?.toISOString() ?? null,
    ended_at: m.endedAt?.toISOString() ?? null,
  };
}

function participantView(p: Participant) {
  return {
    user_id: p.userId,
    display_name: p.displayName,
    role: p.role,
    status: p.status,
    joined_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const read = await readJsonObject(request, MAX_BODY_BYTES);
  if (!read.ok) throw new BadRequest(read.message, read.status, read.code);
  return read.value;
}

function optionalBool(body: Record<string, unknown>, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new BadRequest(`"${name}" must be true or false`);
  return v;
}

function optionalString(
  body: Record<string, unknown>,
  name: string,
  max: number,
): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BadRequest(`"${name}" must be a string`);
  if (v.length > max) throw new BadRequest(`"${name}" is longer than ${max} characters`);
  return v;
}

function requiredId(body: Record<string, unknown>, name: string, kind: string): string {
  const v = body[name];
  if (typeof v !== "string") throw new BadRequest(`"${name}" is required`);
  const check = validateId(kind, v);
  if (!check.ok) throw new BadRequest(check.reason);
  return check.id;
}

/** Creates the handler for everything under `/api/v1/meetings`; undefined for other paths. */
export function createMeetingApi(
  options: ApiOptions,
): (request: Request, url: URL, address?: string) => Promise<Response> | undefined {
  const { service } = options;
  return (request, url, address) => {
    const parts = url.pathname.split("/").filter((p) => p !== "");
    // ["api", "v1", "meetings", id?, action?]
    if (parts.length < 3 || parts[0] !== "api" || parts[1] !== "v1" || parts[2] !== "meetings") {
      return undefined;
    }
    const mayCreate = address === undefined || options.mayCreate === undefined
      ? undefined
      : () => options.mayCreate!(address);
    return handle(request, url, parts.slice(3), mayCreate).catch((error) => {
      if (error instanceof BadRequest) return fail(error.status, error.code, error.message);
      if (error instanceof MeetingError) return fail(error.status, error.code, error.message);
      if (error instanceof StoreConflictError) return fail(409, "conflict", error.message);
      if (error instanceof StoreInvalidError) return fail(400, "bad_request", error.message);
      if (error instanceof StoreUnavailableError) {
        return fail(503, "database_unavailable", "The database is unavailable; try again shortly");
      }
      return fail(500, "internal_error", "Something went wrong on the server");
    });
  };

  // The live roster, a page at a time: the announced first (those who publish, or came while the
  // meeting was small), then the counted listeners; by name within each.
  async function roster(caller: Caller, id: string, url: URL): Promise<Response> {
    const limit = queryInt(url, "limit", 100, 1, MAX_ROSTER_PAGE);
    const offset = queryInt(url, "offset", 0, 0, 1_000_000);
    await service.requireAdmitted(caller, id);
    const everyone = await options.liveRoster?.(id) ?? [];
    everyone.sort((a, b) =>
      Number(a.announced === false) - Number(b.announced === false) ||
      a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId) ||
      (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0)
    );
    return ok({
      meeting_id: id,
      total: everyone.length,
      offset,
      limit,
      participants: everyone.slice(offset, offset + limit).map((p) => ({
        session_id: p.sessionId.toString(),
        user_id: p.userId,
        display_name: p.displayName,
        announced: p.announced !== false,
      })),
    });
  }

  async function handle(
    request: Request,
    url: URL,
    rest: string[],
    mayCreate: (() => void) | undefined,
  ): Promise<Response> {
    if (rest.length > 2) return fail(404, "not_found", `Nothing at ${url.pathname}`);
    let id: string | undefined;
    if (rest.length >= 1) {
      let raw: string;
      try {
        raw = decodeURIComponent(rest[0]);
      } catch {
        throw new BadRequest("The meeting id has invalid percent-encoding");
      }
      const check = validateId("meeting id", raw);
      if (!check.ok) throw new BadRequest(check.reason);
      id = check.id;
    }
    const action = rest[1];
    const method = request.method;
    const caller = await options.authenticate(request);
    if (caller instanceof Response) return caller;
    // A room-scoped token acts on its meeting only.
    const wrongRoom = (meetingId: string) => caller.room !== undefined && meetingId !== caller.room;
    if (id !== undefined && wrongRoom(id)) {
      return fail(403, "wrong_room", "The token is for another meeting");
    }

    if (id === undefined) {
      if (method === "GET") {
        const limit = Math.min(Number(url.searchParams.get("limit") ?? "50") || 50, 500);
        const offset = Math.max(Number(url.searchParams.get("offset") ?? "0") || 0, 0);
        return ok((await service.list(caller, limit, offset)).map(meetingView));
      }
      if (method === "POST") {
        const body = await readBody(request);
        const meetingId = requiredId(body, "meeting_id", "meeting id");
        if (wrongRoom(meetingId)) {
          return fail(403, "wrong_room", "The token is for another meeting");
        }
        const password = optionalString(body, "password", MAX_PASSWORD_LENGTH);
        const attendees = body.attendees;
        if (
          attendees !== undefined && (!Array.isArray(attendees) || attendees.length > MAX_ATTENDEES)
        ) {
          throw new BadRequest(`"attendees" must be a list of at most ${MAX_ATTENDEES} user ids`);
        }
        for (const a of (attendees as unknown[] | undefined) ?? []) {
          if (typeof a !== "string" || !validateId("attendee", a).ok) {
            throw new BadRequest(`"attendees" must hold user ids`);
          }
        }
        mayCreate?.();
        const meeting = await service.create(caller, meetingId, {
          waitingRoomEnabled: optionalBool(body, "waiting_room_enabled"),
          e2eeRequired: optionalBool(body, "e2ee_required"),
          passwordHash: password ? await options.hashPassword(password) : null,
        });
        return ok(meetingView(meeting), 201);
      }
      return fail(405, "method_not_allowed", `${method} is not allowed here`);
    }

    if (action === undefined) {
      if (method === "GET") return ok(meetingView(await service.get(id)));
      if (method === "DELETE") {
        await service.delete(caller, id);
        return ok({ meeting_id: id, deleted: true });
      }
      if (method === "PATCH") {
        const body = await readBody(request);
        const password = body.password === null
          ? null
          : optionalString(body, "password", MAX_PASSWORD_LENGTH);
        const meeting = await service.update(caller, id, {
          waitingRoomEnabled: optionalBool(body, "waiting_room_enabled"),
          e2eeRequired: optionalBool(body, "e2ee_required"),
          passwordHash: password === undefined
            ? undefined
            : password === null || password === ""
            ? null
            : await options.hashPassword(password),
        });
        return ok(meetingView(meeting));
      }
      return fail(405, "method_not_allowed", `${method} is not allowed here`);
    }

    const get = method === "GET";
    const post = method === "POST";
    switch (action) {
      case "status":
        if (get) return ok(participantView(await service.status(caller, id)));
        break;
      case "participants":
        if (get) return ok((await service.participants(caller, id)).map(participantView));
        break;
      case "roster":
        if (get) return await roster(caller, id, url);
        break;
      case "waiting":
        if (get) return ok((await service.waiting(caller, id)).map(participantView));
        break;
      case "join":
        if (post) {
          const body = await readBody(request);
          const displayName = optionalString(body, "display_name", MAX_DISPLAY_NAME_LENGTH);
          const password = optionalString(body, "password", MAX_PASSWORD_LENGTH);
          const who = displayName ? { ...caller, displayName } : caller;
          const joined = await service.join(who, id, password, { mayCreate });
          return ok({
            meeting: meetingView(joined.meeting),
            participant: participantView(joined.participant),
            created: joined.created,
          }, joined.created ? 201 : 200);
        }
        break;
      case "leave":
        if (post) return ok(participantView(await service.leave(caller, id)));
        break;
      case "admit":
      case "reject":
      case "remove":
        if (post) {
          const userId = requiredId(await readBody(request), "user_id", "user id");
          const p = action === "admit"
            ? await service.admit(caller, id, userId)
            : action === "reject"
            ? await service.reject(caller, id, userId)
            : await service.remove(caller, id, userId);
          return ok(participantView(p));
        }
        break;
      case "admit-all":
        if (post) return ok((await service.admitAll(caller, id)).map(participantView));
        break;
      case "role":
        if (post) {
          const body = await readBody(request);
          const userId = requiredId(body, "user_id", "user id");
          const role = body.role;
          if (role !== "cohost" && role !== "guest") {
            throw new BadRequest('"role" must be "cohost" or "guest"');
          }
          return ok(participantView(await service.setRole(caller, id, userId, role as Role)));
        }
        break;
      case "lock":
      case "unlock":
        if (post) return ok(meetingView(await service.setLocked(caller, id, action === "lock")));
        break;
      case "end":
        if (post) return ok(meetingView(await service.end(caller, id)));
        break;
      default:
        return fail(404, "not_found", `Nothing at ${url.pathname}`);
    }
    return fail(405, "method_not_allowed", `${method} is not allowed on ${action}`);
  }
}

export type { ParticipantStatus };
