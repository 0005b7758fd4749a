/**
 * Everything a meeting page does, behind one object the UI drives: device preview and choice,
 * joining (API + connection), camera, microphone and screen senders, everyone else's media,
 * chat, host actions, diagnostics, and leaving. The UI subscribes and renders
 * {@linkcode MeetingSnapshot}s; it holds no media or network logic of its own.
 *
 * Browser only.
 *
 * @module
 */
import { MediaType } from "../protocol/packets.ts";
import { AudioPlayout } from "./audio_playout.ts";
import { VP9_CODEC } from "./codecs.ts";
import { AudioSender } from "./audio_sender.ts";
import { Call, type CallState, type ChatMessage, JoinError, newPeer, type Peer } from "./call.ts";
import {
  type DeviceList,
  explainMediaError,
  listDevices,
  openCamera,
  openMicrophone,
  openScreen,
} from "./devices.ts";
import { percentile } from "./rate_meter.ts";
import { type ReceiveStats, RemoteMedia } from "./remote_media.ts";
import type { TransportChoice } from "../client/transport.ts";
import { VideoSender } from "./video_sender.ts";

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

/** What the UI renders. */
export interface MeetingSnapshot {
  phase: "lobby" | "joining" | "in-call" | "ended";
  state: CallState;
  error?: string;
  peers: Peer[];
  chat: ChatMessage[];
  unreadChat: number;
  notices: Notice[];
  waiting: Waiting[];
  role: "host" | "cohost" | "guest";
  locked: boolean;
  mic: boolean;
  camera: boolean;
  screen: boolean;
  speaking: boolean;
  devices: DeviceList;
  cameraId: string;
  microphoneId: string;
  speakerId: string;
  deviceError?: string;
  joinedAtMs?: number;
  transport?: string;
  rttMs?: number;
  /** Our media is end-to-end encrypted. */
  e2ee: boolean;
  /** The meeting requires it (it cannot be turned off). */
  e2eeRequired: boolean;
  /** The safety code over everyone's keys (compare it with the others'). */
  safetyCode?: string;
}

/** How the page was opened. */
export interface MeetingClientOptions {
  userId: string;
  meetingId: string;
  displayName: string;
  token?: string;
  transport?: TransportChoice;
  codec?: "vp9" | "vp8";
  /** Camera capture height (default 720). */
  videoHeight?: number;
  /** End-to-end encryption: "required" creates the meeting so; "on" encrypts our media. */
  e2ee?: "required" | "on" | "off";
}

/** Audio is dropped while this many bytes wait to be sent (about 1.5 s of video at 720p). */
const AUDIO_MAX_BACKLOG_BYTES = 256 * 1024;

/** The page's meeting. */
export class MeetingClient {
  readonly options: MeetingClientOptions;
  call: Call | undefined;
  remote: RemoteMedia | undefined;
  playout: AudioPlayout | undefined;
  cameraTrack: MediaStreamTrack | undefined;
  microphoneTrack: MediaStreamTrack | undefined;
  screenTrack: MediaStreamTrack | undefined;
  #video: VideoSender | undefined;
  #screen: VideoSender | undefined;
  #audio: AudioSender | undefined;
  #listeners = new Set<(s: MeetingSnapshot) => void>();
  #noticeId = 0;
  #chatOpen = false;
  /** `performance.now()` when Join was pressed (for join-to-first-frame figures). */
  joinStartedAt = 0;
  /** `performance.now()` when the connection first opened (SESSION_ASSIGNED). */
  connectedAt = 0;
  snapshot: MeetingSnapshot;

  constructor(options: MeetingClientOptions) {
    this.options = options;
    this.snapshot = {
      phase: "lobby",
      state: { kind: "connecting", attempt: 0 },
      peers: [],
      chat: [],
      unreadChat: 0,
      notices: [],
      waiting: [],
      role: "guest",
      locked: false,
      mic: true,
      camera: true,
      screen: false,
      speaking: false,
      devices: { cameras: [], microphones: [], speakers: [] },
      cameraId: "",
      microphoneId: "",
      speakerId: "",
      e2ee: options.e2ee === "on" || options.e2ee === "required",
      e2eeRequired: false,
    };
  }

  /** Calls `listener` with every new snapshot; returns the unsubscribe function. */
  subscribe(listener: (s: MeetingSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #update(patch: Partial<MeetingSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.#listeners) l(this.snapshot);
  }

  #notice(text: string): void {
    const id = ++this.#noticeId;
    this.#update({ notices: [...this.snapshot.notices, { id, text }].slice(-4) });
    setTimeout(() => {
      this.#update({ notices: this.snapshot.notices.filter((n) => n.id !== id) });
    }, 4000);
  }

