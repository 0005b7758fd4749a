/**
 * Cameras, microphones and speakers: listing them and opening them with sensible constraints.
 *
 * Browser only.
 *
 * @module
 */

/** A device the user can pick. */
export interface DeviceChoice {
  deviceId: string;
  label: string;
}

/** What the browser offers. */
export interface DeviceList {
  cameras: DeviceChoice[];
  microphones: DeviceChoice[];
  speakers: DeviceChoice[];
}

/** Lists devices (labels appear once the page has camera or microphone permission). */
export async function listDevices(): Promise<DeviceList> {
  const all = await navigator.mediaDevices.enumerateDevices();
  const pick = (kind: MediaDeviceKind, fallback: string) =>
    all.filter((d) => d.kind === kind && d.deviceId !== "").map((d, i) => ({
      deviceId: d.deviceId,
      label: d.label || `${fallback} ${i + 1}`,
    }));
  return {
    cameras: pick("videoinput", "Camera"),
    microphones: pick("audioinput", "Microphone"),
    speakers: pick("audiooutput", "Speaker"),
  };
}

/** Opens a camera at up to `height` lines (16:9 ideal), 30 fps at most. */
export async function openCamera(deviceId?: string, height = 720): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      width: { ideal: Math.round((height * 16) / 9) },
      height: { ideal: height },
      frameRate: { ideal: 30, max: 30 },
    },
  });
  return stream.getVideoTracks()[0];
}

/** Opens a microphone with echo cancellation, noise suppression and gain control. */
export async function openMicrophone(deviceId?: string): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      deviceId: deviceId ? { exact: deviceId } : undefined,
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      channelCount: 1,
      sampleRate: 48_000,
    },
  });
  return stream.getAudioTracks()[0];
}

/** Asks the user for a screen, window or tab. */
export async function openScreen(): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getDisplayMedia({
    video: { frameRate: { ideal: 15, max: 30 }, height: { max: 1080 } },
    audio: false,
  });
  return stream.getVideoTracks()[0];
}

/** A human sentence for a getUserMedia failure. */
export function explainMediaError(error: unknown, what: string): string {
  const name = error instanceof DOMException ? error.name : "";
  switch (name) {
    case "NotAllowedError":
      return `Permission to use your ${what} was denied. Allow it in the browser's site settings.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${what} was found.`;
    case "NotReadableError":
      return `Your ${what} is in use by another application.`;
    default:
      return `Could not open your ${what}: ${error instanceof Error ? error.message : error}`;
  }
}
