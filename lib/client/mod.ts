/**
 * The videocall.ts client library: join a meeting on a videocall.ts (or videocall-rs) server from
 * a browser or from Deno, see who is there, exchange chat, publish encoded media and receive
 * everyone's — over WebTransport or WebSocket, end-to-end encrypted if you like, reconnecting by
 * itself. Capture and playback are yours (the browser app's are in `lib/media/`, the streamer's
 * in `cli/`).
 *
 * A room emits `participantJoined`, `participantLeft`, `participantUpdated`, `track` (the first
 * media of a kind from someone), `media` (every packet, decrypted), `chat`, `reconnecting`,
 * `reconnected`, `admitted`, `ended`, and a few more (see {@linkcode RoomEvents}).
 *
 * Large meetings: tell the relay whose camera you show ({@linkcode Room.setViewport}) and which
 * simulcast layer you want of each ({@linkcode Room.setLayerPreferences}); publish simulcast by
 * labelling each encode's packets with its layer (`room.publish(media, { layer })`) and stop
 * encoding what `layerHint` says nobody watches; follow `activeSpeakers` for speaker view and
 * `participantCount` for the meeting's size (the roster lists only those who publish once a
 * meeting is large).
 *
 * @example
 * ```ts
 * import { Room } from "./mod.ts";
 * import { startServerProcess } from "../../tests/support/server_process.ts";
 *
 * const server = await startServerProcess();
 * try {
 *   const ada = await Room.join({
 *     url: server.httpUrl,
 *     userId: "ada",
 *     meetingId: "standup",
 *     displayName: "Ada Lovelace",
 *     transport: "websocket",
 *   });
 *   const bob = new Room({ url: server.httpUrl, userId: "bob", meetingId: "standup" });
 *   const greeted = new Promise<string>((resolve) => bob.on("chat", (m) => resolve(m.text)));
 *   bob.on("participantJoined", (p) => console.log(`bob sees ${p.displayName}`));
 *   await bob.connect();
 *   ada.on("participantJoined", () => ada.sendChat("Hello, Bob"));
 *   console.log(await greeted); // "Hello, Bob"
 *   await bob.leave();
 *   await ada.leave();
 * } finally {
 *   await server.stop();
 * }
 * ```
 *
 * @module
 */
export {
  type JoinInfo,
  type PublishOptions,
  Room,
  type RoomEvents,
  type RoomOptions,
} from "./room.ts";
export type { ActiveSpeakers, MediaEnvelope } from "./room_events.ts";
export type { LayeredKind, LayerHint, LayerPreference } from "./selection.ts";
export type { RoomState } from "./connection.ts";
export type { Participant, TrackKind } from "./participant.ts";
export type { ChatMessage } from "./chat.ts";
export type { OutgoingMedia } from "./encryption.ts";
export {
  type HostAction,
  JoinError,
  type JoinResult,
  type MeetingInfo,
  type MeetingPatch,
  MeetingsApi,
  type ParticipantInfo,
  type Role,
  type RosterEntry,
  type RosterPage,
} from "./api.ts";
export { ConnectError, type TransportChoice } from "./transport.ts";
export { chooseServer, type PoolCandidate, timeHealthz } from "./pool.ts";
export { MediaType, VideoCodec } from "../protocol/packets.ts";
export type { MediaPacket } from "../protocol/packets.ts";
