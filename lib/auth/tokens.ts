/**
 * Minting and verification of meeting tokens: HS256 JWTs signed with `JWT_SECRET`.
 *
 * Ours carry `sub` (user id), `name`, `room`, `role` (`host`, `cohost` or `guest`), `iat`, `exp`
 * and `iss` = `"videocall-ts"`. Room access tokens from videocall-rs's meeting backend
 * (`iss` = `"videocall-meeting-backend"`, with `display_name`, `is_host`, `room_join`,
 * `observer`) verify too, so both can share one secret.
 *
 * Refusals say what the user can do about them (`expired`, `not_yet_valid`, `wrong_room`,
 * `not_admitted`); everything else (a bad signature, a wrong algorithm, a malformed token,
 * a missing or bad claim) is `invalid`, with one reason, so that a forger learns nothing. The
 * signature is checked before any claim, by WebCrypto's HMAC verify, which compares in
 * constant time.
 *
 * @module
 */
import { errors, jwtVerify, SignJWT } from "jose";
import type { JWTPayload } from "jose";
import { validateId } from "../protocol/ids.ts";
import {
  DEFAULT_LEEWAY_SECONDS,
  MAX_DISPLAY_NAME_LENGTH,
  MAX_TOKEN_BYTES,
  TOKEN_ISSUER,
  VIDEOCALL_RS_ISSUER,
  VIDEOCALL_RS_TOKEN_TYPE,
} from "./limits.ts";
import { assertSecret } from "./secret.ts";

/** What a participant may do in a meeting. */
export type Role = "host" | "cohost" | "guest";

/** Every {@linkcode Role}, most powerful first. */
export const ROLES: readonly Role[] = ["host", "cohost", "guest"];

/** Who a verified token says its bearer is. */
export interface Identity {
  /** The `sub` claim, a valid id (see `validateId`). */
  userId: string;
  /** The name to show; the user id when the token has none. */
  displayName: string;
  /** The meeting the token is limited to; absent for a token good for any meeting. */
  room?: string;
  role: Role;
  /** The `exp` claim, in Unix seconds; e.g. for a session cookie's lifetime. */
  expiresAtSeconds: number;
  /**
   * The `sid` claim of a guest session: a random secret id that binds the identities it takes in
   * meetings (docs/SECURITY.md, "Open mode"). Absent in operators' tokens.
   */
  sessionId?: string;
}

/** Why a token was refused. Only `invalid` covers what an attacker could probe. */
export type TokenRefusalCode =
  | "expired"
  | "not_yet_valid"
  | "wrong_room"
  | "not_admitted"
  | "invalid";

/** The outcome of {@linkcode verifyToken}. */
export type VerifyResult =
  | { ok: true; identity: Identity }
  | {
    ok: false;
    code: TokenRefusalCode;
    /** A sentence for the user; the same for every `invalid` token. */
    reason: string;
    /** What exactly failed, for server logs only: never send it to the client. */
    detail: string;
  };

/** The user-facing reason for each refusal code. */
export const REFUSAL_REASONS: Readonly<Record<TokenRefusalCode, string>> = {
  expired: "The token has expired; ask for a new link",
  not_yet_valid: "The token is not valid yet; check the clock of this device or ask for a new link",
  wrong_room: "The token is for another meeting",
  not_admitted: "The token does not admit you to the meeting yet; wait for the host to let you in",
  invalid: "The token is invalid",
};

/** What a guest session id looks like (the `sid` claim). */
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** A new random guest session id (128 bits, base64url). */
export function newSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** Options of {@linkcode mintToken}. */
export interface MintOptions {
  userId: string;
  /** @default the user id */
  displayName?: string;
  /** The meeting the token is limited to; required for `host` and `cohost`. */
  room?: string;
  /** @default "guest" */
  role?: Role;
  /** Lifetime in seconds, a positive integer. */
  ttlSeconds: number;
  /** The issue time. @default the current time */
  now?: Date;
  /** A guest session's id (`sid`): 16 to 64 URL-safe characters. */
  sessionId?: string;
}

