/**
 * What the meeting page shows, as signals — one per field, so that a component reads exactly
 * what it renders and re-renders only when that changes: one person's speaking ring updates
 * their tile alone, a chat message updates the chat list alone. The islands of the meeting page
 * share one {@linkcode MeetingState}; {@linkcode MeetingClient} writes it.
 *
 * @example
 * ```ts
 * import { effect } from "@preact/signals";
 * import { MeetingState, ParticipantView } from "./meeting_state.ts";
 * import { newParticipant } from "../client/participant.ts";
 *
 * const state = new MeetingState({ mic: true, camera: true, e2ee: false });
 * const ada = new ParticipantView(newParticipant("1", "ada", "Ada"));
 * state.participants.value = [ada];
 * let renders = 0;
 * effect(() => {
 *   ada.speaking.value;
 *   renders++;
 * });
 * ada.update({ ...newParticipant("1", "ada", "Ada"), speaking: true });
 * if (renders !== 2) throw new Error(`${renders}`);
 * ```
 *
 * @module
 */
import { batch, type Signal, signal } from "@preact/signals";
import type { ChatMessage, Participant, RoomState } from "../client/mod.ts";
import type { DeviceList } from "./devices.ts";

/** Where the page is. */
export type Phase = "lobby" | "joining" | "waiting" | "in-call" | "ended";

/** Someone waiting to be admitted (hosts see them). */
export interface Waiting {
  userId: string;
  displayName: string;
}

/** A short message shown for a few seconds. */
export interface Notice {
  id: number;
  text: string;
}

/** One other participant, a signal per thing their tile shows. */
export class ParticipantView {
  readonly sessionId: string;
  readonly userId: string;
  readonly displayName: Signal<string>;
  readonly video: Signal<boolean>;
  readonly audio: Signal<boolean>;
  readonly screen: Signal<boolean>;
  readonly speaking: Signal<boolean>;
  readonly encrypted: Signal<boolean>;
  readonly decryptFailures: Signal<number>;

  constructor(p: Participant) {
    this.sessionId = p.sessionId;
    this.userId = p.userId;
    this.displayName = signal(p.displayName);
    this.video = signal(p.video);
    this.audio = signal(p.audio);
    this.screen = signal(p.screen);
    this.speaking = signal(p.speaking);
    this.encrypted = signal(p.encrypted);
    this.decryptFailures = signal(p.decryptFailures);
  }

  /** Copies what changed (signals that did not change notify nobody). */
  update(p: Participant): void {
    batch(() => {
      this.displayName.value = p.displayName;
      this.video.value = p.video;
      this.audio.value = p.audio;
      this.screen.value = p.screen;
      this.speaking.value = p.speaking;
      this.encrypted.value = p.encrypted;
      this.decryptFailures.value = p.decryptFailures;
    });
  }
}

/** Everything the meeting page renders. */
export class MeetingState {
  readonly phase: Signal<Phase> = signal("lobby");
  readonly roomState: Signal<RoomState> = signal({ kind: "connecting", attempt: 0 });
  /** Why the call ended, when it did not end by leaving. */
  readonly error: Signal<string | undefined> = signal(undefined);
  /** Everyone else, in order of arrival; changes only when someone joins or leaves. */
  readonly participants: Signal<ParticipantView[]> = signal([]);
  readonly chat: Signal<ChatMessage[]> = signal([]);
  readonly unreadChat: Signal<number> = signal(0);
  readonly notices: Signal<Notice[]> = signal([]);
  readonly waiting: Signal<Waiting[]> = signal([]);
  readonly role: Signal<"host" | "cohost" | "guest"> = signal("guest");
  readonly locked: Signal<boolean> = signal(false);
  readonly waitingRoomEnabled: Signal<boolean> = signal(false);
  readonly mic: Signal<boolean>;
  readonly camera: Signal<boolean>;
  readonly screen: Signal<boolean> = signal(false);
  readonly speaking: Signal<boolean> = signal(false);
  readonly devices: Signal<DeviceList> = signal({ cameras: [], microphones: [], speakers: [] });
  readonly cameraId: Signal<string> = signal("");
  readonly microphoneId: Signal<string> = signal("");
  readonly speakerId: Signal<string> = signal("");
  readonly deviceError: Signal<string | undefined> = signal(undefined);
  /** Our camera and screen tracks, for the local preview tiles. */
  readonly cameraTrack: Signal<MediaStreamTrack | undefined> = signal(undefined);
  readonly screenTrack: Signal<MediaStreamTrack | undefined> = signal(undefined);
  readonly joinedAtMs: Signal<number | undefined> = signal(undefined);
  readonly transport: Signal<"webtransport" | "websocket" | undefined> = signal(undefined);
  readonly rttMs: Signal<number | undefined> = signal(undefined);
  /** Our media is end-to-end encrypted. */
  readonly e2ee: Signal<boolean>;
  /** The meeting requires it (it cannot be turned off). */
  readonly e2eeRequired: Signal<boolean> = signal(false);
  /** The safety code over everyone's keys (compare it with the others'). */
  readonly safetyCode: Signal<string | undefined> = signal(undefined);
  /** The session id of whoever spoke last (speaker view follows it). */
  readonly lastSpeaker: Signal<string | undefined> = signal(undefined);
  /** The relay's loudest speakers, loudest first (session ids). */
  readonly activeSpeakers: Signal<string[]> = signal([]);
  /**
   * Everyone in the meeting, us included, as the server counts (large meetings list only those
   * who publish; the rest are counted). Undefined until the server said.
   */
  readonly participantCount: Signal<number | undefined> = signal(undefined);

  constructor(initial: { mic: boolean; camera: boolean; e2ee: boolean }) {
    this.mic = signal(initial.mic);
    this.camera = signal(initial.camera);
    this.e2ee = signal(initial.e2ee);
  }
}
