/**
 * A typed client of the server's HTTP API (`/api/v1`): guest sessions, meetings, joining and
 * leaving, the waiting room and host actions, and where to connect by WebTransport. Every answer
 * is read field by field (`json_shape.ts`); a refusal becomes a {@linkcode JoinError} carrying the
 * server's code and sentence.
 *
 * Runs in browsers and in Deno.
 *
 * @example
 * ```ts ignore
 * import { MeetingsApi } from "./api.ts";
 *
 * const api = new MeetingsApi("http://localhost:8080");
 * await api.signIn("ada", "Ada Lovelace"); // open servers: a guest session
 * const joined = await api.join("standup", { displayName: "Ada Lovelace" });
 * console.log(joined.participant.role); // "host" for whoever opened the meeting
 * ```
 *
 * @module
 */
import {
  type JsonObject,
  readArray,
  readBoolean,
  readChoice,
  readNumber,
  readObject,
  readOptionalString,
  readString,
  ShapeError,
} from "./json_shape.ts";
import type { PoolCandidate } from "./pool.ts";

/** A refusal from the server's API, with its status, code and message for people. */
export class JoinError extends Error {
  override name = "JoinError";
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** A participant's role in a meeting. */
export type Role = "host" | "cohost" | "guest";
const ROLES = ["host", "cohost", "guest"] as const;

/** Where someone stands in a meeting. */
export type ParticipantStatus = "admitted" | "waiting" | "rejected" | "removed" | "left";
const STATUSES = ["admitted", "waiting", "rejected", "removed", "left"] as const;

/** A meeting as the API describes it. */
export interface MeetingInfo {
  meetingId: string;
  hostUserId: string;
  state: "idle" | "active" | "ended";
  waitingRoomEnabled: boolean;
  locked: boolean;
  e2eeRequired: boolean;
  hasPassword: boolean;
}

/** A participant record as the API describes it. */
export interface ParticipantInfo {
  userId: string;
  displayName: string;
  role: Role;
  status: ParticipantStatus;
}

/** What joining answered. */
export interface JoinResult {
  meeting: MeetingInfo;
  participant: ParticipantInfo;
  /** The meeting did not exist and this join created it. */
  created: boolean;
}

/** One person connected to a meeting now (the live roster). */
export interface RosterEntry {
  sessionId: string;
  userId: string;
  displayName: string;
  /**
   * Whether everyone is told of them by name: true for those who publish, or came while the
   * meeting was small; false for listeners a large meeting only counts.
   */
  announced: boolean;
}

/** A page of the live roster. */
export interface RosterPage {
  /** Everyone connected, on every server. */
  total: number;
  offset: number;
  limit: number;
  participants: RosterEntry[];
}

function readRosterPage(value: unknown): RosterPage {
  const r = readObject(value, "the roster");
  return {
    total: readNumber(r, "total"),
    offset: readNumber(r, "offset"),
    limit: readNumber(r, "limit"),
    participants: readArray(r.participants, "the roster's participants", (item) => {
      const p = readObject(item, "a roster entry");
      return {
        sessionId: readString(p, "session_id"),
        userId: readString(p, "user_id"),
        displayName: readString(p, "display_name"),
        announced: readBoolean(p, "announced"),
      };
    }),
  };
}

/** Where to connect by WebTransport, or why not. */
export type WebTransportInfo =
  | {
    available: true;
    url: string;
    certificateHashes: string[];
    /**
     * Framings the server offers besides one packet per stream: `"groups"` (grouped streams and
     * sequenced datagrams). Empty from servers that predate it.
     */
    framings: string[];
  }
  | { available: false; reason: string };

/** What a host or co-host may do to a meeting or one of its participants. */
export type HostAction = "admit" | "reject" | "remove" | "lock" | "unlock" | "end";

/** Settings a host may change. */
export interface MeetingPatch {
  waitingRoomEnabled?: boolean;
  e2eeRequired?: boolean;
}

function readMeeting(value: unknown): MeetingInfo {
  const m = readObject(value, "the meeting");
  return {
    meetingId: readString(m, "meeting_id"),
    hostUserId: readString(m, "host"),
    state: readChoice(m, "state", ["idle", "active", "ended"] as const),
    waitingRoomEnabled: readBoolean(m, "waiting_room_enabled"),
    locked: readBoolean(m, "locked"),
    e2eeRequired: readBoolean(m, "e2ee_required"),
    hasPassword: readBoolean(m, "has_password"),
  };
}

function readParticipant(value: unknown): ParticipantInfo {
  const p = readObject(value, "a participant");
  return {
    userId: readString(p, "user_id"),
    displayName: readString(p, "display_name"),
    role: readChoice(p, "role", ROLES),
    status: readChoice(p, "status", STATUSES),
  };
}

function readWebTransportInfo(value: unknown): WebTransportInfo {
  const info = readObject(value, "the WebTransport answer");
  if (readBoolean(info, "available")) {
    return {
      available: true,
      url: readString(info, "url"),
      certificateHashes: readArray(info.certificateHashes, "certificateHashes", (h) => {
        if (typeof h !== "string") throw new ShapeError("Expected a certificate hash string");
        return h;
      }),
      framings: info.framings === undefined ? [] : readArray(info.framings, "framings", (f) => {
        if (typeof f !== "string") throw new ShapeError("Expected a framing name");
        return f;
      }),
    };
  }
  return { available: false, reason: readString(info, "reason") };
}

/** The server's HTTP API, as one participant. */
export class MeetingsApi {
  /**
   * The server's HTTP origin, e.g. `http://localhost:8080`. A room that picks its server from the
   * pool points it at the chosen instance.
   */
  origin: string;
  /** The bearer token sent with every call (a guest session's or an operator's). */
  token: string;

