/**
 * The call logic against a real server, over WebSocket, without media devices.
 */
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { eventually, uniqueRoom } from "../../tests/support/harness.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { MediaType } from "../protocol/packets.ts";
import { Call, type CallState, type ChatMessage, JoinError } from "./call.ts";

interface Recorder {
  call: Call;
  states: CallState[];
  chats: ChatMessage[];
  notices: string[];
  media: number[];
}

function makeCall(origin: string, userId: string, meetingId: string, name = userId): Recorder {
  const r: Recorder = { states: [], chats: [], notices: [], media: [] } as unknown as Recorder;
  r.call = new Call({
    origin,
    userId,
    meetingId,
    displayName: name,
    transport: "websocket",
    events: {
      state: (s) => r.states.push(s),
      chat: (m) => r.chats.push(m),
      notice: (t) => r.notices.push(t),
      media: (_p, m) => r.media.push(m.data[0]),
    },
  });
  return r;
}

Deno.test("two calls see each other by name, exchange flags, chat and media, and see a leave", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom();
  const ada = makeCall(server.httpUrl, "ada", room, "Ada Lovelace");
  const bob = makeCall(server.httpUrl, "bob", room, "Bob");
  try {
    ada.call.start();
    await eventually(() => ada.call.state.kind === "connected", 10_000, "ada connected");
    bob.call.start();
    await eventually(() => bob.call.peers.size === 1 && ada.call.peers.size === 1, 5000, "roster");
    assertEquals(bob.call.peerList()[0].displayName, "Ada Lovelace");
    assertEquals(ada.call.peerList()[0].displayName, "Bob");
    assertEquals(ada.call.join?.role, "host");
    assertEquals(bob.call.join?.role, "guest");

    ada.call.setLocal({ audioEnabled: true, isSpeaking: true });
    await eventually(() => bob.call.peerList()[0].speaking, 3000, "speaking flag");

    const sent = ada.call.sendChat("  hello <there>  ");
    assertEquals(sent?.text, "hello <there>");
    await eventually(() => bob.chats.length === 1, 3000, "chat");
    assertEquals(bob.chats[0].text, "hello <there>");
    assertEquals(bob.chats[0].fromName, "Ada Lovelace");

    ada.call.sendMedia({
      mediaType: MediaType.AUDIO,
      data: new Uint8Array([7]),
      frameType: "key",
      timestamp: Date.now(),
      duration: 20,
    });
    await eventually(() => bob.media.includes(7), 3000, "media");

    await ada.call.leave();
    assertEquals(ada.call.state.kind, "ended");
    await eventually(() => bob.call.peers.size === 0, 3000, "ada gone from bob's roster");
    assert(bob.notices.includes("Ada Lovelace left"), JSON.stringify(bob.notices));
  } finally {
    await ada.call.leave();
    await bob.call.leave();
    await server.stop();
  }
});

Deno.test("a dropped connection reconnects into the same session; the others see no leave", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom();
  const ada = makeCall(server.httpUrl, "ada", room);
  const bob = makeCall(server.httpUrl, "bob", room);
  try {
    ada.call.start();
    bob.call.start();
    await eventually(() => bob.call.peers.size === 1 && ada.call.peers.size === 1, 10_000, "both")
      .catch((e) => {
        throw new Error(
          `${e.message}: ${
            JSON.stringify([ada.states, bob.states, ada.call.peerList(), bob.call.peerList()])
          }`,
        );
      });
    const before = ada.call.sessionId;
    ada.call.dropConnection();
    await eventually(() => ada.states.some((s) => s.kind === "reconnecting"), 3000, "reconnecting");
    await eventually(() => ada.call.state.kind === "connected", 10_000, "reconnected").catch(
      (e) => {
        throw new Error(`${e.message}: ${JSON.stringify(ada.states)}`);
      },
    );
    assertEquals(ada.call.sessionId, before);
    assertEquals(ada.call.counters.reconnects, 1);
    ada.call.sendChat("back");
    await eventually(() => bob.chats.some((c) => c.text === "back"), 3000, "chat after resume");
    assertEquals(bob.notices.filter((n) => n.includes("left")), []);
  } finally {
    await ada.call.leave();
    await bob.call.leave();
    await server.stop();
  }
});

Deno.test("a locked meeting refuses with the API's reason; a removed participant's call ends", async () => {
  const server = await startServerProcess();
  const room = uniqueRoom();
  const host = makeCall(server.httpUrl, "host", room);
  const guest = makeCall(server.httpUrl, "guest", room);
  const late = makeCall(server.httpUrl, "late", room);
  try {
    host.call.start();
    await eventually(() => host.call.state.kind === "connected", 10_000, "host");
    guest.call.start();
    await eventually(() => host.call.peers.size === 1, 5000, "guest arrives");
    await host.call.api("POST", `/meetings/${room}/lock`);
    const refused = await late.call.start().then(() => undefined, (e) => e);
    assert(refused instanceof JoinError, String(refused));
    assertEquals(refused.status, 423);
    assertEquals(refused.message, "The meeting is locked; ask a host to let you in");

    await host.call.api("POST", `/meetings/${room}/remove`, { user_id: "guest" });
    await eventually(() => guest.call.state.kind === "ended", 5000, "guest's call ends");
    const ended = guest.call.state as Extract<CallState, { kind: "ended" }>;
    assertEquals(ended.code, 4403);
    await eventually(() => host.call.peers.size === 0, 5000, "host sees the guest go");
  } finally {
    for (const r of [host, guest, late]) await r.call.leave();
    await server.stop();
  }
});
