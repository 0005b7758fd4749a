/**
 * The meeting page's model: a client-library {@linkcode Room} plus this browser's media — our
 * camera, microphone and screen ({@linkcode LocalMedia}), everyone else's video and audio
 * ({@linkcode RemoteMedia}, {@linkcode AudioPlayout}) — written into a {@linkcode MeetingState}
 * that the page's islands render. The islands hold UI state only and call the methods here.
 *
 * Browser only (constructing one is harmless anywhere: nothing starts before `preview()`).
 *
 * @module
 */
import { batch } from "@preact/signals";
import {
  chooseServer,
  JoinError,
  MeetingsApi,
  type Participant,
  Room,
  type RoomState,
  timeHealthz,
} from "../client/mod.ts";
import type { HostAction, TransportChoice } from "../client/mod.ts";
import { CloseCode } from "../protocol/close_codes.ts";
import { MediaType } from "../protocol/packets.ts";
import { AudioPlayout } from "./audio_playout.ts";
import { VP9_CODEC } from "./codecs.ts";
import { LocalMedia } from "./local_media.ts";
import { MeetingState, ParticipantView } from "./meeting_state.ts";
import { type ReceiveStats, RemoteMedia } from "./remote_media.ts";
import { layerForTile } from "./simulcast.ts";
import type { CameraStats } from "./local_media.ts";
import type { LayerHint, LayerPreference } from "../client/mod.ts";

/** How the page was opened (all serializable: they are the islands' props). */
export interface MeetingOptions {
  userId: string;
  meetingId: string;
  displayName: string;
  /** An operator's token (`?token=`); without one, an open server gives a guest session. */
  token?: string;
  transport?: TransportChoice;
  /** Grouped WebTransport framing when the server offers it (default true). */
  groupedFraming?: boolean;
  codec?: "vp9" | "vp8";
  /** Camera capture height (default 720). */
  videoHeight?: number;
  /** Camera simulcast layers, 1–3 (`?simulcast=`; default: what the machine's cores afford). */
  simulcast?: number;
  /** End-to-end encryption: "required" creates the meeting so; "on" encrypts our media. */
  e2ee?: "required" | "on" | "off";
  /** Start with the microphone off (`?mic=off`). */
  mic?: boolean;
  /** Start with the camera off (`?camera=off`). */
  camera?: boolean;
  /** Join without the preview step (`?autojoin=1`; kiosks and tests). */
  autoJoin?: boolean;
  /**
   * Before the preview, move to the pool's best instance when the server lists several
   * (lib/client/pool.ts); `?server=stay` turns it off, and the moved page carries it.
   */
  pickServer?: boolean;
}

/** How long a notice stays, in ms. */
const NOTICE_MS = 4000;
/** Most chat messages kept on the page. */
const MAX_CHAT = 500;
/** How long a DOWNLINK_CONGESTION keeps our layer wishes a step lower, in ms. */
const DOWNLINK_STEP_DOWN_MS = 15_000;
/** How often the viewport and layer wishes are looked at again (tiles resize), in ms. */
const SELECTION_REFRESH_MS = 1000;

/** A tile showing someone's stream: its canvas while on screen. */
interface ShownTile {
  sessionId: string;
  mediaType: number;
  canvas: HTMLCanvasElement;
}

/** What the diagnostics panel shows. */
export interface Diagnostics {
  transport?: string;
  rttMs?: number;
  camera?: CameraStats;
  received: ReceiveStats[];
  packetsIn: number;
  packetsOut: number;
  reconnects: number;
  /** Camera tiles on screen (the viewport sent to the relay). */
  camerasShown: number;
  /** What the relay last said anyone wants of our camera and screen. */
  layerHint: LayerHint;
  /** DOWNLINK_CONGESTION notices received. */
  downlinkCongestions: number;
}

