/**
 * UI state that two islands of the meeting page share: which side panel is open (the toolbar
 * opens it, the panel shows it) and whether the grid is in speaker view. One per meeting client,
 * so every island of a page sees the same signals.
 *
 * @module
 */
import { type Signal, signal } from "@preact/signals";

/** The side panels. */
export type Panel = "none" | "chat" | "people" | "stats" | "verify";

/** What the islands share besides the meeting itself. */
export interface MeetingUi {
  panel: Signal<Panel>;
  speakerView: Signal<boolean>;
}

const byClient = new WeakMap<object, MeetingUi>();

/** The UI state that belongs to `client`. */
export function meetingUi(client: object): MeetingUi {
  let ui = byClient.get(client);
  if (ui === undefined) {
    ui = { panel: signal("none"), speakerView: signal(false) };
    byClient.set(client, ui);
  }
  return ui;
}