  constructor(origin: string, token = "") {
    this.origin = origin.replace(/\/+$/, "");
    this.token = token;
  }

  /**
   * The server pool (`GET /api/v1/servers`): the live instances with a public URL that accept
   * newcomers, the least loaded first, the answering one marked `self`. Empty when the server lists none, or is not in its pool
   * itself (it has no `PUBLIC_URL`: it may share NATS with a pool, but its clients stay).
   */
  async servers(): Promise<PoolCandidate[]> {
    let response: Response;
    try {
      response = await fetch(`${this.origin}/api/v1/servers`, { cache: "no-store" });
    } catch {
      return [];
    }
    if (!response.ok) {
      await response.body?.cancel();
      return [];
    }
    const body = readObject(await response.json(), "the server list");
    const entries = readArray(body.servers, "servers", (value) => {
      const entry = readObject(value, "a server");
      const sessions = readNumber(entry, "sessions");
      const capacity = readNumber(entry, "capacity");
      return {
        url: readString(entry, "url"),
        self: readBoolean(entry, "self"),
        accepting: readBoolean(entry, "accepting"),
        load: capacity > 0 ? sessions / capacity : 1,
      };
    });
    if (!entries.some((e) => e.self && e.url !== "")) return [];
    return entries.filter((e) => e.accepting && e.url !== "").map(({ url, load, self }) => ({
      url,
      load,
      self,
    }));
  }

  /**
   * Open servers: a guest session for `userId` (its token is kept for later calls and returned).
   */
  async signIn(userId: string, displayName: string): Promise<string> {
    const result = readObject(
      await this.#call("POST", "/session", { user_id: userId, display_name: displayName }),
      "the session",
    );
    this.token = readString(result, "token");
    return this.token;
  }

