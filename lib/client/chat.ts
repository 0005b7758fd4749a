/**
 * Chat in a room: composing a message (trimmed, capped, given an id), sealing it when the room
 * encrypts, and receiving: duplicates dropped by sender and id, sealed messages opened and
 * checked, clear ones refused in meetings that require encryption.
 *
 * @module
 */
import type { ChatPacket } from "../protocol/packets.ts";
import { MAX_CHAT_TEXT_LENGTH } from "../protocol/limits.ts";

/** A chat message, sent or received. */
export interface ChatMessage {
  /** `<sender session>:<message id>`: unique in the room. */
  id: string;
  fromSessionId: string;
  fromUserId: string;
  fromName: string;
  text: string;
  sentAtMs: number;
  /** We sent it. */
  mine: boolean;
  /** It travelled end-to-end encrypted. */
  encrypted: boolean;
}

/** Most message keys remembered for dropping duplicates (then the memory starts over). */
const MAX_REMEMBERED = 10_000;

/**
 * A message ready to send: its text trimmed and capped, and a fresh id.
 *
 * @example
 * ```ts
 * import { composeChat } from "./chat.ts";
 *
 * const draft = composeChat("  hello  ", 1);
 * if (draft === undefined || draft.text !== "hello") throw new Error();
 * if (composeChat("   ", 2) !== undefined) throw new Error("blank text is not a message");
 * ```
 */
export function composeChat(
  text: string,
  seq: number,
  nowMs = Date.now(),
): { id: string; text: string; sentAtMs: number } | undefined {
  const trimmed = text.trim().slice(0, MAX_CHAT_TEXT_LENGTH);
  if (trimmed.length === 0) return undefined;
  return { id: `${nowMs.toString(36)}-${seq}`, text: trimmed, sentAtMs: nowMs };
}

/** The clear chat packet for a composed message. */
export function clearChatPacket(draft: { id: string; text: string; sentAtMs: number }): ChatPacket {
  return { messageId: draft.id, text: draft.text, sentAtMs: BigInt(draft.sentAtMs) };
}

/** Drops messages seen before (the relay may deliver one twice across a reconnect). */
export class ChatDeduplicator {
  readonly #seen = new Set<string>();

  /** True the first time a message key is offered. */
  fresh(key: string): boolean {
    if (this.#seen.has(key)) return false;
    if (this.#seen.size >= MAX_REMEMBERED) this.#seen.clear();
    this.#seen.add(key);
    return true;
  }
}