/** The page's meeting. */
export class MeetingClient {
  readonly options: MeetingOptions;
  readonly state: MeetingState;
  readonly local: LocalMedia;
  room: Room | undefined;
  #remote: RemoteMedia | undefined;
  #playout: AudioPlayout | undefined;
  #noticeId = 0;
  #noticeTimers = new Map<number, ReturnType<typeof setTimeout>>();
  #noticeGroups: Partial<Record<"joined" | "left", { id: number; names: string[] }>> = {};
  #chatOpen = false;
  #started = false;
  /** Tiles on screen, by `${session}:${mediaType}`. */
  readonly #shown = new Map<string, ShownTile>();
  #selectionDue = false;
  #tilesRendered = false;
  #selectionTimer: ReturnType<typeof setInterval> | undefined;
  #downlinkSteppedDownUntil = 0;
  #downlinkCongestions = 0;
  #layerHint: LayerHint = {
    video: Infinity,
    screen: Infinity,
    watched: { video: true, screen: true },
  };

  constructor(options: MeetingOptions) {
    this.options = options;
    this.state = new MeetingState({
      mic: options.mic !== false,
      camera: options.camera !== false,
      e2ee: options.e2ee === "on" || options.e2ee === "required",
    });
    this.local = new LocalMedia(this.state, options, {
      publish: (media, options) => this.room?.publish(media, options) ?? false,
      backlog: () => this.room?.backlog() ?? 0,
      flags: (flags) => this.room?.setLocalFlags(flags),
      inCall: () => this.state.phase.value === "in-call" || this.state.phase.value === "joining",
      notice: (text) => this.notice(text),
    });
  }

  /**
   * Starts the page once: to the pool's best instance if that is another, else the preview,
   * then the join if the page asked for it.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#moveToBestServer().then((moving) => {
      if (moving) return;
      this.local.preview().then(() => {
        if (this.options.autoJoin) this.join();
      });
    });
  }

  // True when the page is on its way to another instance of the pool (the same path and query,
  // with server=stay so that it does not choose again). The camera is not opened before.
  async #moveToBestServer(): Promise<boolean> {
    // An operator's token in the address was given for this server: stay (it is not carried
    // to another origin).
    if (!this.options.pickServer || this.options.token !== undefined) return false;
    try {
      const candidates = await new MeetingsApi(location.origin).servers();
      const timed: Record<string, number> = {};
      const best = await chooseServer(candidates, {
        current: location.origin,
        time: async (origin) => timed[origin] = await timeHealthz(origin),
      });
      if (candidates.length > 0) {
        console.info("Server pool:", JSON.stringify({ candidates, rttMs: timed, chosen: best }));
      }
      if (best === undefined || best === location.origin) return false;
      const next = new URL(location.pathname + location.search, best);
      next.searchParams.set("server", "stay");
      this.notice(`Moving you to ${next.host}, the nearest server with room`);
      location.replace(next.href);
      return true;
    } catch (error) {
      // A pool we cannot read is no reason not to join here.
      console.warn("Could not choose from the server pool:", error);
      return false;
    }
  }

  /** Shows `text` for a few seconds; returns the notice's id. */
  notice(text: string): number {
    const id = ++this.#noticeId;
    const notices = this.state.notices;
    notices.value = [...notices.value, { id, text }].slice(-4);
    this.#expireNotice(id);
    return id;
  }

  // Removes notice `id` after NOTICE_MS from now (again from now when its text changed).
  #expireNotice(id: number): void {
    clearTimeout(this.#noticeTimers.get(id));
    this.#noticeTimers.set(
      id,
      setTimeout(() => {
        this.#noticeTimers.delete(id);
        this.state.notices.value = this.state.notices.value.filter((n) => n.id !== id);
      }, NOTICE_MS),
    );
  }

  // "Ada joined", then while that notice shows, "Ada and Bob joined", "Ada, Bob and 3 others
  // joined": a burst of arrivals (or leaves) is one notice, not a column over the tiles.
  #groupNotice(what: "joined" | "left", name: string): void {
    const group = this.#noticeGroups[what];
    const notices = this.state.notices;
    if (group && notices.value.some((n) => n.id === group.id)) {
      group.names.push(name);
      const [first, second] = group.names;
      const others = group.names.length - 2;
      const who = others === 0
        ? `${first} and ${second}`
        : `${first}, ${second} and ${others} other${others === 1 ? "" : "s"}`;
      notices.value = notices.value.map((n) =>
        n.id === group.id ? { id: n.id, text: `${who} ${what}` } : n
      );
      this.#expireNotice(group.id);
      return;
    }
    this.#noticeGroups[what] = { id: this.notice(`${name} ${what}`), names: [name] };
  }

  /** Switches camera, microphone or speaker (before or during the call). */
  async chooseDevice(kind: "camera" | "microphone" | "speaker", deviceId: string): Promise<void> {
    if (kind !== "speaker") return await this.local.chooseDevice(kind, deviceId);
    this.state.speakerId.value = deviceId;
    await this.#playout?.setSpeaker(deviceId).catch(() => false);
  }

  /** Joins (the click on "Join" is the user gesture that lets audio play). */
  join(): void {
    const s = this.state;
    if (s.phase.value !== "lobby") return;
    batch(() => {
      s.phase.value = "joining";
      s.error.value = undefined;
    });
    const playout = new AudioPlayout();
    this.#playout = playout;
    // Not awaited: without a user gesture (autojoin) a browser keeps the context suspended
    // until the first click or key, and the call must not wait for that.
    playout.resume().catch(() => {});
    const wake = () => playout.resume().catch(() => {});
    addEventListener("pointerdown", wake, { once: true });
    addEventListener("keydown", wake, { once: true });
    if (s.speakerId.value) playout.setSpeaker(s.speakerId.value).catch(() => {});
    const room = new Room({
      url: location.origin,
      userId: this.options.userId,
      meetingId: this.options.meetingId,
      displayName: this.options.displayName,
      token: this.options.token,
      transport: this.options.transport,
      groupedFraming: this.options.groupedFraming,
      e2ee: s.e2ee.value,
      createE2eeRequired: this.options.e2ee === "required",
    });
    this.room = room;
    const remote = new RemoteMedia(
      playout,
      (p, type, layer) => room.requestKeyframe(p, type, layer),
    );
    this.#remote = remote;
    room.local.audioEnabled = s.mic.value;
    room.local.videoEnabled = s.camera.value;
    this.#listen(room, remote);
    room.connect().catch((error) => {
      this.#teardown();
      batch(() => {
        s.phase.value = "ended";
        s.error.value = error instanceof JoinError ? error.message : `Could not join: ${error}`;
      });
    });
  }

  #listen(room: Room, remote: RemoteMedia): void {
    const s = this.state;
    room.on("state", (state) => this.#onState(room, state));
    room.on("participantJoined", (p) => this.#joined(p));
    room.on("participantLeft", (p, announced) => this.#left(p, announced));
    room.on("participantUpdated", (p) => this.#updated(p));
    room.on("media", (p, media, envelope) => remote.onMedia(p, media, envelope));
    room.on("chat", (message) => {
      batch(() => {
        s.chat.value = [...s.chat.value, message].slice(-MAX_CHAT);
        if (!this.#chatOpen) s.unreadChat.value++;
      });
    });
    room.on("keyframeRequest", (type, layer) => this.local.keyframeRequested(type, layer));
    room.on("layerHint", (hint) => {
      this.#layerHint = hint;
      this.local.layerHint(hint);
    });
    room.on("downlinkCongestion", () => {
      this.#downlinkCongestions++;
      this.#downlinkSteppedDownUntil = Date.now() + DOWNLINK_STEP_DOWN_MS;
      this.#updateSelection();
    });
    room.on("activeSpeakers", (ranked) => {
      batch(() => {
        s.activeSpeakers.value = ranked.speakers;
        if (ranked.dominant !== undefined) s.lastSpeaker.value = ranked.dominant;
      });
    });
    room.on("participantCount", (n) => s.participantCount.value = n);
    room.on("congestion", () => this.local.congested());
    room.on("newKey", () => this.local.forceKeyframes());
    room.on("rtt", (ms) => s.rttMs.value = ms);
    room.on("waitingRoom", () => this.refreshWaiting());
    room.on("encryption", () => this.#refreshSafetyCode());
    room.on("keyChanged", (p) => {
      this.notice(
        `${p?.displayName ?? "Someone"}'s encryption key changed: compare safety codes again`,
      );
    });
    room.on("reconnected", () => this.notice("Reconnected"));
    room.on("admitted", () => this.#enterCall(room));
  }

  #onState(room: Room, state: RoomState): void {
    const s = this.state;
    batch(() => {
      s.roomState.value = state;
      s.transport.value = room.transport;
      if (state.kind === "waiting") s.phase.value = "waiting";
    });
    if (state.kind === "connected" && s.phase.value !== "in-call") this.#enterCall(room);
    if (state.kind === "ended") {
      this.#teardown();
      batch(() => {
        s.phase.value = "ended";
        s.error.value = state.code === CloseCode.NORMAL ? undefined : state.reason;
      });
    }
  }

  #enterCall(room: Room): void {
    const s = this.state;
    const info = room.joinInfo;
    batch(() => {
      s.phase.value = "in-call";
      s.joinedAtMs.value = Date.now();
      s.role.value = info?.role ?? "guest";
      s.locked.value = info?.locked ?? false;
      s.waitingRoomEnabled.value = info?.waitingRoomEnabled ?? false;
      s.e2eeRequired.value = info?.e2eeRequired ?? false;
      s.e2ee.value = room.encryption.enabled;
    });
    this.#refreshSafetyCode();
    this.local.startSenders();
    clearInterval(this.#selectionTimer);
    this.#selectionTimer = setInterval(() => this.#updateSelection(), SELECTION_REFRESH_MS);
    this.#scheduleSelection();
    if (s.role.value !== "guest") this.refreshWaiting();
  }

  #joined(p: Participant): void {
    const s = this.state;
    const view = new ParticipantView(p);
    s.participants.value = [...s.participants.value, view];
    this.#groupNotice("joined", p.displayName);
    // Get their camera's decoder going before their first frame arrives, send them a key frame
    // now rather than make them ask, and our flags, so their tile for us shows video at once.
    this.#remote?.expect(p, VP9_CODEC);
    this.local.welcome();
    this.room?.sendHeartbeat();
  }

  #left(p: Participant, announced: boolean): void {
    const s = this.state;
    s.participants.value = s.participants.value.filter((v) => v.sessionId !== p.sessionId);
    this.#remote?.remove(p.sessionId);
    if (announced) this.#groupNotice("left", p.displayName);
  }

  #updated(p: Participant): void {
    const view = this.state.participants.value.find((v) => v.sessionId === p.sessionId);
    view?.update(p);
    // Without the relay's ranking (nobody's audio carries a level), the speaking flag decides.
    if (p.speaking && this.state.activeSpeakers.value.length === 0) {
      this.state.lastSpeaker.value = p.sessionId;
    }
  }

  #refreshSafetyCode(): void {
    this.room?.encryption.safetyCode().then((code) => this.state.safetyCode.value = code, () => {});
  }

  /** The chat panel opened or closed (the unread count resets when open). */
  chatVisible(open: boolean): void {
    this.#chatOpen = open;
    if (open) this.state.unreadChat.value = 0;
  }

  /** Turns encryption of our media on or off (not in meetings that require it). */
  toggleE2ee(): void {
    const room = this.room;
    if (room === undefined || this.state.e2eeRequired.value) return;
    room.encryption.enabled = !room.encryption.enabled;
    this.state.e2ee.value = room.encryption.enabled;
    this.notice(
      room.encryption.enabled
        ? "Your media is now end-to-end encrypted"
        : "End-to-end encryption off",
    );
  }

  /** Sends a chat message; false when it could not be sent. */
  sendChat(text: string): boolean {
    const message = this.room?.sendChat(text);
    if (message === undefined) return false;
    this.state.chat.value = [...this.state.chat.value, message].slice(-MAX_CHAT);
    return true;
  }

  /** Hosts: reloads the waiting list. */
  async refreshWaiting(): Promise<void> {
    const room = this.room;
    if (room === undefined || this.state.role.value === "guest") return;
    try {
      const list = await room.api.waiting(this.options.meetingId);
      this.state.waiting.value = list.map((w) => ({
        userId: w.userId,
        displayName: w.displayName,
      }));
    } catch {
      // Not a host any more, or the server is busy: the list stays as it was.
    }
  }

  /** Hosts: admit, reject or remove someone; lock, unlock or end the meeting. */
  async hostAction(action: HostAction, userId?: string): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    try {
      await room.api.hostAction(this.options.meetingId, action, userId);
      if (action === "lock" || action === "unlock") this.state.locked.value = action === "lock";
      if (action === "admit" || action === "reject") await this.refreshWaiting();
    } catch (error) {
      this.notice(error instanceof Error ? error.message : String(error));
    }
  }

  /** Hosts: turns the waiting room on or off for people who join from now on. */
  async setWaitingRoom(enabled: boolean): Promise<void> {
    const room = this.room;
    if (room === undefined) return;
    try {
      const meeting = await room.api.updateMeeting(this.options.meetingId, {
        waitingRoomEnabled: enabled,
      });
      this.state.waitingRoomEnabled.value = meeting.waitingRoomEnabled;
    } catch (error) {
      this.notice(error instanceof Error ? error.message : String(error));
    }
  }

  /**
   * Shows a sender's stream on a canvas, or stops decoding it (`undefined`: off screen or
   * gone). The tiles on screen are what we ask the relay for: their cameras (VIEWPORT) at the
   * layer their size needs (LAYER_PREFERENCE).
   */
  attach(sessionId: string, mediaType: number, canvas: HTMLCanvasElement | undefined): void {
    this.#remote?.attach(sessionId, mediaType, canvas);
    const key = `${sessionId}:${mediaType}`;
    if (canvas === undefined) this.#shown.delete(key);
    else {
      this.#shown.set(key, { sessionId, mediaType, canvas });
      this.#tilesRendered = true;
    }
    this.#scheduleSelection();
  }

  // Several tiles attach in one render: decide once after it.
  #scheduleSelection(): void {
    if (this.#selectionDue) return;
    this.#selectionDue = true;
    queueMicrotask(() => {
      this.#selectionDue = false;
      this.#updateSelection();
    });
  }

  /**
   * The cameras on screen, and the layer each tile's size needs — a step lower for a while
   * after our downlink was congested. With others in the call but no camera tile of theirs on
   * screen, the viewport names only us: nobody's camera is forwarded (an empty list would mean
   * everyone's).
   */
  #updateSelection(): void {
    const room = this.room;
    // Until the grid showed a tile, ask for nothing (the relay's default: everything).
    if (room === undefined || this.state.phase.value !== "in-call" || !this.#tilesRendered) return;
    const dpr = globalThis.devicePixelRatio ?? 1;
    const steppedDown = Date.now() < this.#downlinkSteppedDownUntil;
    const cameras: string[] = [];
    const preferences: LayerPreference[] = [];
    for (const tile of this.#shown.values()) {
      if (tile.mediaType !== MediaType.VIDEO || !tile.canvas.isConnected) continue;
      cameras.push(tile.sessionId);
      const height = tile.canvas.parentElement?.clientHeight ?? tile.canvas.clientHeight;
      let layer = layerForTile(height, dpr, false);
      if (steppedDown) layer = layer === Infinity ? 1 : 0;
      preferences.push({ sessionId: tile.sessionId, kind: "video", layer });
    }
    if (cameras.length === 0 && this.state.participants.value.length > 0) {
      cameras.push(String(room.sessionId));
    }
    room.setViewport(cameras);
    room.setLayerPreferences(preferences);
  }

  /** Figures for the diagnostics panel. */
  diagnostics(): Diagnostics {
    const room = this.room;
    return {
      transport: room?.transport,
      rttMs: room?.rttMs,
      camera: this.local.stats().camera,
      received: this.#remote?.stats(room?.participantList() ?? []) ?? [],
      packetsIn: room?.counters.packetsIn ?? 0,
      packetsOut: room?.counters.packetsOut ?? 0,
      reconnects: room?.reconnects ?? 0,
      camerasShown: [...this.#shown.values()].filter((t) => t.mediaType === MediaType.VIDEO)
        .length,
      layerHint: this.#layerHint,
      downlinkCongestions: this.#downlinkCongestions,
    };
  }

  /** Leaves the meeting and releases every device. */
  async leave(): Promise<void> {
    await this.room?.leave();
    this.#teardown();
    this.state.phase.value = "ended";
  }

  #teardown(): void {
    clearInterval(this.#selectionTimer);
    this.#shown.clear();
    this.local.close();
    this.#remote?.close();
    this.#remote = undefined;
    this.#playout?.close();
    this.#playout = undefined;
  }
}

let pageClient: MeetingClient | undefined;

/**
 * The page's one meeting, shared by every island of the meeting page (they are separate preact
 * trees, so they share it through this module). On the server, where islands are rendered for
 * the first paint, each call gets a fresh client that never starts.
 */
export function pageMeeting(options: MeetingOptions): MeetingClient {
  if (typeof document === "undefined") return new MeetingClient(options);
  pageClient ??= new MeetingClient(options);
  return pageClient;
}
