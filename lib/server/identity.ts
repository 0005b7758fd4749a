/**
 * Who is calling: tokens for API calls and media connections, guest sessions in open mode, and
 * the admission decision for media connections (token or URL identity, then the meeting rules).
 *
 * @module
 */
import { sessionCookie, tokenFromRequest } from "../auth/request_token.ts";
import { mintToken, newSessionId, verifyToken } from "../auth/tokens.ts";
import type { Logger } from "../log.ts";
import { fail, ok } from "../meetings/api.ts";
import { type Caller, MeetingError, type MeetingService } from "../meetings/service.ts";
import { validateId } from "../protocol/ids.ts";
import { readJsonObject } from "./request_body.ts";
import type { AdmissionResult, Admit } from "../relay/admission.ts";
import { StoreConflictError, StoreUnavailableError } from "../store/store.ts";

/** Largest `POST /api/v1/session` body, in bytes. */
export const MAX_SESSION_BODY_BYTES = 4096;

/** How long a guest session (open mode) lasts. */
export const GUEST_SESSION_SECONDS = 12 * 3600;

/** What identity needs. */
export interface IdentityOptions {
  mode: "open" | "required";
  secret: Uint8Array;
  service: MeetingService;
  log: Logger;
  /**
   * Called before a join creates a meeting, with the client's address; throws a
   * `MeetingError` to refuse (the server bounds meetings created per address).
   */
  mayCreate?: (address: string) => void;
  /** What this server's identity claims start with ({@linkcode claimPrefix} of the secret). */
  claimPrefix: string;
}

/**
 * The prefix of every identity claim made under `secret`: 12 hex digits of a hash of it, so a
 * claim shows which secret its session was signed with (without revealing the secret). Servers
 * that share `JWT_SECRET` share it.
 */
export async function claimPrefix(secret: Uint8Array): Promise<string> {
  const label = new TextEncoder().encode("videocall.ts identity claims\n");
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new Uint8Array([...label, ...secret])),
  );
  return `${[...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("")}.`;
}

/** The server's identity functions. */
export interface Identity {
  /** The caller of an API request, or a 401. */
  authenticate(request: Request): Promise<Caller | Response>;
  /** The admission decision for media connections. */
  admit: Admit;
  /** `POST /api/v1/session`: a guest session in open mode. */
  guestSession(request: Request, secureCookie?: boolean): Promise<Response>;
}

