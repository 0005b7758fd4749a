import type { JSX } from "preact";
import type { DeviceChoice } from "../../lib/media/devices.ts";

/** A labelled list of devices to pick from (nothing when there is none to pick). */
export function DevicePicker(
  props: {
    label: string;
    value: string;
    options: DeviceChoice[];
    onChange: (deviceId: string) => void;
  },
): JSX.Element | null {
  if (props.options.length === 0) return null;
  return (
    <label class="field">
      <span>{props.label}</span>
      <select
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map((o) => <option key={o.deviceId} value={o.deviceId}>{o.label}</option>)}
      </select>
    </label>
  );
}
