/**
 * End-to-end encryption through a real server on NATS, with calls speaking the wire protocol:
 * an observer subscribed to the room's NATS subjects (everything the relay moves) finds none of
 * the plaintext; a participant removed by the host cannot decrypt what is sent after the rekey;
 * safety codes match, and differ when a stand-in for a malicious relay swaps a key; a meeting
 * that requires E2EE refuses media in clear.
 */
import { assert, assertEquals, assertNotEquals } from "./support/assert.ts";
import { eventually, uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { Call } from "../lib/media/call.ts";
import { Identity } from "../lib/client/e2ee/identity.ts";
import { NatsBus } from "../lib/relay/nats_bus.ts";
import { readBusFrame } from "../lib/relay/bus_frame.ts";
import { roomWildcard } from "../lib/relay/bus.ts";
import {
  decodeChatPacket,
  decodeE2eePacket,
  decodeMediaPacket,
  decodePacketWrapper,
  encodeChatPacket,
  encodeE2eePacket,
} from "../lib/protocol/codec.ts";
import { E2eeKind, type MediaPacket, MediaType, PacketType } from "../lib/protocol/packets.ts";

const natsUrl = await sharedNatsUrl();
const enc = new TextEncoder();

interface Member {
  call: Call;
  media: MediaPacket[];
  chats: string[];
}

function member(
  server: ServerProcess,
  userId: string,
  room: string,
  options: Partial<ConstructorParameters<typeof Call>[0]> = {},
): Member {
  const m: Member = { media: [], chats: [] } as unknown as Member;
  m.call = new Call({
    origin: server.httpUrl,
    userId,
    meetingId: room,
    displayName: userId,
    transport: "websocket",
    e2ee: true,
    events: {
      media: (_peer, media) => m.media.push(media),
      chat: (c) => m.chats.push(c.text),
    },
    ...options,
  });
  m.call.start().catch(() => {});
  return m;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Every call knows every other's identity and holds a key from each. */
function keysSettled(members: Member[]): boolean {
  return members.every((m) =>
    m.call.connected && m.call.e2ee.members.length === members.length - 1 &&
    m.call.e2ee.members.every((s) => m.call.e2ee.keyring.has(s))
  );
}

function sendVideo(call: Call, data: Uint8Array, sequence: bigint): void {
  call.sendMedia({
    mediaType: MediaType.VIDEO,
    data,
    frameType: "key",
    timestamp: Date.now(),
    duration: 33,
    videoMetadata: { sequence, codec: 2 },
  });
}

async function observe(room: string) {
  const bus = await NatsBus.connect({ url: natsUrl!, name: "e2ee-observer" });
  const frames: Uint8Array[] = [];
  const sub = bus.subscribe(roomWildcard(room), (_subject, data) => frames.push(data.slice()));
  return {
    frames,
    /** The MEDIA packets the relay carried from `session`. */
    mediaFrom(session: bigint): MediaPacket[] {
      const out: MediaPacket[] = [];
      for (const f of frames) {
        const frame = readBusFrame(f);
        if (!frame) continue;
        const w = decodePacketWrapper(frame.packet);
        if (!w.ok || w.value.packetType !== PacketType.MEDIA || w.value.sessionId !== session) {
          continue;
        }
        const m = decodeMediaPacket(w.value.data);
        if (m.ok) out.push(m.value);
      }
      return out;
    },
    async close() {
      sub.unsubscribe();
      await bus.close();
    },
  };
}

Deno.test({
  name:
    "an encrypted call: everything arrives, the relay carries none of it in clear, and a removed participant is locked out by the rekey",
  ignore: natsUrl === undefined,
  async fn() {
    const { testDatabase } = await import("./support/database.ts");
    const db = await testDatabase();
    const server = await startServerProcess({ NATS_URL: natsUrl!, ...db.env });
    const room = uniqueRoom("e2ee");
    const observer = await observe(room);
    const a = member(server, "ada", room);
    await eventually(() => a.call.connected, 10_000, "ada (the host) in");
    const b = member(server, "bob", room);
    const c = member(server, "cy", room);
    const all = [a, b, c];
    try {
      await eventually(() => keysSettled(all), 10_000, "keys exchanged");
      const codes = await Promise.all(all.map((m) => m.call.e2ee.safetyCode()));
      assertEquals(new Set(codes).size, 1, `safety codes ${codes}`);

      const secretFrame = enc.encode("PLAINTEXT-VIDEO-FRAME-0123456789-do-not-leak");
      sendVideo(a.call, secretFrame, 1n);
      a.call.sendChat("the secret chat words 42");
      a.call.setLocal({ isSpeaking: true, audioEnabled: true });
      for (const m of [b, c]) {
        await eventually(
          () => m.media.some((p) => contains(p.data, secretFrame)),
          5000,
          "the frame, decrypted",
        );
        await eventually(() => m.chats.includes("the secret chat words 42"), 5000, "the chat");
        await eventually(
          () => m.call.peerList().find((p) => p.userId === "ada")?.speaking === true,
          5000,
          "speaking",
        );
        const ada = m.call.peerList().find((p) => p.userId === "ada")!;
        assert(ada.encrypted, "ada's media is shown as encrypted");
        assertEquals(ada.decryptFailures, 0);
      }
      const carried = observer.mediaFrom(a.call.sessionId);
      assert(carried.length > 0, "the observer saw ada's packets");
      assert(carried.every((p) => p.mediaType === MediaType.RTT || p.encrypted), "all encrypted");
      for (const f of observer.frames) {
        assert(!contains(f, secretFrame), "no plaintext frame on the bus");
        assert(!contains(f, enc.encode("secret chat words")), "no chat text on the bus");
      }
      // Heartbeats carry no flags in clear either.
      assert(
        carried.filter((p) => p.mediaType === MediaType.HEARTBEAT).every((p) =>
          !p.heartbeatMetadata
        ),
      );

      // The host removes Cy; Ada and Bob make new keys; Cy keeps every key it had.
      const before = a.call.e2ee.keyId!;
      await a.call.api("POST", `/meetings/${room}/remove`, { user_id: "cy" });
      await eventually(() => c.call.state.kind === "ended", 5000, "cy removed");
      await eventually(
        () =>
          (a.call.e2ee.keyId! >>> 16) > (before >>> 16) &&
          b.call.e2ee.keyring.keys(a.call.sessionId).some((k) => k.keyId === a.call.e2ee.keyId),
        5000,
        "ada's new key, delivered to bob",
      );
      const afterFrame = enc.encode("SENT-AFTER-THE-REKEY-cy-must-not-read-this");
      sendVideo(a.call, afterFrame, 2n);
      await eventually(
        () => b.media.some((p) => contains(p.data, afterFrame)),
        5000,
        "bob reads on",
      );
      await eventually(
        () => observer.mediaFrom(a.call.sessionId).some((p) => p.videoMetadata?.sequence === 2n),
        5000,
        "the observer saw it",
      );
      const sealed = observer.mediaFrom(a.call.sessionId).find((p) =>
        p.videoMetadata?.sequence === 2n
      )!;
      const header = {
        senderSession: a.call.sessionId,
        mediaType: MediaType.VIDEO,
        keyId: sealed.keyId!,
        sequence: 2n,
        key: true,
      };
      assertEquals(await c.call.e2ee.decrypt(header, new Uint8Array(sealed.data)), undefined);
      // And the first frame, under the old key, Cy could read (the keys it kept do work).
      const first = carried.find((p) => p.videoMetadata?.sequence === 1n)!;
      assert(
        await c.call.e2ee.decrypt(
          { ...header, keyId: first.keyId!, sequence: 1n },
          new Uint8Array(first.data),
        ),
        "cy's old key reads the old frame",
      );
    } finally {
      for (const m of all) await m.call.leave();
      await observer.close();
      await server.stop();
    }
  },
});

Deno.test("safety codes differ when the relay swaps a key, and frames under a key we cannot unwrap are dropped and counted", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom("mitm");
  const mallory = await Identity.generate();
  const a = member(server, "ada", room);
  try {
    await eventually(() => a.call.connected, 10_000, "ada in");
    // Bob's "relay" replaces Ada's public key with Mallory's in flight.
    const b = member(server, "bob", room, {
      intercept: (type, data, from) => {
        if (type !== PacketType.E2EE || from !== a.call.sessionId) return data;
        const p = decodeE2eePacket(data);
        if (!p.ok || p.value.kind !== E2eeKind.IDENTITY) return data;
        return encodeE2eePacket({ ...p.value, publicKey: mallory.publicKey });
      },
    });
    try {
      await eventually(
        () => a.call.e2ee.members.length === 1 && b.call.e2ee.members.length === 1,
        10_000,
        "identities exchanged",
      );
      const [codeA, codeB] = [await a.call.e2ee.safetyCode(), await b.call.e2ee.safetyCode()];
      assertNotEquals(codeA, codeB);
      // Ada's key was wrapped for the real Ada-Bob pair; Bob unwraps with what he believes is
      // Ada's public key: it fails, so he never holds her key.
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(b.call.e2ee.keyring.has(a.call.sessionId), false);
      sendVideo(a.call, enc.encode("frame"), 1n);
      await eventually(
        () => (b.call.peerList().find((p) => p.userId === "ada")?.decryptFailures ?? 0) > 0,
        5000,
        "bob counts the failure",
      );
      assertEquals(b.media.filter((m) => m.mediaType === MediaType.VIDEO).length, 0);
    } finally {
      await b.call.leave();
    }
  } finally {
    await a.call.leave();
    await server.stop();
  }
});

Deno.test("a meeting that requires E2EE refuses media and chat in clear; calls there encrypt by themselves", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom("required");
  const host = new Call({
    origin: server.httpUrl,
    userId: "hana",
    meetingId: room,
    displayName: "Hana",
    transport: "websocket",
  });
  try {
    // Created as E2EE-required through the API, then joined.
    const session = await fetch(`${server.httpUrl}/api/v1/session`, {
      method: "POST",
      body: JSON.stringify({ user_id: "hana" }),
    }).then((r) => r.json());
    const created = await fetch(`${server.httpUrl}/api/v1/meetings`, {
      method: "POST",
      headers: { authorization: `Bearer ${session.result.token}` },
      body: JSON.stringify({ meeting_id: room, e2ee_required: true }),
    });
    assertEquals(created.status, 201);
    await created.body?.cancel();
    host.start().catch(() => {});
    await eventually(() => host.connected, 10_000, "host in");
    assertEquals(host.e2eeOn, true, "the call turned encryption on by itself");

    const plain = await WireClient.connect(server.wsUrl, "mallory", room);
    plain.heartbeat();
    const closed = await plain.closed;
    assertEquals(closed.code, 1008);
    assertEquals(
      closed.reason,
      "This meeting requires end-to-end encryption; media must be encrypted",
    );
    const chatty = await WireClient.connect(server.wsUrl, "mallory2", room);
    const { encodeChatPacket } = await import("../lib/protocol/codec.ts");
    chatty.send(PacketType.CHAT, encodeChatPacket({ messageId: "1", text: "hi", sentAtMs: 0n }));
    assertEquals(
      (await chatty.closed).reason,
      "This meeting requires end-to-end encryption; chat must be encrypted",
    );
    assert(host.connected, "the host carries on");
  } finally {
    await host.leave();
    await server.stop();
  }
});

