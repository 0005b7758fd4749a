/**
 * The events a {@linkcode Room} emits, with their arguments.
 *
 * @module
 */
import type { ChatMessage } from "./chat.ts";
import type { RoomState } from "./connection.ts";
import type { Participant, TrackKind } from "./participant.ts";
import type { MediaPacket } from "../protocol/packets.ts";

/** The events of a room, with their arguments. */
export interface RoomEvents extends Record<string, unknown[]> {
  state: [RoomState];
  participantJoined: [Participant];
  /** `announced`: they left (false: forgotten because our session or the call ended). */
  participantLeft: [Participant, boolean];
  /** Their name, flags (camera, microphone, screen, speaking) or encryption changed. */
  participantUpdated: [Participant];
  /** The first media of a kind from someone (a new track). */
  track: [Participant, TrackKind];
  /** A media packet from someone (decrypted when it was encrypted). */
  media: [Participant, MediaPacket];
  chat: [ChatMessage];
  reconnecting: [{ attempt: number; inMs: number; reason: string }];
  reconnected: [];
  /** A host let us in from the waiting room. */
  admitted: [];
  ended: [{ reason: string; code: number; error: boolean }];
  /** Someone asked us for a key frame of VIDEO or SCREEN. */
  keyframeRequest: [number];
  /** Receivers of our video are congested: send less. */
  congestion: [];
  /** E2EE members or keys changed (recompute the safety code). */
  encryption: [];
  /** Someone's encryption key changed after we had one: safety codes must be compared again. */
  keyChanged: [Participant | undefined];
  /** Our key moved on for newcomers, who cannot read anything sent before: send key frames. */
  newKey: [];
  rtt: [number];
  /** The waiting room changed (hosts refetch the list). */
  waitingRoom: [];
}
