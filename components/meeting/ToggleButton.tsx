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
  const switches = [
    {
      name: "Microphone",
      on: props.mic,
      icons: ["mic", "micOff"],
      says: ["Mute microphone", "Unmute microphone"],
      toggle: props.toggleMic,
      testId: "toggle-mic",
    },
    {
      name: "Camera",
      on: props.camera,
      icons: ["camera", "cameraOff"],
      says: ["Turn camera off", "Turn camera on"],
      toggle: props.toggleCamera,
      testId: "toggle-camera",
    },
  ] as const;
  return (
    <>
      {switches.map((s) => (
        <ToggleButton
          key={s.testId}
          on={s.on}
          onIcon={s.icons[0]}
          offIcon={s.icons[1]}
          label={s.on ? s.says[0] : s.says[1]}
          name={s.name}
          onClick={s.toggle}
          testId={s.testId}
        />
      ))}
    </>
  );
}