/** Options of {@linkcode verifyToken}. */
export interface VerifyOptions {
  /** The meeting being joined; a token limited to another one is refused. */
  room?: string;
  /** The time to check against. @default the current time */
  now?: Date;
  /** Allowance for clock differences on `exp`, `nbf` and `iat`. @default {30} */
  leewaySeconds?: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// C0 and C1 controls, and the bidirectional overrides that can make a name read as another.
const UNPRINTABLE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");

/**
 * Signs a token for one user, HS256 with `secret`.
 *
 * @param secret At least 32 bytes, e.g. from `secretFromEnv`.
 * @param options Who the token is for, where and for how long.
 * @returns The compact JWT.
 * @throws {TypeError | RangeError} When an option is not valid: a bad id, an unknown role, a
 * host or co-host token without a room, a non-positive lifetime, a short secret.
 *
 * @example
 * ```ts
 * import { mintToken, verifyToken } from "./tokens.ts";
 *
 * const secret = new TextEncoder().encode("a-secret-that-is-at-least-32-bytes-long");
 * const token = await mintToken(secret, {
 *   userId: "alice",
 *   room: "standup",
 *   role: "host",
 *   ttlSeconds: 3600,
 * });
 * const result = await verifyToken(secret, token, { room: "standup" });
 * if (!result.ok || result.identity.role !== "host") throw new Error("unexpected");
 * ```
 */
export async function mintToken(secret: Uint8Array, options: MintOptions): Promise<string> {
  assertSecret(secret);
  const { userId, room, role = "guest", ttlSeconds, now = new Date() } = options;
  const user = validateId("user id", userId);
  if (!user.ok) throw new TypeError(`Cannot mint a token: ${user.reason}`);
  if (room !== undefined) {
    const checked = validateId("room id", room);
    if (!checked.ok) throw new TypeError(`Cannot mint a token: ${checked.reason}`);
  }
  if (!ROLES.includes(role)) throw new TypeError(`Cannot mint a token: unknown role "${role}"`);
  if (role !== "guest" && room === undefined) {
    throw new TypeError(`Cannot mint a token: a ${role} token must name its room`);
  }
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`Cannot mint a token: ttlSeconds must be a positive integer`);
  }
  const displayName = options.displayName ?? userId;
  if (displayName.length === 0 || displayName.trim() !== displayName) {
    throw new TypeError("Cannot mint a token: the display name is empty or has outer spaces");
  }
  if ([...displayName].length > MAX_DISPLAY_NAME_LENGTH || UNPRINTABLE.test(displayName)) {
    throw new TypeError(
      `Cannot mint a token: the display name must be at most ${MAX_DISPLAY_NAME_LENGTH} ` +
        "printable characters",
    );
  }
  const issuedAt = Math.floor(now.getTime() / 1000);
  const claims: JWTPayload = { name: displayName, role };
  if (room !== undefined) claims.room = room;
  if (options.sessionId !== undefined) {
    if (!SESSION_ID.test(options.sessionId)) {
      throw new TypeError("Cannot mint a token: the session id must be 16-64 URL-safe characters");
    }
    claims.sid = options.sessionId;
  }
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(secret);
}

