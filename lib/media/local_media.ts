/**
 * Our own media on the meeting page: the camera and microphone preview, device choice, and the
 * camera, microphone and screen senders once in the call. Every device action runs one step at
 * a time (a second click, a device switch or a leave that comes while a camera is opening waits
 * for it and then sees the state it left behind), and a device that finishes opening after the
 * page left or turned it off is closed at once.
 *
 * Browser only.
 *
 * @module
 */
import { MediaType } from "../protocol/packets.ts";
import type { HeartbeatMetadata } from "../protocol/packets.ts";
import type { LayerHint, OutgoingMedia, PublishOptions } from "../client/mod.ts";
import { AudioSender } from "./audio_sender.ts";
import {
  explainMediaError,
  listDevices,
  openCamera,
  openMicrophone,
  openScreen,
} from "./devices.ts";
import type { MeetingState } from "./meeting_state.ts";
import { type LayerStats, VideoSender } from "./video_sender.ts";

/** Audio is dropped while this many bytes wait to be sent (about 1.5 s of video at 720p). */
const AUDIO_MAX_BACKLOG_BYTES = 256 * 1024;

/** How the page asked for our media to be sent. */
export interface LocalMediaOptions {
  videoHeight?: number;
  codec?: "vp9" | "vp8";
  /** Camera simulcast layers (default: by the machine's cores). */
  simulcast?: number;
}

/** What the diagnostics panel shows of our camera. */
export interface CameraStats {
  codec: string;
  /** The height of the best layer being sent. */
  height: number;
  framesEncoded: number;
  layers: LayerStats[];
}

/** Where our media goes, and what it tells the room. */
export interface LocalMediaIo {
  /** Sends a media packet, labelled for the relay; false when it could not be sent. */
  publish(media: OutgoingMedia, options?: PublishOptions): boolean;
  /** Bytes waiting to be sent. */
  backlog(): number;
  /** Tells everyone our flags changed. */
  flags(flags: Partial<HeartbeatMetadata>): void;
  /** Whether we are in the call (senders run only then). */
  inCall(): boolean;
  /** Something to tell the user briefly. */
  notice(text: string): void;
}

/** Camera, microphone and screen of this page. */
export class LocalMedia {
  readonly #state: MeetingState;
  readonly #io: LocalMediaIo;
  readonly #options: LocalMediaOptions;
  microphoneTrack: MediaStreamTrack | undefined;
  #video: VideoSender | undefined;
  #screen: VideoSender | undefined;
  #audio: AudioSender | undefined;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();
  /** Sequence numbers belong to the stream, not the sender: a device switch continues them. */
  readonly #sequences = { video: [] as number[], screen: [] as number[], audio: { next: 0 } };
  /** The relay's last LAYER_HINT (a camera turned on later starts from it). */
  #hint: LayerHint = { video: Infinity, screen: Infinity, watched: { video: true, screen: true } };

