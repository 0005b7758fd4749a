/**
 * Host decisions that must reach live connections on every instance: the JSON messages on
 * `room.<room>.control`. The meeting service publishes them; each instance's room applies them
 * to its local sessions (admit a waiting session, close a removed one, end the meeting).
 *
 * @example
 * ```ts
 * import { encodeControl, parseControl } from "./control.ts";
 *
 * const bytes = encodeControl({ type: "removed", meetingId: "standup", userId: "mallory" });
 * const event = parseControl(bytes);
 * if (event?.type !== "removed" || event.userId !== "mallory") throw new Error();
 * ```
 *
 * @module
 */
import { parseJsonObject } from "./_json.ts";
import { validateId } from "../protocol/ids.ts";

/** A role in a meeting. */
export type ControlRole = "host" | "cohost" | "guest";

/** A host decision about a meeting. */
export type ControlEvent =
  | { type: "admitted" | "rejected" | "removed" | "left"; meetingId: string; userId: string }
  | { type: "role"; meetingId: string; userId: string; role: ControlRole }
  | { type: "locked" | "unlocked" | "ended" | "waiting_changed"; meetingId: string };

const encoder = new TextEncoder();
const USER_EVENTS = new Set(["admitted", "rejected", "removed", "left", "role"]);
const MEETING_EVENTS = new Set(["locked", "unlocked", "ended", "waiting_changed"]);
const ROLES = new Set(["host", "cohost", "guest"]);

/** Serializes a control event. */
export function encodeControl(event: ControlEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

/** Parses a control event; undefined for anything malformed. */
export function parseControl(bytes: Uint8Array): ControlEvent | undefined {
  const m = parseJsonObject(bytes);
  if (m === undefined) return undefined;
  if (typeof m.type !== "string" || typeof m.meetingId !== "string") return undefined;
  if (!validateId("room id", m.meetingId).ok) return undefined;
  if (MEETING_EVENTS.has(m.type)) {
    return { type: m.type as "locked", meetingId: m.meetingId };
  }
  if (!USER_EVENTS.has(m.type)) return undefined;
  if (typeof m.userId !== "string" || !validateId("user id", m.userId).ok) return undefined;
  if (m.type === "role") {
    if (typeof m.role !== "string" || !ROLES.has(m.role)) return undefined;
    return { type: "role", meetingId: m.meetingId, userId: m.userId, role: m.role as ControlRole };
  }
  return { type: m.type as "admitted", meetingId: m.meetingId, userId: m.userId };
}
