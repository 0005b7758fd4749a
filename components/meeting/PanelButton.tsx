import type { ComponentChildren, JSX } from "preact";
import { Icon } from "../icons.tsx";
import type { Panel } from "./ui_state.ts";

/** A toolbar button that opens (and closes) one side panel. */
export function PanelButton(
  props: {
    panel: Exclude<Panel, "none">;
    open: Panel;
    toggle: (panel: Panel) => void;
    icon: "chat" | "people" | "shield" | "info";
    label: string;
    title: string;
    extraClass?: string;
    children?: ComponentChildren;
  },
): JSX.Element {
  const active = props.open === props.panel;
  return (
    <button
      type="button"
      class={`round ${props.extraClass ?? ""} ${active ? "active" : ""}`}
      aria-label={props.label}
      aria-pressed={active}
      title={props.title}
      onClick={() => props.toggle(props.panel)}
      data-testid={`open-${props.panel}`}
    >
      <Icon name={props.icon} />
      {props.children}
    </button>
  );
}
