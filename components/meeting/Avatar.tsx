import type { JSX } from "preact";
import { initials } from "./format.ts";

/** A round avatar with someone's initials. */
export function Avatar(props: { name: string; size?: "small" | "large" }): JSX.Element {
  return <div class={`avatar ${props.size ?? ""}`} aria-hidden="true">{initials(props.name)}</div>;
}