Deno.test("a guest admitted from the waiting room exchanges keys; a chat replayed under another id is refused", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom("waite2ee");
  const a = member(server, "hana", room);
  try {
    await eventually(() => a.call.connected, 10_000, "host in");
    await a.call.api("PATCH", `/meetings/${room}`, { waiting_room_enabled: true });
    let replayed = false;
    const b = member(server, "gus", room, {
      // A relay that passes Hana's first chat message on under another id.
      intercept: (type, data, from) => {
        if (type !== PacketType.CHAT || from !== a.call.sessionId || replayed) return data;
        replayed = true;
        const chat = decodeChatPacket(data);
        if (!chat.ok) return data;
        return encodeChatPacket({ ...chat.value, messageId: "replayed-1" });
      },
    });
    try {
      await eventually(() => b.call.state.kind === "waiting", 10_000, "gus waiting");
      await a.call.api("POST", `/meetings/${room}/admit`, { user_id: "gus" });
      await eventually(() => keysSettled([a, b]), 10_000, "keys exchanged after admission");
      const frame = enc.encode("AFTER-ADMISSION-FRAME-0123456789-abcdefghij");
      sendVideo(a.call, frame, 1n);
      await eventually(() => b.media.some((m) => contains(m.data, frame)), 5000, "gus decrypts");
      a.call.sendChat("first words");
      await eventually(
        () => (b.call.peerList()[0]?.decryptFailures ?? 0) > 0,
        5000,
        "the replayed chat counted as a failure",
      );
      assertEquals(b.chats, []);
      a.call.sendChat("second words");
      await eventually(() => b.chats.includes("second words"), 5000, "the next chat arrives");
    } finally {
      await b.call.leave();
    }
  } finally {
    await a.call.leave();
    await server.stop();
  }
});
