import { assert, assertEquals } from "../../tests/support/assert.ts";
import {
  encodePresence,
  parsePresence,
  type Participant,
  type PresenceMessage,
  Roster,
} from "./presence.ts";

const enc = new TextEncoder();
const p = (sessionId: bigint, instance: string, userId = `u${sessionId}`): Participant => ({
  sessionId,
  userId,
  displayName: userId,
  instance,
});

Deno.test("presence messages round-trip, with 64-bit session ids intact", () => {
  const big = 2n ** 64n - 2n;
  const messages: PresenceMessage[] = [
    { t: "join", i: "a", p: p(big, "a") },
    { t: "leave", i: "a", s: big },
    { t: "sync", i: "a" },
    { t: "roster", i: "a", started: 123, p: [p(1n, "a"), p(big, "a")] },
  ];
  for (const m of messages) assertEquals(parsePresence(encodePresence(m)), m);
});

Deno.test("parsePresence() ignores malformed and hostile messages", () => {
  const bad = [
    "not json",
    "null",
    "[]",
    '{"t":"join","i":"a","p":["x","u","n"]}',
    '{"t":"join","i":"a","p":["0","u","n"]}',
    '{"t":"leave","i":"a","s":"18446744073709551616"}',
    '{"t":"roster","i":"a","started":1,"p":[["1","u"]]}',
    '{"t":"roster","i":"a","p":[]}',
    '{"t":"sync","i":""}',
    '{"t":"explode","i":"a"}',
  ];
  for (const text of bad) assertEquals(parsePresence(enc.encode(text)), undefined, text);
});

Deno.test("Roster.reconcile() adds the listed and removes the unlisted of that instance only", () => {
  const roster = new Roster("me");
  roster.add(p(1n, "me"), 0);
  roster.add(p(2n, "b"), 0);
  roster.add(p(3n, "c"), 0);
  const change = roster.reconcile("b", [p(4n, "b")], 10);
  assertEquals(change.joined.map((x) => x.sessionId), [4n]);
  assertEquals(change.left.map((x) => x.sessionId), [2n]);
  assertEquals([...roster.values()].map((x) => x.sessionId).sort(), [1n, 3n, 4n]);
});

Deno.test("Roster.expire() removes participants of silent instances, never our own", () => {
  const roster = new Roster("me");
  roster.add(p(1n, "me"), 0);
  roster.add(p(2n, "b"), 0);
  roster.add(p(3n, "c"), 0);
  roster.heard("c", 9_000);
  const gone = roster.expire(16_000, 15_000);
  assertEquals(gone.map((x) => x.sessionId), [2n]);
  assert(roster.get(1n));
  assert(roster.get(3n));
  assertEquals(roster.byUser("u3").length, 1);
});
