/**
 * Hostile and broken clients: each is closed with a clear code and reason, is counted, and
 * nobody else in the room notices.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { delay, eventually, type Harness, uniqueRoom, withServer } from "./support/harness.ts";
import {
  encodeChatPacket,
  encodeE2eePacket,
  encodeMediaPacket,
  encodePacketWrapper,
} from "../lib/protocol/codec.ts";
import { MediaType, PacketType } from "../lib/protocol/packets.ts";
import type { WireClient } from "./support/wire_client.ts";

const enc = new TextEncoder();

interface Case {
  name: string;
  env?: Record<string, string>;
  offend(client: WireClient): void | Promise<void>;
  code: number;
  reason: string;
  counter: string;
}

const validMedia = encodeMediaPacket({
  mediaType: MediaType.AUDIO,
  userId: new Uint8Array(0),
  data: new Uint8Array([1]),
  frameType: "",
  timestamp: 0,
  duration: 0,
});

const cases: Case[] = [
  {
    name: "garbage bytes",
    offend: (c) =>
      c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
    code: 1007,
    reason: "Cannot decode PacketWrapper",
    counter: "malformed",
  },
  {
    name: "a truncated packet",
    offend: (c) =>
      c.sendRaw(
        encodePacketWrapper({
          packetType: PacketType.MEDIA,
          userId: enc.encode("mallory"),
          data: new Uint8Array(200),
          sessionId: 0n,
        }).subarray(0, 50),
      ),
    code: 1007,
    reason: "Cannot decode PacketWrapper",
    counter: "malformed",
  },
  {
    name: "a MEDIA packet whose payload is not a MediaPacket",
    offend: (c) => c.send(PacketType.MEDIA, new Uint8Array([0x0a, 0x50, 1])),
    code: 1007,
    reason: "Cannot decode MediaPacket",
    counter: "malformed",
  },
  {
    name: "an oversized packet",
    env: { MAX_PACKET_BYTES: "1024" },
    offend: (c) => c.send(PacketType.AES_KEY, new Uint8Array(2000)),
    code: 1009,
    reason: "exceeds the limit of 1024 bytes",
    counter: "packet_too_big",
  },
  {
    name: "an unknown media type",
    offend: (c) => c.sendMedia({ mediaType: 77 }),
    code: 1008,
    reason: "Unknown media type 77",
    counter: "unknown_type",
  },
  {
    name: "a server-only packet type",
    offend: (c) => c.send(PacketType.MEETING, new Uint8Array([8, 2])),
    code: 1008,
    reason: "Clients may not send MEETING packets",
    counter: "forbidden_type",
  },
  {
    name: "a packet claiming another user's id",
    offend: (c) => c.send(PacketType.MEDIA, validMedia, "alice"),
    code: 1008,
    reason: 'Packet claims user id "alice" but this connection is "mallory"',
    counter: "impersonation",
  },
  {
    name: "a flood beyond the rate limit",
    env: { MAX_PACKETS_PER_SECOND: "50" },
    offend: (c) => {
      for (let i = 0; i < 300; i++) c.send(PacketType.MEDIA, validMedia);
    },
    code: 4029,
    reason: "More than 50 packets per second",
    counter: "rate_limited",
  },
  {
    name: "a CHAT packet that is not a ChatPacket",
    offend: (c) => c.send(PacketType.CHAT, new Uint8Array([0x12, 0x50, 1])),
    code: 1007,
    reason: "Cannot decode ChatPacket",
    counter: "malformed",
  },
  {
    name: "an overlong chat message",
    offend: (c) =>
      c.send(
        PacketType.CHAT,
        encodeChatPacket({ messageId: "m1", text: "x".repeat(2001), sentAtMs: 0n }),
      ),
    code: 1007,
    reason: "longer than 2000 characters",
    counter: "malformed",
  },
  {
    name: "a chat message without an id",
    offend: (c) =>
      c.send(PacketType.CHAT, encodeChatPacket({ messageId: "", text: "hi", sentAtMs: 0n })),
    code: 1007,
    reason: "chat message id must have 1 to 64 characters",
    counter: "malformed",
  },
  {
    name: "a chat flood",
    env: { CHAT_MESSAGES_PER_SECOND: "2" },
    offend: (c) => {
      for (let i = 0; i < 20; i++) {
        c.send(
          PacketType.CHAT,
          encodeChatPacket({ messageId: `m${i}`, text: "spam", sentAtMs: 0n }),
        );
      }
    },
    code: 4029,
    reason: "More than 2 chat messages per second",
    counter: "rate_limited",
  },
  {
    name: "a blank chat message",
    offend: (c) =>
      c.send(PacketType.CHAT, encodeChatPacket({ messageId: "b", text: " \n ", sentAtMs: 0n })),
    code: 1007,
    reason: "A chat message has no text",
    counter: "malformed",
  },
  {
    name: "an E2EE packet that is not an E2eePacket",
    offend: (c) => c.send(PacketType.E2EE, new Uint8Array([0x12, 0x50, 1])),
    code: 1007,
    reason: "Cannot decode E2eePacket",
    counter: "malformed",
  },
  {
    name: "an E2EE packet of an unknown kind",
    offend: (c) =>
      c.send(
        PacketType.E2EE,
        encodeE2eePacket({
          kind: 9,
          publicKey: new Uint8Array(0),
          toSession: 0n,
          keyId: 0,
          wrapped: new Uint8Array(0),
        }),
      ),
    code: 1007,
    reason: "Unknown E2EE packet kind 9",
    counter: "malformed",
  },
  {
    name: "an oversized E2EE key",
    offend: (c) =>
      c.send(
        PacketType.E2EE,
        encodeE2eePacket({
          kind: 1,
          publicKey: new Uint8Array(300),
          toSession: 0n,
          keyId: 0,
          wrapped: new Uint8Array(0),
        }),
      ),
    code: 1007,
    reason: "An E2EE key is larger than 256 bytes",
    counter: "malformed",
  },
  {
    name: "an E2EE key packet addressed to nobody",
    offend: (c) =>
      c.send(
        PacketType.E2EE,
        encodeE2eePacket({
          kind: 2,
          publicKey: new Uint8Array(0),
          toSession: 0n,
          keyId: 1,
          wrapped: new Uint8Array(56),
        }),
      ),
    code: 1007,
    reason: "An E2EE key packet carries a wrapped key for one session",
    counter: "malformed",
  },
  {
    name: "a text frame",
    offend: (c) => c.sendRaw("hello"),
    code: 1003,
    reason: "Text frames are not accepted",
    counter: "text_frame",
  },
  {
    name: "silence beyond the idle timeout",
    env: { IDLE_TIMEOUT_MS: "1000" },
    offend: () => {},
    code: 4008,
    reason: "No packets for 1 s",
    counter: "idle_timeout",
  },
];

// Alice talks to Bob throughout; both keep their connections alive with heartbeats.
async function bystanders(h: Harness, room: string) {
  const alice = await h.joinActive("alice", room);
  const bob = await h.joinActive("bob", room, [alice]);
  let n = 0;
  const talk = () => {
    alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([++n & 255, n >> 8]) });
    bob.heartbeat();
  };
  const timer = setInterval(talk, 100);
  return {
    alice,
    bob,
    stop: () => clearInterval(timer),
    sent: () => n,
    receivedByBob: () =>
      bob.received.filter((r) => r.userId === "alice" && r.wrapper.packetType === PacketType.MEDIA)
        .length,
  };
}

for (const c of cases) {
  Deno.test(`${c.name} closes only the offending connection, with code ${c.code}`, async () => {
    await withServer(c.env ?? {}, async (h) => {
      const room = uniqueRoom();
      const talk = await bystanders(h, room);
      try {
        const mallory = await h.joinActive("mallory", room, [talk.alice, talk.bob]);
        await c.offend(mallory);
        const closed = await mallory.closed;
        assertEquals(closed.code, c.code);
        assert(
          closed.reason.includes(c.reason),
          `reason "${closed.reason}" should include "${c.reason}"`,
        );
        const before = talk.receivedByBob();
        await eventually(() => talk.receivedByBob() >= before + 3, 3000, "bob to keep receiving");
        assertGreater(
          await h.server.metric("videocall_rejected_connections_total", `reason="${c.counter}"`),
          0,
          `counter ${c.counter}`,
        );
        assertEquals(await h.server.metric("videocall_sessions"), 2);
      } finally {
        talk.stop();
      }
    });
  });
}

Deno.test("invalid ids and paths in the URL get a 400 with a reason, before any upgrade", async () => {
  await withServer({}, async (h) => {
    const cases: [string, number, string][] = [
      ["/lobby/a.b/room", 400, 'The user id "a.b" may only contain'],
      ["/lobby/alice/room.*", 400, 'The room id "room.*" may only contain'],
      ["/lobby/alice/%3E", 400, 'The room id ">" may only contain'],
      [`/lobby/alice/${"r".repeat(65)}`, 400, "The room id is longer than 64 characters"],
      ["/lobby/alice/%E0%A4%A", 400, "invalid percent-encoding"],
      ["/lobby/alice", 400, "The path must be /lobby/<user>/<room>"],
      ["/lobby/alice/room/extra", 400, "The path must be /lobby/<user>/<room>"],
      ["/lobby//room", 400, "The user id is empty"],
      ["/lobby/alice/room?resume=abc", 400, "resume must be a session id"],
      ["/lobby/alice/room", 426, "This endpoint speaks WebSocket only"],
    ];
    for (const [path, status, message] of cases) {
      const response = await fetch(h.server.httpUrl + path, {
        headers: status === 426 ? {} : { upgrade: "websocket", connection: "upgrade" },
      });
      const body = await response.json();
      assertEquals(response.status, status, path);
      assertEquals(body.success, false);
      assert(body.result.message.includes(message), `${path}: "${body.result.message}"`);
    }
    assertGreater(
      await h.server.metric("videocall_rejected_connections_total", 'reason="invalid_room_id"'),
      2,
    );
    // The server still serves.
    const client = await h.join("alice", uniqueRoom());
    assertGreater(Number(client.sessionId), 0);
  });
});

Deno.test("a close reason that quotes a 64-character user id is cut to fit a close frame: the impostor is closed with 1008 and the server carries on", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("longreason");
    const bystander = await h.joinActive("bystander", room);
    const long = "u".repeat(64);
    const impostor = await h.join(long, room);
    // A MEDIA packet whose wrapper claims another 64-character user id (found by the fuzzer: the
    // reason naming both ids was longer than 123 bytes, and closing with it threw in a timer).
    const hex = "08031240".padEnd(2 * (4 + 64), "6d") + "1a0508021a0101";
    impostor.sendRaw(new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16))));
    const closed = await impostor.closed;
    assertEquals(closed.code, 1008);
    assert(new TextEncoder().encode(closed.reason).length <= 123, closed.reason);
    assert(closed.reason.length > 0, "a reason is still given");
    // The process is alive and the bystander's connection with it.
    const later = await h.join("later", room);
    assert(later.sessionId !== 0n);
    const alive = await Promise.race([
      bystander.closed.then(() => false),
      delay(200).then(() => true),
    ]);
    assert(alive, "the bystander is still connected");
  });
});
