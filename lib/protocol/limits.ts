/**
 * Protocol constants shared by server, browser and CLI: sizes, identifiers and reserved names.
 *
 * @module
 */

/** Largest serialized packet a peer may send, unless configured otherwise (videocall-rs: 4,000,000). */
export const DEFAULT_MAX_PACKET_BYTES = 4_000_000;

/** Largest packet sent as a WebTransport datagram; larger ones go on a stream. */
export const MAX_DATAGRAM_BYTES = 1200;

/** The user id the server writes on packets it originates (videocall-rs's value). */
export const SYSTEM_USER_ID = "system-&^%$#@!";

/** Longest room or user id, in characters. */
export const MAX_ID_LENGTH = 64;

/** What a room or user id may look like before it touches a NATS subject or a database row. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest chat message text, in characters (UTF-16 code units). */
export const MAX_CHAT_TEXT_LENGTH = 2000;

/** Longest chat message id, in characters. */
export const MAX_CHAT_ID_LENGTH = 64;
