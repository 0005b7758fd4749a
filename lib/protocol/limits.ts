/**
 * Protocol constants shared by server, browser and CLI: sizes, identifiers and reserved names.
 *
 * @module
 */

/** Largest serialized packet a peer may send, unless configured otherwise (videocall-rs: 4,000,000). */
export const DEFAULT_MAX_PACKET_BYTES = 4_000_000;

/**
 * Largest packet sent as a WebTransport datagram; larger ones go on a stream. QUIC datagrams
 * cannot be fragmented: a packet must fit one UDP payload on the path, and 1100 bytes leaves room
 * for QUIC's and the tunnel's headers under the 1280-byte IPv6 minimum MTU (docs/PROTOCOL.md).
 */
export const MAX_DATAGRAM_BYTES = 1100;

/** The user id the server writes on packets it originates (videocall-rs's value). */
export const SYSTEM_USER_ID = "system-&^%$#@!";

/** Longest room or user id, in characters. */
export const MAX_ID_LENGTH = 64;

/** What a room or user id may look like before it touches a NATS subject or a database row. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest chat message text, in characters (UTF-16 code units). */
export const MAX_CHAT_TEXT_LENGTH = 2000;

/** Largest sealed (encrypted) chat message: 4 bytes per character at most, plus the seal. */
export const MAX_SEALED_CHAT_BYTES = 4 * 2000 + 64;

/** Largest public key and wrapped key in an E2EE packet, in bytes. */
export const MAX_E2EE_KEY_BYTES = 256;

/** Longest chat message id, in characters. */
export const MAX_CHAT_ID_LENGTH = 64;