/**
 * Checks a token's signature (HS256 only) and claims, and says who it names.
 *
 * @param secret The secret it should be signed with, at least 32 bytes.
 * @param token The compact JWT as presented; anything else is refused, never thrown.
 * @param options The meeting being joined, the time and the clock leeway.
 * @returns The identity, or a refusal with a code, a user-facing reason and a log detail.
 * @throws {RangeError} Only for a short secret or a negative leeway (programming errors).
 *
 * @example
 * ```ts
 * import { mintToken, verifyToken } from "./tokens.ts";
 *
 * const secret = new TextEncoder().encode("a-secret-that-is-at-least-32-bytes-long");
 * const token = await mintToken(secret, { userId: "bob", room: "standup", ttlSeconds: 60 });
 *
 * const elsewhere = await verifyToken(secret, token, { room: "retro" });
 * if (elsewhere.ok || elsewhere.code !== "wrong_room") throw new Error("unexpected");
 *
 * const later = await verifyToken(secret, token, { now: new Date(Date.now() + 3_600_000) });
 * if (later.ok || later.reason !== "The token has expired; ask for a new link") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export async function verifyToken(
  secret: Uint8Array,
  token: unknown,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  assertSecret(secret);
  const { room, now = new Date(), leewaySeconds = DEFAULT_LEEWAY_SECONDS } = options;
  if (!Number.isFinite(leewaySeconds) || leewaySeconds < 0) {
    throw new RangeError(`Cannot verify a token with leewaySeconds = ${leewaySeconds}`);
  }
  if (typeof token !== "string") return refuse("invalid", "not a string");
  if (token.length > MAX_TOKEN_BYTES) {
    return refuse("invalid", `longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  if (!JWT_SHAPE.test(token)) return refuse("invalid", "not a compact JWS");

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      clockTolerance: leewaySeconds,
      currentDate: now,
      requiredClaims: ["sub", "exp"],
    }));
  } catch (error) {
    return refusalFromJose(error);
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (typeof payload.iat === "number" && payload.iat > nowSeconds + leewaySeconds) {
    return refuse("not_yet_valid", `"iat" is ${payload.iat - nowSeconds} s in the future`);
  }
  return identityFromClaims(payload, room);
}

function refuse(code: TokenRefusalCode, detail: string): VerifyResult {
  return { ok: false, code, reason: REFUSAL_REASONS[code], detail };
}

function refusalFromJose(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) return refuse("expired", error.message);
  if (
    error instanceof errors.JWTClaimValidationFailed && error.claim === "nbf" &&
    error.reason === "check_failed"
  ) {
    return refuse("not_yet_valid", error.message);
  }
  if (error instanceof errors.JOSEError) {
    return refuse("invalid", `${error.code}: ${error.message}`);
  }
  // jose throws TypeError for some inputs it cannot parse; nothing here is the caller's fault.
  return refuse("invalid", error instanceof Error ? `${error.name}: ${error.message}` : "unknown");
}

// The signature is good; the claims come from someone holding the secret, but they are still
// checked, since they end up in NATS subjects, database rows and other people's screens.
function identityFromClaims(claims: JWTPayload, expectedRoom: string | undefined): VerifyResult {
  if (claims.iss !== TOKEN_ISSUER && claims.iss !== VIDEOCALL_RS_ISSUER) {
    return refuse("invalid", `unknown issuer ${JSON.stringify(claims.iss)?.slice(0, 80)}`);
  }
  const fromVideocallRs = claims.iss === VIDEOCALL_RS_ISSUER;
  if (claims.typ !== undefined && claims.typ !== VIDEOCALL_RS_TOKEN_TYPE) {
    return refuse("invalid", `"typ" claim is not "${VIDEOCALL_RS_TOKEN_TYPE}"`);
  }
  if (typeof claims.sub !== "string") return refuse("invalid", `"sub" claim is not a string`);
  const user = validateId("user id", claims.sub);
  if (!user.ok) return refuse("invalid", `"sub" claim: ${user.reason}`);

  let room: string | undefined;
  if (claims.room !== undefined) {
    if (typeof claims.room !== "string") return refuse("invalid", `"room" claim is not a string`);
    const checked = validateId("room id", claims.room);
    if (!checked.ok) return refuse("invalid", `"room" claim: ${checked.reason}`);
    room = checked.id;
  } else if (fromVideocallRs) {
    return refuse("invalid", `missing "room" claim`);
  }

  const role = roleFromClaims(claims);
  if (role === undefined) return refuse("invalid", `"role" or "is_host" claim is not valid`);
  if (role !== "guest" && room === undefined) {
    return refuse("invalid", `a ${role} token without a "room" claim`);
  }

  const name = claims.name ?? claims.display_name;
  if (name !== undefined && typeof name !== "string") {
    return refuse("invalid", `"name" claim is not a string`);
  }
  for (const flag of ["room_join", "observer"]) {
    if (claims[flag] !== undefined && typeof claims[flag] !== "boolean") {
      return refuse("invalid", `"${flag}" claim is not a boolean`);
    }
  }
  if (fromVideocallRs && claims.room_join === undefined) {
    return refuse("invalid", `missing "room_join" claim`);
  }

  if (expectedRoom !== undefined && room !== undefined && room !== expectedRoom) {
    return refuse("wrong_room", `token room "${room}", joining "${expectedRoom}"`);
  }
  if (claims.room_join === false) return refuse("not_admitted", `"room_join" is false`);
  if (claims.observer === true) return refuse("not_admitted", "an observer token");

  if (
    claims.sid !== undefined && (typeof claims.sid !== "string" || !SESSION_ID.test(claims.sid))
  ) {
    return refuse("invalid", `"sid" claim is not a session id`);
  }
  const identity: Identity = {
    userId: user.id,
    displayName: printableName(name ?? "") || user.id,
    role,
    expiresAtSeconds: claims.exp as number,
  };
  if (room !== undefined) identity.room = room;
  if (typeof claims.sid === "string") identity.sessionId = claims.sid;
  return { ok: true, identity };
}

function roleFromClaims(claims: JWTPayload): Role | undefined {
  if (claims.role !== undefined) {
    return ROLES.find((role) => role === claims.role);
  }
  if (claims.is_host !== undefined) {
    if (typeof claims.is_host !== "boolean") return undefined;
    return claims.is_host ? "host" : "guest";
  }
  return "guest";
}

// A display name is shown, never used as a key: tidy it rather than refuse the token.
function printableName(name: string): string {
  const clean = name.replace(UNPRINTABLE_ALL, "").trim();
  const characters = [...clean];
  if (characters.length <= MAX_DISPLAY_NAME_LENGTH) return clean;
  return characters.slice(0, MAX_DISPLAY_NAME_LENGTH).join("").trim();
}