  // Device work runs one step at a time: a second click, a device switch or a leave that comes
  // while a camera is opening waits for it, and then sees the state it left behind.
  #queue: Promise<unknown> = Promise.resolve();
  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Set once the page left the meeting: devices opened after this are closed at once. */
  #closed = false;
  readonly #sequences = { video: { next: 0 }, screen: { next: 0 }, audio: { next: 0 } };

  /** Opens the camera and microphone for the preview and lists devices. */
  preview(): Promise<void> {
    return this.#serial(() => this.#preview());
  }

  async #preview(): Promise<void> {
    const errors: string[] = [];
    if (this.snapshot.camera) {
      try {
        this.cameraTrack?.stop();
        this.cameraTrack = await openCamera(
          this.snapshot.cameraId || undefined,
          this.options.videoHeight,
        );
      } catch (error) {
        errors.push(explainMediaError(error, "camera"));
        this.#update({ camera: false });
      }
    }
    try {
      this.microphoneTrack?.stop();
      this.microphoneTrack = await openMicrophone(this.snapshot.microphoneId || undefined);
    } catch (error) {
      errors.push(explainMediaError(error, "microphone"));
      this.#update({ mic: false });
    }
    let devices = this.snapshot.devices;
    try {
      devices = await listDevices();
    } catch {
      // Devices stay unlisted; defaults are used.
    }
    this.#update({
      devices,
      cameraId: this.cameraTrack?.getSettings().deviceId ?? this.snapshot.cameraId,
      microphoneId: this.microphoneTrack?.getSettings().deviceId ?? this.snapshot.microphoneId,
      deviceError: errors.length ? errors.join(" ") : undefined,
    });
  }

  /** Switches camera, microphone or speaker (before or during the call). */
  chooseDevice(kind: "camera" | "microphone" | "speaker", deviceId: string): Promise<void> {
    return this.#serial(() => this.#chooseDevice(kind, deviceId));
  }

  async #chooseDevice(kind: "camera" | "microphone" | "speaker", deviceId: string): Promise<void> {
    if (kind === "speaker") {
      this.#update({ speakerId: deviceId });
      await this.playout?.setSpeaker(deviceId).catch(() => false);
      return;
    }
    if (kind === "camera") {
      this.#update({ cameraId: deviceId });
      if (!this.snapshot.camera) return;
      this.#stopCamera();
      await this.#startCamera();
    } else {
      this.#update({ microphoneId: deviceId });
      this.#audio?.stop();
      this.#audio = undefined;
      this.microphoneTrack?.stop();
      this.microphoneTrack = undefined;
      if (this.snapshot.phase !== "in-call") return this.#preview();
      await this.#startMicrophone();
    }
  }

  /** Joins (the click on "Join" is the user gesture that lets audio play). */
  join(): void {
    if (this.snapshot.phase === "joining" || this.snapshot.phase === "in-call") return;
    this.#update({ phase: "joining", error: undefined });
    this.joinStartedAt = performance.now();
    const playout = new AudioPlayout();
    this.playout = playout;
    // Not awaited: without a user gesture (autojoin) a browser keeps the context suspended
    // until the first click or key, and the call must not wait for that.
    playout.resume().catch(() => {});
    const wake = () => playout.resume().catch(() => {});
    addEventListener("pointerdown", wake, { once: true });
    addEventListener("keydown", wake, { once: true });
    if (this.snapshot.speakerId) playout.setSpeaker(this.snapshot.speakerId).catch(() => {});
    const call = new Call({
      origin: location.origin,
      userId: this.options.userId,
      meetingId: this.options.meetingId,
      displayName: this.options.displayName,
      token: this.options.token,
      transport: this.options.transport,
      e2ee: this.snapshot.e2ee,
      createE2eeRequired: this.options.e2ee === "required",
      events: {
        state: (state) => this.#onState(state),
        peers: (peers) => this.#onPeers(peers),
        chat: (message) => this.#onChat(message),
        notice: (text) => this.#notice(text),
        media: (peer, media) => this.remote?.onMedia(peer, media),
        keyframeRequest: (type) =>
          (type === MediaType.SCREEN ? this.#screen : this.#video)
            ?.requestKeyframe(),
        congestion: () => {
          this.#video?.congested();
          this.#screen?.congested();
        },
        rtt: (ms) => this.#update({ rttMs: ms }),
        waitingRoom: () => this.refreshWaiting(),
        e2ee: () => this.#refreshSafetyCode(),
        newKey: () => {
          this.#video?.forceKeyframe();
          this.#screen?.forceKeyframe();
        },
      },
    });
    this.call = call;
    this.remote = new RemoteMedia(this.playout, (peer, type) => call.requestKeyframe(peer, type));
    call.local.audioEnabled = this.snapshot.mic;
    call.local.videoEnabled = this.snapshot.camera;
    call.start().catch((error) => {
      const message = error instanceof JoinError ? error.message : `Could not join: ${error}`;
      this.#teardownMedia();
      this.#update({ phase: "ended", error: message });
    });
  }

  #onState(state: CallState): void {
    const patch: Partial<MeetingSnapshot> = { state, transport: this.call?.transport };
    if (state.kind === "connected" && this.connectedAt === 0) this.connectedAt = performance.now();
    if (state.kind === "connected" && this.snapshot.phase !== "in-call") {
      patch.phase = "in-call";
      patch.joinedAtMs = Date.now();
      patch.role = this.call?.join?.role ?? "guest";
      patch.locked = this.call?.join?.locked ?? false;
      patch.e2eeRequired = this.call?.join?.e2eeRequired ?? false;
      patch.e2ee = this.call?.e2eeOn ?? false;
      this.#refreshSafetyCode();
      this.#serial(() => this.#startSenders());
      if (patch.role !== "guest") this.refreshWaiting();
    }
    if (state.kind === "connected" && this.snapshot.state.kind === "reconnecting") {
      this.#notice("Reconnected");
    }
    if (state.kind === "ended") {
      patch.phase = "ended";
      patch.error = state.code === 1000 ? undefined : state.reason;
      this.#teardownMedia();
    }
    this.#update(patch);
  }

  #onPeers(peers: Peer[]): void {
    const present = new Set(peers.map((p) => p.sessionId));
    for (const p of this.snapshot.peers) {
      if (!present.has(p.sessionId)) this.remote?.remove(p.sessionId);
    }
    // Someone new needs a key frame to start from: send one now rather than make them ask.
    const before = new Set(this.snapshot.peers.map((p) => p.sessionId));
    for (const p of peers) {
      if (!before.has(p.sessionId)) this.remote?.expect(p, VP9_CODEC);
    }
    if (peers.some((p) => !before.has(p.sessionId))) {
      this.#video?.requestKeyframe();
      this.#screen?.requestKeyframe();
      // And our flags, so their tile for us shows video at once rather than after a second.
      this.call?.sendHeartbeat();
    }
    this.#update({ peers });
  }

  #onChat(message: ChatMessage): void {
    this.#update({
      chat: [...this.snapshot.chat, message].slice(-500),
      unreadChat: this.#chatOpen ? 0 : this.snapshot.unreadChat + 1,
    });
  }

  /** The chat panel opened or closed (unread count resets when open). */
  chatVisible(open: boolean): void {
    this.#chatOpen = open;
    if (open) this.#update({ unreadChat: 0 });
  }

  async #startSenders(): Promise<void> {
    if (this.snapshot.camera) await this.#startCamera();
    if (this.snapshot.mic) await this.#startMicrophone();
  }

  #send = (media: Parameters<Call["sendMedia"]>[0]) => {
    // Audio that cannot leave soon is worse than none: drop it while the connection is backed up.
    if (media.mediaType === MediaType.AUDIO && this.#backlog() > AUDIO_MAX_BACKLOG_BYTES) {
      return false;
    }
    return this.call?.sendMedia(media) ?? false;
  };
  #backlog = () => this.call?.backlog() ?? 0;

  async #startCamera(): Promise<void> {
    try {
      if (this.cameraTrack === undefined || this.cameraTrack.readyState === "ended") {
        const track = await openCamera(
          this.snapshot.cameraId || undefined,
          this.options.videoHeight,
        );
        if (this.#closed || !this.snapshot.camera) {
          track.stop();
          return;
        }
        this.cameraTrack = track;
      }
    } catch (error) {
      this.#update({ camera: false, deviceError: explainMediaError(error, "camera") });
      this.call?.setLocal({ videoEnabled: false });
      return;
    }
    this.#update({ deviceError: undefined });
    if (this.snapshot.phase !== "in-call" && this.snapshot.phase !== "joining") return;
    this.#video?.stop();
    this.#video = new VideoSender({
      track: this.cameraTrack,
      mediaType: MediaType.VIDEO,
      send: this.#send,
      backlog: this.#backlog,
      codec: this.options.codec,
      sequence: this.#sequences.video,
    });
    await this.#video.start();
  }

  #stopCamera(): void {
    this.#video?.stop();
    this.#video = undefined;
    this.cameraTrack?.stop();
    this.cameraTrack = undefined;
  }

  async #startMicrophone(): Promise<void> {
    try {
      if (this.microphoneTrack === undefined || this.microphoneTrack.readyState === "ended") {
        const track = await openMicrophone(this.snapshot.microphoneId || undefined);
        if (this.#closed) {
          track.stop();
          return;
        }
        this.microphoneTrack = track;
      }
    } catch (error) {
      this.#update({ mic: false, deviceError: explainMediaError(error, "microphone") });
      this.call?.setLocal({ audioEnabled: false });
      return;
    }
    if (this.snapshot.phase !== "in-call" && this.snapshot.phase !== "joining") return;
    this.#audio?.stop();
    this.#audio = new AudioSender({
      track: this.microphoneTrack,
      send: this.#send,
      onSpeaking: (speaking) => {
        this.#update({ speaking });
        this.call?.setLocal({ isSpeaking: speaking });
      },
      onFailure: (message) => this.#update({ deviceError: message }),
      sequence: this.#sequences.audio,
    });
    this.#audio.enabled = this.snapshot.mic;
    if (!this.#audio.start()) {
      this.#update({ deviceError: "This browser cannot send audio (no WebCodecs audio)." });
    }
  }

  /** Mutes or unmutes the microphone. */
  toggleMic(): Promise<void> {
    return this.#serial(() => this.#toggleMic());
  }

  async #toggleMic(): Promise<void> {
    const mic = !this.snapshot.mic;
    this.#update({ mic });
    if (this.#audio) this.#audio.enabled = mic;
    else if (mic && this.snapshot.phase === "in-call") await this.#startMicrophone();
    this.call?.setLocal({ audioEnabled: mic, isSpeaking: mic && (this.#audio?.speaking ?? false) });
  }

  /** Turns the camera on or off (off releases the device: its light goes out). */
  toggleCamera(): Promise<void> {
    return this.#serial(() => this.#toggleCamera());
  }

  async #toggleCamera(): Promise<void> {
    const camera = !this.snapshot.camera;
    this.#update({ camera });
    this.call?.setLocal({ videoEnabled: camera });
    if (camera) await this.#startCamera();
    else this.#stopCamera();
  }

  /** Starts or stops sharing the screen. */
  toggleScreen(): Promise<void> {
    return this.#serial(() => this.#toggleScreen());
  }

  async #toggleScreen(): Promise<void> {
    if (this.snapshot.screen) return this.#stopScreen();
    try {
      const track = await openScreen();
      if (this.#closed) {
        track.stop();
        return;
      }
      this.screenTrack = track;
    } catch (error) {
      if (error instanceof DOMException && error.name === "NotAllowedError") return;
      this.#notice(explainMediaError(error, "screen"));
      return;
    }
    this.screenTrack.addEventListener("ended", () => this.#stopScreen());
    this.#screen = new VideoSender({
      track: this.screenTrack,
      mediaType: MediaType.SCREEN,
      send: this.#send,
      backlog: this.#backlog,
      codec: this.options.codec,
      sequence: this.#sequences.screen,
    });
    await this.#screen.start();
    this.#update({ screen: true });
    this.call?.setLocal({ screenEnabled: true });
  }

  #stopScreen(): void {
    this.#screen?.stop();
    this.#screen = undefined;
    this.screenTrack?.stop();
    this.screenTrack = undefined;
    if (this.snapshot.screen) {
      this.#update({ screen: false });
      this.call?.setLocal({ screenEnabled: false });
    }
  }

  #refreshSafetyCode(): void {
    this.call?.e2ee.safetyCode().then((safetyCode) => this.#update({ safetyCode }), () => {});
  }

  /** Turns encryption of our media on or off (not in meetings that require it). */
  toggleE2ee(): void {
    const call = this.call;
    if (call === undefined || this.snapshot.e2eeRequired) return;
    call.e2eeOn = !call.e2eeOn;
    this.#update({ e2ee: call.e2eeOn });
    this.#notice(
      call.e2eeOn ? "Your media is now end-to-end encrypted" : "End-to-end encryption off",
    );
  }

  /** Sends a chat message. */
  sendChat(text: string): boolean {
    const message = this.call?.sendChat(text);
    if (message === undefined) return false;
    this.#update({ chat: [...this.snapshot.chat, message].slice(-500) });
    return true;
  }

  /** Hosts: reloads the waiting list. */
  async refreshWaiting(): Promise<void> {
    if (this.call === undefined || this.snapshot.role === "guest") return;
    try {
      const list = await this.call.api(
        "GET",
        `/meetings/${encodeURIComponent(this.options.meetingId)}/waiting`,
      ) as { user_id: string; display_name: string }[];
      this.#update({
        waiting: list.map((w) => ({ userId: w.user_id, displayName: w.display_name })),
      });
    } catch {
      // Not a host any more, or the server is busy: the list stays as it was.
    }
  }

  /** Hosts: admit, reject or remove someone; lock, unlock or end the meeting. */
  async hostAction(
    action: "admit" | "reject" | "remove" | "lock" | "unlock" | "end",
    userId?: string,
  ): Promise<void> {
    if (this.call === undefined) return;
    try {
      await this.call.api(
        "POST",
        `/meetings/${encodeURIComponent(this.options.meetingId)}/${action}`,
        userId === undefined ? undefined : { user_id: userId },
      );
      if (action === "lock" || action === "unlock") this.#update({ locked: action === "lock" });
      if (action === "admit" || action === "reject") await this.refreshWaiting();
    } catch (error) {
      this.#notice(error instanceof Error ? error.message : String(error));
    }
  }

  /** Shows a sender's stream on a canvas, or stops decoding it (`undefined`). */
  attach(sessionId: string, mediaType: number, canvas: HTMLCanvasElement | undefined): void {
    this.remote?.attach(sessionId, mediaType, canvas);
  }

  /** Figures for the diagnostics panel. */
  diagnostics(): {
    transport?: string;
    rttMs?: number;
    sent: { camera?: unknown; screen?: unknown; audio?: unknown };
    received: ReceiveStats[];
    packetsIn: number;
    packetsOut: number;
    reconnects: number;
  } {
    return {
      transport: this.call?.transport,
      rttMs: this.call?.rttMs,
      sent: {
        camera: this.#video
          ? { ...this.#video.stats, codec: this.#video.codec, height: this.#video.rung.height }
          : undefined,
        screen: this.#screen?.stats,
        audio: this.#audio?.stats,
      },
      received: this.remote?.stats(this.snapshot.peers) ?? [],
      packetsIn: this.call?.counters.packetsIn ?? 0,
      packetsOut: this.call?.counters.packetsOut ?? 0,
      reconnects: this.call?.counters.reconnects ?? 0,
    };
  }

  /** Capture-to-render latency figures since the last call (for the benchmark). */
  latency(): { samples: number; p50: number; p95: number; values: number[] } {
    const values = this.remote?.takeLatencies() ?? [];
    return {
      samples: values.length,
      p50: percentile(values, 50),
      p95: percentile(values, 95),
      values,
    };
  }

  /**
   * The floor under capture-to-render latency: the camera is encoded and decoded in this page
   * for `ms` milliseconds, with no network and no relay in between. Returns the samples.
   */
  async loopbackLatency(ms: number): Promise<number[]> {
    const opened = this.cameraTrack
      ? undefined
      : await openCamera(undefined, this.options.videoHeight);
    const track = this.cameraTrack ?? opened!;
    const playout = this.playout ?? new AudioPlayout();
    const remote = new RemoteMedia(playout, () => {});
    const peer = { ...newPeer("loopback", "loopback", "loopback"), video: true };
    remote.attach(peer.sessionId, MediaType.VIDEO, document.createElement("canvas"));
    const sender = new VideoSender({
      track: track.clone(),
      mediaType: MediaType.VIDEO,
      send: (media) => {
        remote.onMedia(peer, { ...media, userId: new Uint8Array(0) });
        return true;
      },
      backlog: () => 0,
      codec: this.options.codec,
    });
    await sender.start();
    await new Promise((r) => setTimeout(r, ms));
    sender.stop();
    sender.options.track.stop();
    opened?.stop();
    const values = remote.takeLatencies();
    remote.close();
    if (playout !== this.playout) await playout.close();
    return values;
  }

  /** Leaves the meeting and releases every device. */
  async leave(): Promise<void> {
    await this.call?.leave();
    this.#teardownMedia();
    this.#update({ phase: "ended" });
  }

  #teardownMedia(): void {
    this.#closed = true;
    this.#stopScreen();
    this.#stopCamera();
    this.#audio?.stop();
    this.#audio = undefined;
    this.microphoneTrack?.stop();
    this.microphoneTrack = undefined;
    this.remote?.close();
    this.remote = undefined;
    this.playout?.close();
    this.playout = undefined;
  }
}
