/**
 * The events a {@linkcode Room} emits, with their arguments.
 *
 * @module
 */
import type { ChatMessage } from "./chat.ts";
import type { RoomState } from "./connection.ts";
import type { Participant, TrackKind } from "./participant.ts";
import type { MediaPacket } from "../protocol/packets.ts";
import type { LayerHint } from "./selection.ts";

/** What a media packet's envelope said in the clear, beside the packet itself. */
export interface MediaEnvelope {
  /** The simulcast layer (0: the base layer, or a sender without simulcast). */
  layer: number;
  /** An audio packet's level in -dBov (0 loudest, 127 silence); undefined when not sent. */
  audioLevel: number | undefined;
}

/** Who speaks, as the relay ranks it (session ids, loudest first). */
export interface ActiveSpeakers {
  speakers: string[];
  /** The dominant speaker (the one speaker view shows); undefined when nobody speaks. */
  dominant: string | undefined;
}

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
  /** A media packet from someone (decrypted when it was encrypted), and its clear envelope. */
  media: [Participant, MediaPacket, MediaEnvelope];
  chat: [ChatMessage];
  reconnecting: [{ attempt: number; inMs: number; reason: string }];
  reconnected: [];
  /** The room chose this server (its HTTP origin) from the pool (`pickServer`). */
  serverChosen: [string];
  /** A host let us in from the waiting room. */
  admitted: [];
  ended: [{ reason: string; code: number; error: boolean }];
  /** Someone asked us for a key frame of VIDEO or SCREEN, of a simulcast layer (0 the base). */
  keyframeRequest: [number, number];
  /** Receivers of our video are congested: send less. */
  congestion: [];
  /** Our own downlink is congested (the relay sends us base layers only for a while): ask less. */
  downlinkCongestion: [];
  /** The highest layers anyone watches of our camera and screen: stop encoding those above. */
  layerHint: [LayerHint];
  /** The relay's ranking of speakers changed. */
  activeSpeakers: [ActiveSpeakers];
  /**
   * How many are in the meeting, us included. In large meetings the roster lists only those who
   * publish; this counts everyone.
   */
  participantCount: [number];
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
