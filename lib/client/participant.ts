/**
 * Someone else in a room, as the client library sees them: one session (the same user may be
 * in a room twice), their name, and what they say they send.
 *
 * @module
 */

/** What a participant can send. */
export type TrackKind = "video" | "audio" | "screen";

/** Someone else in the room. The room updates these objects in place and says so by events. */
export interface Participant {
  /** Their session id (a 64-bit number, as a decimal string). */
  readonly sessionId: string;
  readonly userId: string;
  displayName: string;
  /** Their camera is on. */
  video: boolean;
  /** Their microphone is on. */
  audio: boolean;
  /** They share a screen. */
  screen: boolean;
  /** They are speaking now (their client's voice detector). */
  speaking: boolean;
  /** When this client learned of them, in milliseconds since the epoch. */
  readonly joinedAtMs: number;
  /** Their last media or heartbeat was end-to-end encrypted. */
  encrypted: boolean;
  /** Their packets that failed to decrypt (dropped, never shown or played). */
  decryptFailures: number;
}

/**
 * Someone we just learned of: nothing on until their heartbeat or media says so.
 *
 * @example
 * ```ts
 * import { newParticipant } from "./participant.ts";
 *
 * const ada = newParticipant("42", "ada", "Ada");
 * if (ada.video || ada.audio || ada.displayName !== "Ada") throw new Error();
 * ```
 */
export function newParticipant(
  sessionId: string,
  userId: string,
  displayName: string,
): Participant {
  return {
    sessionId,
    userId,
    displayName,
    video: false,
    audio: false,
    screen: false,
    speaking: false,
    joinedAtMs: Date.now(),
    encrypted: false,
    decryptFailures: 0,
  };
}
