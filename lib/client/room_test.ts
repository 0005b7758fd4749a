/**
 * The client library's Room against a real server, over WebSocket, without media devices: what
 * an embedding application sees through the public API.
 */
import { assert, assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "../../tests/support/harness.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { TcpProxy } from "../../tests/support/tcp_proxy.ts";
import { MediaType } from "../protocol/packets.ts";
import { type ChatMessage, JoinError, Room, type RoomOptions, type RoomState } from "./mod.ts";

interface Recorder {
  room: Room;
  states: RoomState[];
  chats: ChatMessage[];
  joined: string[];
  left: string[];
  tracks: string[];
  media: number[];
}

function record(options: Omit<RoomOptions, "transport">): Recorder {
  const room = new Room({ ...options, transport: "websocket" });
  const r: Recorder = { room, states: [], chats: [], joined: [], left: [], tracks: [], media: [] };
  room.on("state", (s) => r.states.push(s));
  room.on("chat", (m) => r.chats.push(m));
  room.on("participantJoined", (p) => r.joined.push(p.displayName));
  room.on("participantLeft", (p, announced) => announced && r.left.push(p.displayName));
  room.on("track", (p, kind) => r.tracks.push(`${p.userId}:${kind}`));
  room.on("media", (_p, m) => r.media.push(m.data[0]));
  return r;
}

Deno.test("two rooms see each other by name, exchange flags, chat and media, and see a leave", async () => {
  const server = await startServerProcess();
  const meetingId = uniqueRoom();
  const url = server.httpUrl;
  const ada = record({ url, userId: "ada", meetingId, displayName: "Ada Lovelace" });
  const bob = record({ url, userId: "bob", meetingId, displayName: "Bob" });
  try {
    await ada.room.connect();
    assertEquals(ada.room.state.kind, "connected");
    await bob.room.connect();
    await eventually(() => ada.joined.length === 1 && bob.joined.length === 1, 5000, "roster");
    assertEquals(bob.room.participantList()[0].displayName, "Ada Lovelace");
    assertEquals(ada.joined, ["Bob"]);
    assertEquals(ada.room.joinInfo?.role, "host");
    assertEquals(bob.room.joinInfo?.role, "guest");

    const updated = new Promise<boolean>((resolve) =>
      bob.room.on("participantUpdated", (p) => p.speaking && resolve(true))
    );
    ada.room.setLocalFlags({ audioEnabled: true, isSpeaking: true });
    assert(await updated, "bob is told ada speaks");

    const sent = ada.room.sendChat("  hello <there>  ");
    assertEquals(sent?.text, "hello <there>");
    await eventually(() => bob.chats.length === 1, 3000, "chat");
    assertEquals([bob.chats[0].text, bob.chats[0].fromName], ["hello <there>", "Ada Lovelace"]);

    for (const byte of [7, 8]) {
      ada.room.publish({
        mediaType: MediaType.AUDIO,
        data: new Uint8Array([byte]),
        frameType: "key",
        timestamp: Date.now(),
        duration: 20,
      });
    }
    await eventually(() => bob.media.includes(8), 3000, "media");
    assertEquals(bob.tracks, ["ada:audio"], "one track, announced once");

    await ada.room.leave();
    assertEquals(ada.room.state.kind, "ended");
    assertEquals((await ada.room.done).code, 1000);
    await eventually(() => bob.room.participants.size === 0, 3000, "ada gone from bob's roster");
    assertEquals(bob.left, ["Ada Lovelace"]);
  } finally {
    await ada.room.leave();
    await bob.room.leave();
    await server.stop();
  }
});

Deno.test("a dropped connection reconnects into the same session; the others see no leave", async () => {
  const server = await startServerProcess();
  const proxy = new TcpProxy({ hostname: "127.0.0.1", port: server.port });
  proxy.start();
  const meetingId = uniqueRoom();
  const ada = record({ url: `http://127.0.0.1:${proxy.port}`, userId: "ada", meetingId });
  const bob = record({ url: server.httpUrl, userId: "bob", meetingId });
  try {
    await ada.room.connect();
    await bob.room.connect();
    await eventually(() => ada.joined.length === 1 && bob.joined.length === 1, 10_000, "both");
    const before = ada.room.sessionId;
    const reconnected = new Promise<void>((resolve) => ada.room.on("reconnected", resolve));
    proxy.dropConnections();
    await reconnected;
    assert(ada.states.some((s) => s.kind === "reconnecting"), JSON.stringify(ada.states));
    assertEquals(ada.room.sessionId, before);
    assertEquals(ada.room.reconnects, 1);
    ada.room.sendChat("back");
    await eventually(() => bob.chats.some((c) => c.text === "back"), 3000, "chat after resume");
    assertEquals(bob.left, []);
  } finally {
    await ada.room.leave();
    await bob.room.leave();
    await proxy.stop();
    await server.stop();
  }
});

Deno.test("a locked meeting refuses with the API's reason; a removed participant's room ends", async () => {
  const server = await startServerProcess();
  const meetingId = uniqueRoom();
  const url = server.httpUrl;
  const host = record({ url, userId: "host", meetingId });
  const guest = record({ url, userId: "guest", meetingId });
  const late = record({ url, userId: "late", meetingId });
  try {
    await host.room.connect();
    await guest.room.connect();
    await eventually(() => host.room.participants.size === 1, 5000, "guest arrives");
    await host.room.api.hostAction(meetingId, "lock");
    const refused = await late.room.connect().then(() => undefined, (e) => e);
    assert(refused instanceof JoinError, String(refused));
    assertEquals(refused.status, 423);
    assertEquals(refused.message, "The meeting is locked; ask a host to let you in");

    await host.room.api.hostAction(meetingId, "remove", "guest");
    const ended = await guest.room.done;
    assertEquals([ended.code, ended.reason], [4403, "A host removed you from this meeting"]);
    await eventually(() => host.room.participants.size === 0, 5000, "host sees the guest go");
  } finally {
    for (const r of [host, guest, late]) await r.room.leave();
    await server.stop();
  }
});

Deno.test("Room.join() rejects with connect_failed when no transport connects", async () => {
  const server = await startServerProcess({ WT_PORT: "off" });
  try {
    const refused = await Room.join({
      url: server.httpUrl,
      userId: "ada",
      meetingId: uniqueRoom(),
      transport: "webtransport",
    }).then(() => undefined, (e) => e);
    assert(refused instanceof JoinError, String(refused));
    assertEquals(refused.code, "connect_failed");
    assert(refused.message.startsWith("Cannot reach the meeting: "), refused.message);
  } finally {
    await server.stop();
  }
});

Deno.test('a key-frame request in videocall-rs\'s shape (data "SCREEN", a target session) asks the room for its screen', async () => {
  const server = await startServerProcess();
  const pool = new ClientPool();
  const meetingId = uniqueRoom();
  const ada = record({ url: server.httpUrl, userId: "ada", meetingId });
  try {
    const asked: number[] = [];
    ada.room.on("keyframeRequest", (kind) => asked.push(kind));
    await ada.room.connect();
    const up = await pool.joinActive(server.wsUrl, "up", meetingId);
    for (const data of ["SCREEN", "VIDEO"]) {
      up.sendMedia({
        mediaType: MediaType.KEYFRAME_REQUEST,
        userId: new TextEncoder().encode("ada"),
        data: new TextEncoder().encode(data),
        targetSessionId: ada.room.sessionId,
      });
    }
    await eventually(() => asked.length === 2, 3000, "both requests");
    assertEquals(asked, [MediaType.SCREEN, MediaType.VIDEO]);
  } finally {
    await ada.room.leave();
    await pool.closeAll();
    await server.stop();
  }
});

Deno.test("simulcast through the library: layers labelled and sealed, viewport and layer wishes obeyed and kept across a reconnect, hints, speakers and layered key-frame requests", async () => {
  const server = await startServerProcess();
  const proxy = new TcpProxy({ hostname: "127.0.0.1", port: server.port });
  proxy.start();
  const meetingId = uniqueRoom();
  const url = server.httpUrl;
  const options = { meetingId, e2ee: true, transport: "websocket" as const };
  const ada = new Room({ ...options, url, userId: "ada" });
  const bob = new Room({ ...options, url: `http://127.0.0.1:${proxy.port}`, userId: "bob" });
  const carol = new Room({ ...options, url, userId: "carol" });
  const seen = new Map<Room, { layer: number; type: number; atMs: number; level?: number }[]>();
  for (const room of [bob, carol]) {
    const log: { layer: number; type: number; atMs: number; level?: number }[] = [];
    seen.set(room, log);
    room.on("media", (_p, media, envelope) => {
      assert(media.data[0] === envelope.layer, "the payload decrypted under its own layer");
      log.push({
        layer: envelope.layer,
        type: media.mediaType,
        atMs: Date.now(),
        level: envelope.audioLevel,
      });
    });
  }
  const hints: { video: number; screen: number }[] = [];
  ada.on("layerHint", (h) => hints.push(h));
  const asked: [number, number][] = [];
  ada.on("keyframeRequest", (kind, layer) => asked.push([kind, layer]));
  const sequences = [0n, 0n, 0n];
  const timer = setInterval(() => {
    for (const layer of [0, 1, 2]) {
      ada.publish({
        mediaType: MediaType.VIDEO,
        data: Uint8Array.of(layer, 1, 2, 3),
        frameType: sequences[layer] % 10n === 0n ? "key" : "delta",
        timestamp: Date.now(),
        duration: 33,
        videoMetadata: { sequence: sequences[layer]++, codec: 2 },
      }, { layer });
    }
    ada.publish({
      mediaType: MediaType.AUDIO,
      data: Uint8Array.of(0),
      frameType: "key",
      timestamp: Date.now(),
      duration: 20,
    }, { audioLevel: 12 });
  }, 40);
  // What a receiver got of ada in the last `ms`.
  const recent = (room: Room, ms: number) => {
    const since = Date.now() - ms;
    const log = seen.get(room)!.filter((m) => m.atMs >= since);
    return {
      layers: [...new Set(log.filter((m) => m.type === MediaType.VIDEO).map((m) => m.layer))]
        .sort(),
      audio: log.filter((m) => m.type === MediaType.AUDIO).length,
    };
  };
  try {
    for (const room of [ada, bob, carol]) await room.connect();
    await eventually(() => recent(bob, 500).layers.length === 3, 10_000, "bob gets all layers");
    assertThrows(() => ada.publish({ ...audioStub(), mediaType: MediaType.VIDEO }, { layer: 8 }));
    assertEquals(seen.get(bob)!.find((m) => m.type === MediaType.AUDIO)?.level, 12);

    bob.setLayerPreferences([{ sessionId: String(ada.sessionId), kind: "video", layer: 1 }]);
    carol.setViewport([String(bob.sessionId)]);
    await eventually(
      () => recent(bob, 600).layers.join() === "0,1",
      5000,
      () => `bob: ${JSON.stringify(recent(bob, 600))}`,
    );
    await eventually(() => recent(carol, 600).layers.length === 0, 5000, "carol: no camera");
    assert(recent(carol, 600).audio > 5, "carol still hears ada");
    await eventually(() => hints.at(-1)?.video === 1, 6000, () => JSON.stringify(hints));
    await eventually(() => bob.activeSpeakers.dominant === String(ada.sessionId), 3000, "dominant");

    const adaSeenByBob = bob.participants.get(String(ada.sessionId))!;
    bob.requestKeyframe(adaSeenByBob, MediaType.VIDEO, 2);
    await eventually(() => asked.length === 1, 3000, "layered key-frame request");
    assertEquals(asked, [[MediaType.VIDEO, 2]]);

    // A new connection: the relay knows nothing, the room tells it again.
    const reconnected = new Promise<void>((resolve) => bob.on("reconnected", resolve));
    proxy.dropConnections();
    await reconnected;
    await delay(1000);
    assertEquals(recent(bob, 700).layers, [0, 1], "still at most layer 1 after the reconnect");

    bob.setLayerPreferences([{ sessionId: String(ada.sessionId), kind: "video", layer: Infinity }]);
    await eventually(() => recent(bob, 500).layers.join() === "0,2", 5000, "the best: base and 2");
    assertEquals(ada.participantCount, 3);
  } finally {
    clearInterval(timer);
    for (const room of [ada, bob, carol]) await room.leave();
    await proxy.stop();
    await server.stop();
  }
});

function audioStub() {
  return {
    mediaType: MediaType.AUDIO,
    data: new Uint8Array(1),
    frameType: "key",
    timestamp: 0,
    duration: 20,
  };
}
