/**
 * End-to-end encryption through a real server on NATS, with calls speaking the wire protocol:
 * an observer subscribed to the room's NATS subjects (everything the relay moves) finds none of
 * the plaintext; a participant removed by the host cannot decrypt what is sent after the rekey;
 * safety codes match, and differ when a stand-in for a malicious relay (a proxy that rewrites
 * packets in flight) swaps a key; a meeting that requires E2EE refuses media in clear. The
 * participants are client-library rooms, used as any application would.
 */
import { assert, assertEquals, assertNotEquals } from "./support/assert.ts";
import { eventually, uniqueRoom } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { WireClient } from "./support/wire_client.ts";
import { type MediaPacket, Room, type RoomOptions } from "../lib/client/mod.ts";
import { Identity } from "../lib/client/e2ee/identity.ts";
import { startTamperProxy } from "./support/tamper_proxy.ts";
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
  encodePacketWrapper,
} from "../lib/protocol/codec.ts";
import { E2eeKind, MediaType, PacketType } from "../lib/protocol/packets.ts";

const natsUrl = await sharedNatsUrl();
const enc = new TextEncoder();

interface Member {
  room: Room;
  media: MediaPacket[];
  chats: string[];
}

function member(
  server: ServerProcess,
  userId: string,
  meetingId: string,
  options: Partial<RoomOptions> = {},
): Member {
  const room = new Room({
    url: server.httpUrl,
    userId,
    meetingId,
    transport: "websocket",
    e2ee: true,
    ...options,
  });
  const m: Member = { room, media: [], chats: [] };
  room.on("media", (_p, media) => m.media.push(media));
  room.on("chat", (c) => m.chats.push(c.text));
  room.connect().catch(() => {});
  return m;
}

/** Rewrites the server's packets of `type` to a client before the client reads them. */
function tamperWith(type: number, change: (data: Uint8Array, from: bigint) => Uint8Array) {
  return (packet: Uint8Array): Uint8Array => {
    const w = decodePacketWrapper(packet);
    if (!w.ok || w.value.packetType !== type) return packet;
    return encodePacketWrapper({ ...w.value, data: change(w.value.data, w.value.sessionId) });
  };
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
  return members.every((m) => {
    const e2ee = m.room.encryption.session;
    return m.room.connected && e2ee.members.length === members.length - 1 &&
      e2ee.members.every((s) => e2ee.keyring.has(s));
  });
}

