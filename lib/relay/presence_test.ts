import { assert, assertEquals } from "../../tests/support/assert.ts";
import {
  encodePresence,
  parsePresence,
  type Participant,
  type PresenceMessage,
  Roster,
  supersedes,
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

Deno.test("move counts round-trip beside the participants, where earlier versions skip them", () => {
  const moved = { ...p(7n, "b"), moves: 2 };
  const messages: PresenceMessage[] = [
    { t: "join", i: "b", p: moved },
    { t: "roster", i: "b", started: 1, p: [p(1n, "b"), moved] },
  ];
  for (const m of messages) assertEquals(parsePresence(encodePresence(m)), m);
  // The participant itself is encoded as before: [session, user, name].
  const wire = JSON.parse(new TextDecoder().decode(encodePresence(messages[0])));
  assertEquals(wire.p, ["7", "u7", "u7"]);
  assertEquals(wire.m, 2);
  for (
    const bad of [
      '{"t":"join","i":"a","p":["1","u","n"],"m":-1}',
      '{"t":"join","i":"a","p":["1","u","n"],"m":1.5}',
      '{"t":"roster","i":"a","started":1,"p":[["1","u","n"]],"m":[]}',
      '{"t":"roster","i":"a","started":1,"p":[["1","u","n"]],"m":{"1":"x"}}',
    ]
  ) {
    assertEquals(parsePresence(enc.encode(bad)), undefined, bad);
  }
});

Deno.test("supersedes(): more moves win; a tie between instances goes to the higher id", () => {
  const a = p(1n, "a");
  assert(supersedes(a, undefined));
  assert(supersedes(a, a), "the same instance repeating itself");
  assert(supersedes({ ...a, instance: "b", moves: 1 }, a));
  assert(!supersedes(a, { ...a, instance: "b", moves: 1 }), "the old instance's stale word");
  assert(supersedes({ ...a, instance: "c", moves: 1 }, { ...a, instance: "b", moves: 1 }));
  assert(!supersedes({ ...a, instance: "b", moves: 1 }, { ...a, instance: "c", moves: 1 }));
});

Deno.test("Roster.reconcile() keeps a moved session with its new instance, whatever the old one says", () => {
  const roster = new Roster("me");
  roster.add(p(1n, "a"), 0);
  roster.add(p(2n, "a"), 0);
  // Session 2 resumed on b.
  roster.add({ ...p(2n, "b"), moves: 1 }, 1);
  // a's roster, sent before it heard of the move, still lists 2: older news, ignored.
  const stale = roster.reconcile("a", [p(1n, "a"), p(2n, "a")], 2);
  assertEquals(stale, { joined: [], left: [], moved: [], counted: false });
  assertEquals(roster.get(2n)?.instance, "b");
  // a's next roster leaves 2 out: it is b's, so nobody leaves.
  assertEquals(roster.reconcile("a", [p(1n, "a")], 3).left, []);
  // c took 1 over, and we only learn it from c's roster (its join was missed): a move.
  const change = roster.reconcile("c", [{ ...p(1n, "c"), moves: 1 }], 4);
  assertEquals(change.moved.map((x) => x.sessionId), [1n]);
  assertEquals(change.joined, [], "already announced");
  assertEquals(roster.get(1n)?.instance, "c");
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
    '{"t":"roster","i":"a","started":1e400,"p":[]}',
    '{"t":"roster","i":"a","started":-1e400,"p":[]}',
    '{"t":"roster","i":"a","started":-5,"p":[]}',
    '{"t":"sync","i":""}',
    '{"t":"explode","i":"a"}',
  ];
  for (const text of bad) assertEquals(parsePresence(enc.encode(text)), undefined, text);
});

Deno.test("a roster started at -0 reads as 0, so it encodes back the same", () => {
  const m = parsePresence(enc.encode('{"t":"roster","i":"a","started":-0,"p":[]}'));
  assert(m?.t === "roster" && Object.is(m.started, 0));
  assertEquals(parsePresence(encodePresence(m)), m);
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
