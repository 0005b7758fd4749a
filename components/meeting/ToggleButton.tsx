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
  // name, icon when on, icon when off, what it does when on, when off, its test id
  const switches = [
    ["Microphone", "mic", "micOff", "Mute microphone", "Unmute microphone", "toggle-mic"],
    ["Camera", "camera", "cameraOff", "Turn camera off", "Turn camera on", "toggle-camera"],
  ] as const;
  const state = [
    { on: props.mic, toggle: props.toggleMic },
    { on: props.camera, toggle: props.toggleCamera },
  ];
  return (
    <>
      {switches.map(([name, onIcon, offIcon, whenOn, whenOff, testId], i) => (
        <ToggleButton
          key={testId}
          on={state[i].on}
          onIcon={onIcon}
          offIcon={offIcon}
          label={state[i].on ? whenOn : whenOff}
          name={name}
          onClick={state[i].toggle}
          testId={testId}
        />
      ))}
    </>
  );
}