function sendVideo(room: Room, data: Uint8Array, sequence: bigint): void {
  room.publish({
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
    await eventually(() => a.room.connected, 10_000, "ada (the host) in");
    const b = member(server, "bob", room);
    const c = member(server, "cy", room);
    const all = [a, b, c];
    try {
      await eventually(() => keysSettled(all), 10_000, "keys exchanged");
      const codes = await Promise.all(all.map((m) => m.room.encryption.safetyCode()));
      assertEquals(new Set(codes).size, 1, `safety codes ${codes}`);

      const secretFrame = enc.encode("PLAINTEXT-VIDEO-FRAME-0123456789-do-not-leak");
      sendVideo(a.room, secretFrame, 1n);
      a.room.sendChat("the secret chat words 42");
      a.room.setLocalFlags({ isSpeaking: true, audioEnabled: true });
      for (const m of [b, c]) {
        await eventually(
          () => m.media.some((p) => contains(p.data, secretFrame)),
          5000,
          "the frame, decrypted",
        );
        await eventually(() => m.chats.includes("the secret chat words 42"), 5000, "the chat");
        await eventually(
          () => m.room.participantList().find((p) => p.userId === "ada")?.speaking === true,
          5000,
          "speaking",
        );
        const ada = m.room.participantList().find((p) => p.userId === "ada")!;
        assert(ada.encrypted, "ada's media is shown as encrypted");
        assertEquals(ada.decryptFailures, 0);
      }
      const carried = observer.mediaFrom(a.room.sessionId);
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
      const adaKeys = a.room.encryption.session;
      const before = adaKeys.keyId!;
      await a.room.api.hostAction(room, "remove", "cy");
      await eventually(() => c.room.state.kind === "ended", 5000, "cy removed");
      await eventually(
        () =>
          (adaKeys.keyId! >>> 16) > (before >>> 16) &&
          b.room.encryption.session.keyring.keys(a.room.sessionId).some((k) =>
            k.keyId === adaKeys.keyId
          ),
        5000,
        "ada's new key, delivered to bob",
      );
      const afterFrame = enc.encode("SENT-AFTER-THE-REKEY-cy-must-not-read-this");
      sendVideo(a.room, afterFrame, 2n);
      await eventually(
        () => b.media.some((p) => contains(p.data, afterFrame)),
        5000,
        "bob reads on",
      );
      await eventually(
        () => observer.mediaFrom(a.room.sessionId).some((p) => p.videoMetadata?.sequence === 2n),
        5000,
        "the observer saw it",
      );
      const sealed = observer.mediaFrom(a.room.sessionId).find((p) =>
        p.videoMetadata?.sequence === 2n
      )!;
      const header = {
        senderSession: a.room.sessionId,
        mediaType: MediaType.VIDEO,
        keyId: sealed.keyId!,
        sequence: 2n,
        key: true,
      };
      assertEquals(
        await c.room.encryption.session.decrypt(header, new Uint8Array(sealed.data)),
        undefined,
      );
      // And the first frame, under the old key, Cy could read (the keys it kept do work).
      const first = carried.find((p) => p.videoMetadata?.sequence === 1n)!;
      assert(
        await c.room.encryption.session.decrypt(
          { ...header, keyId: first.keyId!, sequence: 1n },
          new Uint8Array(first.data),
        ),
        "cy's old key reads the old frame",
      );
    } finally {
      for (const m of all) await m.room.leave();
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
    await eventually(() => a.room.connected, 10_000, "ada in");
    // Bob's "relay" replaces Ada's public key with Mallory's in flight.
    const relay = startTamperProxy(
      server.httpUrl,
      tamperWith(PacketType.E2EE, (data, from) => {
        if (from !== a.room.sessionId) return data;
        const p = decodeE2eePacket(data);
        if (!p.ok || p.value.kind !== E2eeKind.IDENTITY) return data;
        return encodeE2eePacket({ ...p.value, publicKey: mallory.publicKey });
      }),
    );
    const b = member(server, "bob", room, { url: relay.origin });
    try {
      const [aKeys, bKeys] = [a.room.encryption.session, b.room.encryption.session];
      await eventually(
        () => aKeys.members.length === 1 && bKeys.members.length === 1,
        10_000,
        "identities exchanged",
      );
      const [codeA, codeB] = [await aKeys.safetyCode(), await bKeys.safetyCode()];
      assertNotEquals(codeA, codeB);
      // Ada's key was wrapped for the real Ada-Bob pair; Bob unwraps with what he believes is
      // Ada's public key: it fails, so he never holds her key.
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(bKeys.keyring.has(a.room.sessionId), false);
      sendVideo(a.room, enc.encode("frame"), 1n);
      await eventually(
        () => (b.room.participantList().find((p) => p.userId === "ada")?.decryptFailures ?? 0) > 0,
        5000,
        "bob counts the failure",
      );
      assertEquals(b.media.filter((m) => m.mediaType === MediaType.VIDEO).length, 0);
    } finally {
      await b.room.leave();
      await relay.close();
    }
  } finally {
    await a.room.leave();
    await server.stop();
  }
});

Deno.test("a meeting that requires E2EE refuses media and chat in clear; calls there encrypt by themselves", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom("required");
  // Created as E2EE-required through the API by Hana's guest session, then joined with it (the
  // identity "hana" in this meeting is bound to that session).
  const session = await fetch(`${server.httpUrl}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_id: "hana" }),
  }).then((r) => r.json());
  const host = new Room({
    url: server.httpUrl,
    userId: "hana",
    meetingId: room,
    displayName: "Hana",
    transport: "websocket",
    token: session.result.token,
  });
  try {
    const created = await fetch(`${server.httpUrl}/api/v1/meetings`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${session.result.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ meeting_id: room, e2ee_required: true }),
    });
    assertEquals(created.status, 201);
    await created.body?.cancel();
    await host.connect();
    assertEquals(host.encryption.enabled, true, "the room turned encryption on by itself");

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
    await eventually(() => a.room.connected, 10_000, "host in");
    await a.room.api.updateMeeting(room, { waitingRoomEnabled: true });
    let replayed = false;
    // A relay that passes Hana's first chat message on under another id.
    const relay = startTamperProxy(
      server.httpUrl,
      tamperWith(PacketType.CHAT, (data, from) => {
        if (from !== a.room.sessionId || replayed) return data;
        replayed = true;
        const chat = decodeChatPacket(data);
        if (!chat.ok) return data;
        return encodeChatPacket({ ...chat.value, messageId: "replayed-1" });
      }),
    );
    const b = member(server, "gus", room, { url: relay.origin });
    try {
      await eventually(() => b.room.state.kind === "waiting", 10_000, "gus waiting");
      await a.room.api.hostAction(room, "admit", "gus");
      await eventually(() => keysSettled([a, b]), 10_000, "keys exchanged after admission");
      const frame = enc.encode("AFTER-ADMISSION-FRAME-0123456789-abcdefghij");
      sendVideo(a.room, frame, 1n);
      await eventually(() => b.media.some((m) => contains(m.data, frame)), 5000, "gus decrypts");
      a.room.sendChat("first words");
      await eventually(
        () => (b.room.participantList()[0]?.decryptFailures ?? 0) > 0,
        5000,
        "the replayed chat counted as a failure",
      );
      assertEquals(b.chats, []);
      a.room.sendChat("second words");
      await eventually(() => b.chats.includes("second words"), 5000, "the next chat arrives");
    } finally {
      await b.room.leave();
      await relay.close();
    }
  } finally {
    await a.room.leave();
    await server.stop();
  }
});
