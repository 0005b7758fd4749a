/**
 * Close codes the server uses when it ends a connection, with the reasons it gives. Codes
 * 1000–1011 are RFC 6455's; 4000–4999 are ours. WebTransport sessions use the same numbers.
 *
 * @module
 */
export const CloseCode = {
  /** The participant left the meeting (through the API); do not reconnect. */
  NORMAL: 1000,
  /** The server is shutting down; reconnect elsewhere or later. */
  GOING_AWAY: 1001,
  /** A text frame arrived where only binary packets are allowed. */
  UNSUPPORTED_DATA: 1003,
  /** Bytes that are not a valid packet. */
  MALFORMED_PACKET: 1007,
  /** A rule was broken: impersonation, a forbidden packet type. */
  POLICY_VIOLATION: 1008,
  /** A packet larger than the limit. */
  PACKET_TOO_BIG: 1009,
  /** The server failed; not the client's fault. */
  INTERNAL_ERROR: 1011,
  /**
   * The server is draining (a restart, a scale-down): reconnect at once with `resume` — the load
   * balancer sends you to another instance, and nobody sees you leave.
   */
  SERVICE_RESTART: 1012,
  /** Too many connections (from one address, or on this server); try again later. */
  TRY_AGAIN_LATER: 1013,
  /** More packets per second than allowed. */
  RATE_LIMITED: 4029,
  /** Nothing heard from the client for too long. */
  IDLE_TIMEOUT: 4008,
  /** The client reads too slowly even for control packets. */
  RECEIVER_TOO_SLOW: 4009,
  /** A WebTransport stream was not finished in time. */
  STREAM_TIMEOUT: 4010,
  /** The request was invalid (WebTransport cannot answer 400, so it closes with this). */
  BAD_REQUEST: 4400,
  /** Not allowed in: no valid token, removed or declined by a host, locked meeting. */
  FORBIDDEN: 4403,
  /** The meeting has ended. */
  MEETING_ENDED: 4410,
  /** The session was resumed on another connection (another instance); this one is stale. */
  SESSION_MOVED: 4409,
} as const;

/** A {@linkcode CloseCode} value. */
export type CloseCode = typeof CloseCode[keyof typeof CloseCode];

/**
 * The sentences people read when they are refused or sent away, each written once and used by
 * the relay (close reasons), the meetings API (error messages), the client library and the
 * streamer. Sentence case, no trailing period.
 */
export const Refusal = {
  LEFT: "You left the meeting",
  REMOVED: "A host removed you from this meeting",
  DECLINED: "A host declined your request to join",
  ENDED: "The meeting has ended",
  LOCKED: "The meeting is locked; ask a host to let you in",
  WRONG_PASSWORD: "The meeting password is wrong",
  SHUTTING_DOWN: "Server is shutting down",
  DRAINING: "This server is restarting; moving you to another",
  DRAINING_NEWCOMER: "This server is draining; connect again to reach another",
  E2EE_MEDIA: "This meeting requires end-to-end encryption; media must be encrypted",
  E2EE_CHAT: "This meeting requires end-to-end encryption; chat must be encrypted",
  REFUSED: "The server refused the connection",
  MOVED: "This session continues on another connection",
  IDENTITY_TAKEN:
    "Someone else is using this name in this meeting; join under another name (or from the browser that took it)",
} as const;

/**
 * Close codes after which reconnecting cannot help, with the sentence a client shows when the
 * server gave no reason of its own. Every other code (a drop, a restart, a shutdown) is worth a
 * reconnect with backoff.
 */
export const FINAL_CLOSE_CODES: Readonly<Record<number, string>> = {
  [CloseCode.NORMAL]: Refusal.LEFT,
  [CloseCode.BAD_REQUEST]: Refusal.REFUSED,
  [CloseCode.FORBIDDEN]: Refusal.REMOVED,
  [CloseCode.MEETING_ENDED]: Refusal.ENDED,
  [CloseCode.SESSION_MOVED]: Refusal.MOVED,
};

/** Longest close reason a WebSocket close frame can carry, in UTF-8 bytes (RFC 6455 §5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `reason` cut to at most `maxBytes` of UTF-8 on a character boundary: close reasons may quote
 * what a client sent (its user id), and a longer one makes the close itself throw.
 */
export function fitCloseReason(reason: string, maxBytes = MAX_CLOSE_REASON_BYTES): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).length <= maxBytes) return reason;
  let out = "";
  let size = 0;
  for (const char of reason) {
    const length = encoder.encode(char).length;
    if (size + length > maxBytes - 3) break;
    out += char;
    size += length;
  }
  return `${out}...`;
}
