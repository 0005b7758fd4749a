/**
 * Finding the token a request presents, and the session cookie that carries one.
 *
 * A token may come in an `Authorization: Bearer` header, a `?token=` query parameter (only
 * where the caller allows it: media endpoints such as `/lobby`, since browsers cannot set
 * headers on WebSocket or WebTransport), or the `vc_session` cookie. Extraction only finds
 * the candidate; `verifyToken` (tokens.ts) decides whether it is any good.
 *
 * @module
 */
import { MAX_TOKEN_BYTES, SESSION_COOKIE_NAME } from "./limits.ts";

/** Where a request's token came from. */
export type TokenSource = "header" | "query" | "cookie";

/** A token found in a request, not yet verified. */
export interface RequestToken {
  token: string;
  source: TokenSource;
}

/** Options of {@linkcode tokenFromRequest}. */
export interface TokenFromRequestOptions {
  /** Whether `?token=` counts; only for media endpoints. @default {false} */
  allowQuery?: boolean;
}

// Longest header value looked at; past this only the first part is scanned. Enough for the
// longest token plus a crowd of unrelated cookies.
const MAX_SCANNED_HEADER_CHARS = 4 * MAX_TOKEN_BYTES;
// The characters a cookie value may hold (RFC 6265 §4.1.1 cookie-octet).
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/**
 * Finds the token a request presents. Precedence: the `Authorization: Bearer` header, then
 * `?token=` (when allowed), then the session cookie; the explicit ones win over the cookie
 * because a cookie may be left over from an earlier meeting while a header or a link's token
 * is what the client chose now. A `Bearer` header is returned even when malformed (it then
 * fails verification) rather than silently falling back to a cookie; other schemes are
 * ignored. Never throws, whatever the headers hold.
 *
 * @param request The incoming request.
 * @param options Whether a query token is allowed here.
 * @returns The token and its source, or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { tokenFromRequest } from "./request_token.ts";
 *
 * const request = new Request("http://localhost/lobby?token=a.b.c", {
 *   headers: { cookie: "theme=dark; vc_session=x.y.z" },
 * });
 * const media = tokenFromRequest(request, { allowQuery: true });
 * const page = tokenFromRequest(request);
 * if (media?.source !== "query" || page?.token !== "x.y.z") throw new Error("unexpected");
 * ```
 */
export function tokenFromRequest(
  request: Request,
  options: TokenFromRequestOptions = {},
): RequestToken | undefined {
  const bearer = bearerToken(request.headers.get("authorization"));
  if (bearer !== undefined) return { token: bearer, source: "header" };
  if (options.allowQuery) {
    const query = queryToken(request.url);
    if (query !== undefined) return { token: query, source: "query" };
  }
  const cookie = cookieToken(request.headers.get("cookie"));
  if (cookie !== undefined) return { token: cookie, source: "cookie" };
  return undefined;
}

// Case: "Bearer x"; "bearer   x" (scheme names are case-insensitive); "Bearer" alone (an
// empty token, refused later); "Basic ..." (not ours, ignored); two headers, which fetch joins
// as "Bearer a, Bearer b" (returned whole, refused later as malformed).
function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const value = header.slice(0, MAX_SCANNED_HEADER_CHARS).trim();
  const match = /^bearer(?:[ \t]+|$)/i.exec(value);
  if (match === null) return undefined;
  return value.slice(match[0].length);
}

function queryToken(url: string): string | undefined {
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return undefined;
  }
  const token = params.get("token");
  return token === null || token === "" ? undefined : token;
}

// Case: "a=1; vc_session=t"; "vc_session=t;a=1" (no space); "vc_session=\"t\"" (quoted);
// two vc_session cookies (the first, which browsers send for the most specific path); joined
// headers ("a=1, vc_session=t"); junk such as "=;;=x; vc_session" is skipped.
function cookieToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const value = header.slice(0, MAX_SCANNED_HEADER_CHARS);
  for (const pair of value.split(/[;,]/)) {
    const equals = pair.indexOf("=");
    if (equals === -1 || pair.slice(0, equals).trim() !== SESSION_COOKIE_NAME) continue;
    let token = pair.slice(equals + 1).trim();
    if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) {
      token = token.slice(1, -1);
    }
    if (token !== "") return token;
  }
  return undefined;
}

/**
 * Builds the `Set-Cookie` value that stores a session token: `HttpOnly` (no script can read
 * it), `SameSite=Lax` (not sent on cross-site subrequests), `Path=/`, and `Secure` when asked
 * (always, behind HTTPS).
 *
 * @param token A compact JWT; anything a cookie cannot hold is refused.
 * @param maxAgeSeconds How long the browser keeps it; 0 deletes it.
 * @param secure Whether to add `Secure`.
 * @returns The header value.
 * @throws {TypeError | RangeError} When the token holds characters a cookie cannot carry, or
 * the age is not a non-negative integer.
 *
 * @example
 * ```ts
 * import { sessionCookie } from "./request_token.ts";
 *
 * const value = sessionCookie("a.b.c", 3600, true);
 * if (value !== "vc_session=a.b.c; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax; Secure") {
 *   throw new Error(value);
 * }
 * ```
 */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  if (token.length > MAX_TOKEN_BYTES || !COOKIE_VALUE.test(token)) {
    throw new TypeError("Cannot put the token in a cookie: it has characters a cookie cannot hold");
  }
  if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 0) {
    throw new RangeError(`Cannot set a cookie with Max-Age ${maxAgeSeconds}`);
  }
  const attributes = [`Max-Age=${maxAgeSeconds}`, "Path=/", "HttpOnly", "SameSite=Lax"];
  if (secure) attributes.push("Secure");
  return [`${SESSION_COOKIE_NAME}=${token}`, ...attributes].join("; ");
}

/**
 * Builds the `Set-Cookie` value that deletes the session cookie (on sign-out, or after a
 * refused token).
 *
 * @param secure Whether to add `Secure`, matching the cookie being deleted.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { clearSessionCookie } from "./request_token.ts";
 *
 * if (!clearSessionCookie(false).startsWith("vc_session=; Max-Age=0;")) throw new Error();
 * ```
 */
export function clearSessionCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}
