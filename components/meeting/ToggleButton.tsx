import type { JSX } from "preact";
import { Icon } from "../icons.tsx";

/** A round on/off button: the accessible name says what it controls, aria-pressed its state. */
export function ToggleButton(
  props: {
    on: boolean;
    onIcon: "mic" | "camera" | "screen";
    offIcon: "micOff" | "cameraOff" | "screen";
    /** What the button does now ("Mute microphone"), shown as its tooltip. */
    label: string;
    /** What it controls ("Microphone"). */
    name: string;
    onClick: () => void;
    testId?: string;
  },
): JSX.Element {
  return (
    <button
      type="button"
      class={`round ${props.on ? "" : "off"}`}
      aria-pressed={props.on}
      aria-label={props.name}
      title={props.label}
      onClick={props.onClick}
      data-testid={props.testId}
    >
      <Icon name={props.on ? props.onIcon : props.offIcon} />
    </button>
  );
}

/** The microphone and camera switches (the lobby's preview and the call's toolbar). */
export function DeviceToggles(
  props: {
    mic: boolean;
    camera: boolean;
    toggleMic: () => void;
    toggleCamera: () => void;
  },
): JSX.Element {
  return (
    <>
      <ToggleButton
        on={props.mic}
        onIcon="mic"
        offIcon="micOff"
        label={props.mic ? "Mute microphone" : "Unmute microphone"}
        name="Microphone"
        onClick={props.toggleMic}
        testId="toggle-mic"
      />
      <ToggleButton
        on={props.camera}
        onIcon="camera"
        offIcon="cameraOff"
        label={props.camera ? "Turn camera off" : "Turn camera on"}
        name="Camera"
        onClick={props.toggleCamera}
        testId="toggle-camera"
      />
    </>
  );
}
