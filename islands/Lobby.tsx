/**
 * Before joining: the camera preview with the microphone and camera switches, the device
 * pickers and the Join button. Renders nothing once the page is in the call.
 */
import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { DeviceToggles } from "../components/meeting/ToggleButton.tsx";
import { DevicePicker } from "../components/meeting/DevicePicker.tsx";
import { Avatar } from "../components/meeting/Avatar.tsx";
import { TrackVideo } from "../components/meeting/TrackVideo.tsx";
import { type MeetingOptions, pageMeeting } from "../lib/media/meeting_client.ts";

export default function Lobby(props: MeetingOptions): JSX.Element | null {
  const client = pageMeeting(props);
  const s = client.state;
  // The server-rendered button stays disabled until this island runs in the browser.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  const phase = s.phase.value;
  if (phase !== "lobby" && phase !== "joining") return null;
  const joining = phase === "joining" || props.autoJoin === true;
  const track = s.cameraTrack.value;
  const devices = s.devices.value;
  return (
    <div class="lobby">
      <section class="preview" aria-label="Camera preview">
        {s.camera.value && track
          ? <TrackVideo track={track} mirror label="Your camera" />
          : <Avatar name={props.displayName} size="large" />}
        <div class="preview-controls">
          <DeviceToggles
            mic={s.mic.value}
            camera={s.camera.value}
            toggleMic={() => client.local.toggleMic()}
            toggleCamera={() => client.local.toggleCamera()}
          />
        </div>
      </section>
      <section class="join-card">
        <h1>Ready to join?</h1>
        <p class="muted">
          Meeting <strong>{props.meetingId}</strong> as <strong>{props.displayName}</strong>
        </p>
        <DevicePicker
          label="Camera"
          value={s.cameraId.value}
          options={devices.cameras}
          onChange={(id) => client.chooseDevice("camera", id)}
        />
        <DevicePicker
          label="Microphone"
          value={s.microphoneId.value}
          options={devices.microphones}
          onChange={(id) => client.chooseDevice("microphone", id)}
        />
        <DevicePicker
          label="Speaker"
          value={s.speakerId.value}
          options={devices.speakers}
          onChange={(id) => client.chooseDevice("speaker", id)}
        />
        {s.deviceError.value && <p class="warning" role="alert">{s.deviceError.value}</p>}
        <button
          type="button"
          class="button primary wide"
          disabled={joining || !ready}
          onClick={() => client.join()}
          data-testid="join"
        >
          {joining ? "Joining…" : "Join now"}
        </button>
      </section>
    </div>
  );
}