  constructor(state: MeetingState, options: LocalMediaOptions, io: LocalMediaIo) {
    this.#state = state;
    this.#options = options;
    this.#io = io;
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => {});
    return run;
  }

  #publish = (media: OutgoingMedia, options?: PublishOptions): boolean => {
    // Audio that cannot leave soon is worse than none: drop it while the connection is backed up.
    if (media.mediaType === MediaType.AUDIO && this.#io.backlog() > AUDIO_MAX_BACKLOG_BYTES) {
      return false;
    }
    return this.#io.publish(media, options);
  };

  /** Opens the camera and microphone for the preview and lists the devices. */
  preview(): Promise<void> {
    return this.#serial(async () => {
      const errors: string[] = [];
      if (this.#state.camera.value) {
        this.#stopCamera();
        const failure = await this.#openCamera();
        if (failure) errors.push(failure);
      }
      this.#stopMicrophone();
      const failure = await this.#openMicrophone();
      if (failure) errors.push(failure);
      try {
        this.#state.devices.value = await listDevices();
      } catch {
        // Devices stay unlisted; defaults are used.
      }
      this.#state.deviceError.value = errors.length ? errors.join(" ") : undefined;
    });
  }

  // Opens a device unless it is open; its failure is a sentence for the user (the switch goes off).
  async #openCamera(): Promise<string | undefined> {
    const s = this.#state;
    const open = s.cameraTrack.value;
    if (open !== undefined && open.readyState !== "ended") return undefined;
    try {
      const track = await openCamera(s.cameraId.value || undefined, this.#options.videoHeight);
      if (this.#closed || !s.camera.value) {
        track.stop();
        return undefined;
      }
      s.cameraTrack.value = track;
      s.cameraId.value = track.getSettings().deviceId ?? s.cameraId.value;
      return undefined;
    } catch (error) {
      s.camera.value = false;
      this.#io.flags({ videoEnabled: false });
      return explainMediaError(error, "camera");
    }
  }

  async #openMicrophone(): Promise<string | undefined> {
    const s = this.#state;
    const open = this.microphoneTrack;
    if (open !== undefined && open.readyState !== "ended") return undefined;
    try {
      const track = await openMicrophone(s.microphoneId.value || undefined);
      if (this.#closed) {
        track.stop();
        return undefined;
      }
      this.microphoneTrack = track;
      s.microphoneId.value = track.getSettings().deviceId ?? s.microphoneId.value;
      return undefined;
    } catch (error) {
      s.mic.value = false;
      this.#io.flags({ audioEnabled: false });
      return explainMediaError(error, "microphone");
    }
  }

  /** Switches camera or microphone (before or during the call). */
  chooseDevice(kind: "camera" | "microphone", deviceId: string): Promise<void> {
    return this.#serial(async () => {
      if (kind === "camera") {
        this.#state.cameraId.value = deviceId;
        if (!this.#state.camera.value) return;
        this.#stopCamera();
        await this.#startCamera();
      } else {
        this.#state.microphoneId.value = deviceId;
        this.#stopMicrophone();
        await this.#startMicrophone();
      }
    });
  }

  /** Starts sending what is switched on (once in the call). */
  startSenders(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state.camera.value) await this.#startCamera();
      if (this.#state.mic.value) await this.#startMicrophone();
    });
  }

  async #startCamera(): Promise<void> {
    const failure = await this.#openCamera();
    this.#state.deviceError.value = failure;
    const track = this.#state.cameraTrack.value;
    if (failure || track === undefined || !this.#io.inCall()) return;
    this.#video?.stop();
    this.#video = this.#videoSender(track, MediaType.VIDEO);
    await this.#video.start();
  }

  #videoSender(track: MediaStreamTrack, mediaType: number): VideoSender {
    const screen = mediaType === MediaType.SCREEN;
    const sender = new VideoSender({
      track,
      mediaType,
      send: this.#publish,
      backlog: () => this.#io.backlog(),
      codec: this.#options.codec,
      sequences: screen ? this.#sequences.screen : this.#sequences.video,
      layers: this.#options.simulcast,
    });
    if (screen) sender.setMaxLayer(this.#hint.screen, this.#hint.watched.screen);
    else sender.setMaxLayer(this.#hint.video, this.#hint.watched.video);
    return sender;
  }

  #stopCamera(): void {
    this.#video?.stop();
    this.#video = undefined;
    this.#state.cameraTrack.value?.stop();
    this.#state.cameraTrack.value = undefined;
  }

  async #startMicrophone(): Promise<void> {
    const failure = await this.#openMicrophone();
    if (failure) this.#state.deviceError.value = failure;
    const track = this.microphoneTrack;
    if (failure || track === undefined || !this.#io.inCall()) return;
    this.#audio?.stop();
    const audio = new AudioSender({
      track,
      send: this.#publish,
      onSpeaking: (speaking) => {
        this.#state.speaking.value = speaking;
        this.#io.flags({ isSpeaking: speaking });
      },
      onFailure: (message) => this.#state.deviceError.value = message,
      sequence: this.#sequences.audio,
    });
    this.#audio = audio;
    audio.enabled = this.#state.mic.value;
    if (!audio.start()) {
      this.#state.deviceError.value = "This browser cannot send audio (no WebCodecs audio).";
    }
  }

  #stopMicrophone(): void {
    this.#audio?.stop();
    this.#audio = undefined;
    this.microphoneTrack?.stop();
    this.microphoneTrack = undefined;
  }

  /** Mutes or unmutes the microphone (muting keeps the track, so unmuting is instant). */
  toggleMic(): Promise<void> {
    return this.#serial(async () => {
      const mic = !this.#state.mic.value;
      this.#state.mic.value = mic;
      if (this.#audio) this.#audio.enabled = mic;
      else if (mic && this.#io.inCall()) await this.#startMicrophone();
      this.#io.flags({ audioEnabled: mic, isSpeaking: mic && (this.#audio?.speaking ?? false) });
    });
  }

  /** Turns the camera on or off (off releases the device: its light goes out). */
  toggleCamera(): Promise<void> {
    return this.#serial(async () => {
      const camera = !this.#state.camera.value;
      this.#state.camera.value = camera;
      this.#io.flags({ videoEnabled: camera });
      if (camera) await this.#startCamera();
      else this.#stopCamera();
    });
  }

  /** Starts or stops sharing the screen. */
  toggleScreen(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state.screen.value) return this.#stopScreen();
      let track: MediaStreamTrack;
      try {
        track = await openScreen();
      } catch (error) {
        if (error instanceof DOMException && error.name === "NotAllowedError") return;
        this.#io.notice(explainMediaError(error, "screen"));
        return;
      }
      if (this.#closed) {
        track.stop();
        return;
      }
      this.#state.screenTrack.value = track;
      track.addEventListener("ended", () => this.#stopScreen());
      this.#screen = this.#videoSender(track, MediaType.SCREEN);
      await this.#screen.start();
      this.#state.screen.value = true;
      this.#io.flags({ screenEnabled: true });
    });
  }

  #stopScreen(): void {
    this.#screen?.stop();
    this.#screen = undefined;
    this.#state.screenTrack.value?.stop();
    this.#state.screenTrack.value = undefined;
    if (this.#state.screen.value) {
      this.#state.screen.value = false;
      this.#io.flags({ screenEnabled: false });
    }
  }

  /** Someone asked for a key frame of VIDEO or SCREEN, of one layer (rate-limited by the sender). */
  keyframeRequested(mediaType: number, layer: number): void {
    (mediaType === MediaType.SCREEN ? this.#screen : this.#video)?.requestKeyframe(layer);
  }

  /** The relay's LAYER_HINT: the layers above these are watched by nobody; stop encoding them. */
  layerHint(hint: LayerHint): void {
    this.#hint = hint;
    this.#video?.setMaxLayer(hint.video, hint.watched.video);
    this.#screen?.setMaxLayer(hint.screen, hint.watched.screen);
  }

  /** A newcomer needs a key frame to start from: send one now rather than make them ask. */
  welcome(): void {
    this.#video?.requestKeyframe();
    this.#screen?.requestKeyframe();
  }

  /** Our key moved on: key frames now, not rate-limited like requests. */
  forceKeyframes(): void {
    this.#video?.forceKeyframe();
    this.#screen?.forceKeyframe();
  }

  /** Receivers of our video are congested: step down. */
  congested(): void {
    this.#video?.congested();
    this.#screen?.congested();
  }

  /** Figures for the diagnostics panel. */
  stats(): { camera?: CameraStats } {
    const video = this.#video;
    return {
      camera: video
        ? {
          codec: video.codec,
          height: video.rung.height,
          framesEncoded: video.stats.framesEncoded,
          layers: video.layerStats(),
        }
        : undefined,
    };
  }

  /** Stops every sender and releases every device; later opens are closed at once. */
  close(): void {
    this.#closed = true;
    this.#stopScreen();
    this.#stopCamera();
    this.#stopMicrophone();
  }
}