  /** Creates a meeting with the caller as host (409 JoinError when it exists). */
  async createMeeting(meetingId: string, options: MeetingPatch = {}): Promise<MeetingInfo> {
    const body: JsonObject = { meeting_id: meetingId };
    if (options.e2eeRequired !== undefined) body.e2ee_required = options.e2eeRequired;
    if (options.waitingRoomEnabled !== undefined) {
      body.waiting_room_enabled = options.waitingRoomEnabled;
    }
    return readMeeting(await this.#call("POST", "/meetings", body));
  }

  /** The meeting's settings. */
  async meeting(meetingId: string): Promise<MeetingInfo> {
    return readMeeting(await this.#call("GET", this.#meetingPath(meetingId)));
  }

  /** Changes the meeting's settings (hosts). */
  async updateMeeting(meetingId: string, patch: MeetingPatch): Promise<MeetingInfo> {
    const body: JsonObject = {};
    if (patch.waitingRoomEnabled !== undefined) {
      body.waiting_room_enabled = patch.waitingRoomEnabled;
    }
    if (patch.e2eeRequired !== undefined) body.e2ee_required = patch.e2eeRequired;
    return readMeeting(await this.#call("PATCH", this.#meetingPath(meetingId), body));
  }

  /** Joins (creating the meeting if it does not exist, with the caller as host). */
  async join(
    meetingId: string,
    options: { displayName?: string; password?: string } = {},
  ): Promise<JoinResult> {
    const body: JsonObject = {};
    if (options.displayName) body.display_name = options.displayName;
    if (options.password) body.password = options.password;
    const result = readObject(
      await this.#call("POST", `${this.#meetingPath(meetingId)}/join`, body),
      "the join",
    );
    return {
      meeting: readMeeting(result.meeting),
      participant: readParticipant(result.participant),
      created: readBoolean(result, "created"),
    };
  }

  /**
   * Leaves: every server closes this user's media connections to the meeting at once. Sent with
   * `keepalive`, so it outlives a closing page; never throws.
   */
  async leave(meetingId: string): Promise<void> {
    await fetch(`${this.origin}/api/v1${this.#meetingPath(meetingId)}/leave`, {
      method: "POST",
      keepalive: true,
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
    }).then((r) => r.body?.cancel()).catch(() => {});
  }

  /** Hosts: who waits to be let in. */
  async waiting(meetingId: string): Promise<ParticipantInfo[]> {
    const list = await this.#call("GET", `${this.#meetingPath(meetingId)}/waiting`);
    return readArray(list, "the waiting list", readParticipant);
  }

  /** Hosts: everyone in the meeting's records. */
  async participants(meetingId: string): Promise<ParticipantInfo[]> {
    const list = await this.#call("GET", `${this.#meetingPath(meetingId)}/participants`);
    return readArray(list, "the participants", readParticipant);
  }

  /**
   * Who is connected now, a page at a time (the announced first, then by name): admitted
   * participants may ask. `limit` 1–500 (default 100).
   */
  async roster(
    meetingId: string,
    page: { limit?: number; offset?: number } = {},
  ): Promise<RosterPage> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set("limit", String(page.limit));
    if (page.offset !== undefined) query.set("offset", String(page.offset));
    const result = await this.#call("GET", `${this.#meetingPath(meetingId)}/roster?${query}`);
    return readRosterPage(result);
  }

  /** Hosts and co-hosts: admit, reject or remove `userId`; lock, unlock or end the meeting. */
  async hostAction(meetingId: string, action: HostAction, userId?: string): Promise<void> {
    await this.#call(
      "POST",
      `${this.#meetingPath(meetingId)}/${action}`,
      userId === undefined ? undefined : { user_id: userId },
    );
  }

  /** Where to connect by WebTransport (and the certificate hashes to trust), or why not. */
  async webTransport(): Promise<WebTransportInfo> {
    let response: Response;
    try {
      response = await fetch(`${this.origin}/api/v1/webtransport`, { cache: "no-store" });
    } catch {
      throw this.#unreachable();
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new JoinError(response.status, "http_error", `The server answered ${response.status}`);
    }
    return readWebTransportInfo(await response.json());
  }

  #meetingPath(meetingId: string): string {
    return `/meetings/${encodeURIComponent(meetingId)}`;
  }

  #unreachable(): JoinError {
    return new JoinError(
      0,
      "unreachable",
      `Cannot reach the server at ${this.origin}. Check your connection and try again.`,
    );
  }

  async #call(method: string, path: string, body?: JsonObject): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.origin}/api/v1${path}`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw this.#unreachable();
    }
    const text = await response.text().catch(() => "");
    let envelope: JsonObject | undefined;
    try {
      envelope = readObject(JSON.parse(text), "the answer");
    } catch {
      envelope = undefined;
    }
    if (!response.ok || envelope?.success !== true) {
      const result = envelope?.result;
      let detail: JsonObject = {};
      try {
        detail = readObject(result, "the error");
      } catch {
        // No detail: the status says what happened.
      }
      throw new JoinError(
        response.status,
        readOptionalString(detail, "code") ?? "http_error",
        readOptionalString(detail, "message") ?? `The server answered ${response.status}`,
      );
    }
    return envelope.result;
  }
}