/** Builds the identity functions for a mode and secret. */
export function createIdentity(options: IdentityOptions): Identity {
  const { mode, secret, service, log, mayCreate } = options;
  // A claim names the secret, the guest session and when it expires (see MeetingService).
  const claimOf = (identity: { sessionId?: string; expiresAtSeconds: number }) =>
    identity.sessionId === undefined
      ? undefined
      : `${options.claimPrefix}${identity.sessionId}.${identity.expiresAtSeconds}`;

  const refuse = (status: number, code: string, message: string): AdmissionResult => ({
    ok: false,
    status,
    code,
    message,
  });

  return {
    async authenticate(request) {
      const found = tokenFromRequest(request);
      if (found === undefined) {
        return fail(
          401,
          "unauthenticated",
          mode === "open"
            ? "Sign in first: POST /api/v1/session with your user_id, or send a token"
            : "This server needs a token (Authorization: Bearer <token>)",
        );
      }
      const verified = await verifyToken(secret, found.token);
      if (!verified.ok) {
        log.info("token_refused", { code: verified.code, detail: verified.detail });
        return fail(401, `token_${verified.code}`, verified.reason);
      }
      return {
        userId: verified.identity.userId,
        displayName: verified.identity.displayName,
        room: verified.identity.room,
        grantedRole: verified.identity.role,
        claim: claimOf(verified.identity),
      };
    },

    async admit(request) {
      let caller: Caller;
      let room: string;
      if (request.token !== undefined) {
        const verified = await verifyToken(secret, request.token);
        if (!verified.ok) {
          log.info("token_refused", { code: verified.code, detail: verified.detail });
          return refuse(401, `token_${verified.code}`, verified.reason);
        }
        const named = verified.identity;
        if (request.userId !== undefined && request.userId !== named.userId) {
          return refuse(
            403,
            "token_user_mismatch",
            `The token is for "${named.userId}", not "${request.userId}"`,
          );
        }
        if (
          named.room !== undefined && request.roomId !== undefined && named.room !== request.roomId
        ) {
          return refuse(403, "token_room_mismatch", `The token is for meeting "${named.room}"`);
        }
        const tokenRoom = named.room ?? request.roomId;
        if (tokenRoom === undefined) {
          return refuse(400, "token_without_room", "The token names no meeting to join");
        }
        caller = {
          userId: named.userId,
          displayName: named.displayName,
          room: named.room,
          grantedRole: named.role,
          claim: claimOf(named),
        };
        room = tokenRoom;
      } else {
        if (mode === "required") {
          return refuse(
            401,
            "token_required",
            "This server needs a token: use /lobby?token=<token>",
          );
        }
        if (request.userId === undefined || request.roomId === undefined) {
          return refuse(400, "bad_path", "The path must be /lobby/<user>/<room>");
        }
        // Only the URL says who this is: it may use an id no guest session holds here.
        caller = { userId: request.userId, displayName: request.userId, anonymous: true };
        room = request.roomId;
      }
      try {
        const address = request.address;
        const joined = await service.join(caller, room, undefined, {
          mayCreate: mayCreate === undefined || address === undefined
            ? undefined
            : () => mayCreate(address),
        });
        return {
          ok: true,
          userId: caller.userId,
          roomId: room,
          displayName: joined.participant.displayName,
          waiting: joined.participant.status === "waiting",
          e2eeRequired: joined.meeting.e2eeRequired,
          standing: async () => {
            const meeting = await service.get(room);
            if (meeting.state === "ended") return "ended";
            const status = (await service.status(caller, room)).status;
            return status === "left" ? undefined : status;
          },
        };
      } catch (error) {
        if (error instanceof MeetingError) return refuse(error.status, error.code, error.message);
        if (error instanceof StoreConflictError) {
          return refuse(409, "conflict", "The meeting changed while you joined; try again");
        }
        if (error instanceof StoreUnavailableError) {
          return refuse(
            503,
            "database_unavailable",
            "The database is unavailable; try again shortly",
          );
        }
        log.error("admission_failed", { error: String(error) });
        return refuse(500, "internal_error", "Something went wrong on the server");
      }
    },

    async guestSession(request, secureCookie = false) {
      if (mode !== "open") {
        return fail(403, "tokens_only", "This server admits only tokens issued by its operator");
      }
      if (request.method !== "POST") return fail(405, "method_not_allowed", "Use POST");
      const read = await readJsonObject(request, MAX_SESSION_BODY_BYTES);
      if (!read.ok) return fail(read.status, read.code, read.message);
      const body = read.value;
      const userId = typeof body.user_id === "string" ? body.user_id : "";
      const check = validateId("user id", userId);
      if (!check.ok) return fail(400, "invalid_user_id", check.reason);
      const rawName = typeof body.display_name === "string" ? body.display_name.trim() : userId;
      if ([...rawName].length > 100) {
        return fail(400, "bad_request", "display_name is longer than 100 characters");
      }
      // The same browser keeps its session id when it signs in again (under any name): a host's
      // ban of that session follows it.
      let sessionId: string | undefined;
      const current = tokenFromRequest(request);
      if (current !== undefined) {
        const verified = await verifyToken(secret, current.token);
        if (verified.ok) sessionId = verified.identity.sessionId;
      }
      let token: string;
      try {
        token = await mintToken(secret, {
          userId,
          displayName: rawName || userId,
          ttlSeconds: GUEST_SESSION_SECONDS,
          sessionId: sessionId ?? newSessionId(),
        });
      } catch (error) {
        return fail(400, "bad_request", error instanceof Error ? error.message : String(error));
      }
      const response = ok({ user_id: userId, token, expires_in: GUEST_SESSION_SECONDS });
      // Secure behind a TLS-terminating proxy too (the public URL is https).
      const secure = secureCookie || new URL(request.url).protocol === "https:";
      response.headers.set("set-cookie", sessionCookie(token, GUEST_SESSION_SECONDS, secure));
      return response;
    },
  };
}
