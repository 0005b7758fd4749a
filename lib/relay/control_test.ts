import { assertEquals } from "../../tests/support/assert.ts";
import { type ControlEvent, encodeControl, parseControl } from "./control.ts";

const enc = new TextEncoder();

Deno.test("control events round-trip", () => {
  const events: ControlEvent[] = [
    { type: "admitted", meetingId: "m", userId: "u" },
    { type: "rejected", meetingId: "m", userId: "u" },
    { type: "removed", meetingId: "m", userId: "u" },
    { type: "role", meetingId: "m", userId: "u", role: "cohost" },
    { type: "ended", meetingId: "m" },
    { type: "locked", meetingId: "m" },
    { type: "waiting_changed", meetingId: "m" },
  ];
  for (const e of events) assertEquals(parseControl(encodeControl(e)), e);
});

Deno.test("parseControl() refuses malformed events and ids that could reach a subject", () => {
  const bad = [
    "nope",
    "null",
    '{"type":"removed","meetingId":"m"}',
    '{"type":"removed","meetingId":"m","userId":"a.b"}',
    '{"type":"ended","meetingId":"room.*"}',
    '{"type":"role","meetingId":"m","userId":"u","role":"king"}',
    '{"type":"explode","meetingId":"m"}',
  ];
  for (const text of bad) assertEquals(parseControl(enc.encode(text)), undefined, text);
});
