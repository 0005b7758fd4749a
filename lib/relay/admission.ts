/**
 * The question every transport asks before a media connection becomes a session: who is this,
 * and may they in? The server answers it (tokens, the meeting rules); the relay only asks.
 *
 * @module
 */
import { validateId } from "../protocol/ids.ts";

/** What a connection presented. */
export interface AdmissionRequest {
  /** From `/lobby/<user>/<room>`: the identity in open mode, or what a token must match. */
  userId?: string;
  roomId?: string;
  /**
   * From `?token=…`: the identity. With `/lobby?token=…` the token names the room; with
   * `/lobby/<user>/<room>?token=…` (a guest session joining a meeting) its user must be `<user>`.
   */
  token?: string;
  /** The client's address (set by the server, never read from the URL): bounds per address. */
  address?: string;
}

/** Where a participant stands with a meeting, as far as a live connection cares. */
export type Standing = "admitted" | "waiting" | "removed" | "rejected" | "ended";

/** The answer. */
export type AdmissionResult =
  | {
    ok: true;
    userId: string;
    roomId: string;
    displayName: string;
    waiting: boolean;
    /** The meeting accepts only end-to-end encrypted media. */
    e2eeRequired?: boolean;
    /**
     * Reads the participant's standing again. Transports call it once the session is in its
     * room: a host decision made between admission and attach is applied then.
     */
    standing?: () => Promise<Standing | undefined>;
  }
  | { ok: false; status: number; code: string; message: string };

/** Who a connection turned out to be, as the relay attaches it (see `Relay.attach`). */
export interface AdmittedIdentity {
  userId: string;
  roomId: string;
  displayName: string;
  waiting: boolean;
  /** The meeting accepts only end-to-end encrypted media. */
  e2eeRequired?: boolean;
  /** A session id from an earlier connection to take over, if its leave is still pending. */
  resumeSessionId?: bigint;
  /** Re-reads the participant's standing once the session is in its room. */
  standing?: () => Promise<Standing | undefined>;
}

/** The identity to attach for an admitted connection that asked to resume `resumeSessionId`. */
export function admittedIdentity(
  admitted: Extract<AdmissionResult, { ok: true }>,
  resumeSessionId: bigint | undefined,
): AdmittedIdentity {
  const { userId, roomId, displayName, waiting, standing, e2eeRequired } = admitted;
  return { userId, roomId, displayName, waiting, standing, e2eeRequired, resumeSessionId };
}

/** Decides whether a connection may join. */
export type Admit = (request: AdmissionRequest) => Promise<AdmissionResult>;

/** Admits everyone by the ids in their URL (the relay alone, tests without meetings). */
export const admitAll: Admit = (request) => {
  if (request.userId === undefined || request.roomId === undefined) {
    return Promise.resolve({
      ok: false,
      status: 400,
      code: "bad_path",
      message: "The path must be /lobby/<user>/<room>",
    });
  }
  return Promise.resolve({
    ok: true,
    userId: request.userId,
    roomId: request.roomId,
    displayName: request.userId,
    waiting: false,
  });
};

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function parseResume(value: string | null): bigint | undefined | "invalid" {
  if (value === null || value === "") return undefined;
  if (!/^[0-9]{1,20}$/.test(value)) return "invalid";
  const id = BigInt(value);
  return id > 0n && id < 1n << 64n ? id : "invalid";
}

/** What a media URL asks for, or why it is invalid. */
export type LobbyUrl =
  | { ok: true; request: AdmissionRequest; resumeSessionId?: bigint }
  | { ok: false; code: string; message: string };

/**
 * Reads `/lobby/<user>/<room>` or `/lobby?token=…` (plus an optional `resume=<session id>`,
 * and on the first form an optional `token=…` that must name the same user),
 * the media URL of both transports.
 */
export function parseLobbyUrl(url: URL): LobbyUrl {
  const resume = parseResume(url.searchParams.get("resume"));
  if (resume === "invalid") {
    return {
      ok: false,
      code: "invalid_resume",
      message: "resume must be a session id (a positive integer)",
    };
  }
  const segments = url.pathname.split("/").slice(2);
  if (url.pathname === "/lobby" || (segments.length === 1 && segments[0] === "")) {
    const token = url.searchParams.get("token");
    if (!token) {
      return {
        ok: false,
        code: "bad_path",
        message: "Use /lobby?token=<token> or /lobby/<user>/<room>",
      };
    }
    return { ok: true, request: { token }, resumeSessionId: resume };
  }
  if (segments.length !== 2) {
    return { ok: false, code: "bad_path", message: "The path must be /lobby/<user>/<room>" };
  }
  const rawUser = decodeSegment(segments[0]);
  const rawRoom = decodeSegment(segments[1]);
  if (rawUser === undefined || rawRoom === undefined) {
    return { ok: false, code: "bad_path", message: "The path has invalid percent-encoding" };
  }
  const user = validateId("user id", rawUser);
  if (!user.ok) return { ok: false, code: "invalid_user_id", message: user.reason };
  const room = validateId("room id", rawRoom);
  if (!room.ok) return { ok: false, code: "invalid_room_id", message: room.reason };
  const token = url.searchParams.get("token") || undefined;
  return {
    ok: true,
    request: { userId: user.id, roomId: room.id, token },
    resumeSessionId: resume,
  };
}
