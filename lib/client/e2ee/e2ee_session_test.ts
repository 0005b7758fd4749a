/**
 * Two E2EE sessions wired to each other in memory (a relay that delivers everything, and can
 * be made to misbehave): key exchange, forged key ids, replayed key packets, resumes.
 */
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { E2eeKind, type E2eePacket } from "../../protocol/packets.ts";
import { E2eeSession } from "./e2ee_session.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytes = (t: string) => new TextEncoder().encode(t);

interface Wire {
  sessions: Map<bigint, E2eeSession>;
  log: { from: bigint; packet: E2eePacket }[];
}

function make(wire: Wire, id: bigint): E2eeSession {
  const s = new E2eeSession({
    isMember: (other) => wire.sessions.has(other),
    send: (packet) => {
      wire.log.push({ from: id, packet });
      for (const [other, peer] of wire.sessions) if (other !== id) void peer.received(id, packet);
    },
  });
  wire.sessions.set(id, s);
  return s;
}

async function pair() {
  const wire: Wire = { sessions: new Map(), log: [] };
  const a = make(wire, 1n);
  const b = make(wire, 2n);
  await a.connected(1n);
  await b.connected(2n);
  await sleep(300);
  assert(b.keyring.has(1n) && a.keyring.has(2n), "keys exchanged");
  return { wire, a, b };
}

async function frame(from: E2eeSession, fromId: bigint, text: string, sequence: bigint) {
  const sealed = await from.encrypt({ mediaType: 1, sequence, key: true }, bytes(text), fromId);
  return {
    header: { senderSession: fromId, mediaType: 1, keyId: sealed!.keyId, sequence, key: true },
    payload: sealed!.payload,
  };
}

Deno.test("a frame whose key id a relay pushed ahead does not replace the sender's real key", async () => {
  const { a, b } = await pair();
  const f = await frame(a, 1n, "hello", 1n);
  assertEquals(await b.decrypt(f.header, f.payload), bytes("hello"));
  const real = b.keyring.newest(1n)!.keyId;
  const forged = { ...f.header, keyId: f.header.keyId + 5 };
  assertEquals(await b.decrypt(forged, f.payload), undefined);
  assertEquals(b.keyring.newest(1n)!.keyId, real, "the real key is still the newest");
  const g = await frame(a, 1n, "still here", 2n);
  assertEquals(await b.decrypt(g.header, g.payload), bytes("still here"));
  a.close();
  b.close();
});

Deno.test("a replayed old key packet does not bring back a key that a rekey retired", async () => {
  const { wire, a, b } = await pair();
  const oldKeyPacket = wire.log.find((e) => e.from === 1n && e.packet.kind === E2eeKind.KEY)!;
  // A third member comes and goes: A rekeys to a new generation.
  const c = make(wire, 3n);
  await c.connected(3n);
  await sleep(300);
  wire.sessions.delete(3n);
  a.left(3n);
  b.left(3n);
  c.close();
  await sleep(300);
  const current = b.keyring.newest(1n)!.keyId;
  assert(current >>> 16 > oldKeyPacket.packet.keyId >>> 16, "a new generation arrived");
  await b.received(1n, oldKeyPacket.packet);
  assertEquals(b.keyring.newest(1n)!.keyId, current, "the replay was ignored");
  a.close();
  b.close();
});

Deno.test("an identity from a session the server does not list is held until it does", async () => {
  const wire: Wire = { sessions: new Map(), log: [] };
  const listed = new Set<bigint>();
  const a = new E2eeSession({ isMember: (s) => listed.has(s), send: () => {} });
  await a.connected(1n);
  const ghost = make(wire, 9n);
  await ghost.connected(9n);
  const announce = wire.log.find((e) => e.packet.kind === E2eeKind.IDENTITY)!;
  await a.received(9n, announce.packet);
  assertEquals(a.members, [], "a ghost is not a member");
  const alone = await a.safetyCode();
  listed.add(9n);
  a.memberJoined(9n);
  await sleep(50);
  assertEquals(a.members, [9n]);
  assert((await a.safetyCode()) !== alone, "the code now covers the new member");
  a.close();
  ghost.close();
});

Deno.test("a resumed connection makes a new key generation and hands it to the members", async () => {
  const { a, b } = await pair();
  const before = a.keyId!;
  await a.connected(1n);
  await sleep(50);
  assertEquals(a.keyId! >>> 16, (before >>> 16) + 1);
  assertEquals(b.keyring.newest(1n)!.keyId, a.keyId);
  a.close();
  b.close();
});
