/**
 * Grouped WebTransport framing (docs/PROTOCOL.md, "Grouped streams and datagrams"): the pieces
 * on their own, then a real server with Deno's WebTransport client — grouped and single-packet
 * receivers in one room, a group per key frame, sequenced datagrams and their losses, and a
 * client's own grouped streams.
 */
import { assert, assertEquals, assertGreater, assertThrows } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "./support/harness.ts";
import type { Received } from "./support/packet_client.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import { webTransportInfo, WtClient } from "./support/wt_client.ts";
import { decodeMediaPacket } from "../lib/protocol/codec.ts";
import { encodeFrame, FrameTooLargeError } from "../lib/protocol/framing.ts";
import { GroupWriter } from "../lib/protocol/group_writer.ts";
import { MediaKind, MediaType, PacketType } from "../lib/protocol/packets.ts";
import {
  DatagramLoss,
  encodeDatagram,
  encodeGroupHeader,
  readDatagram,
  upstreamTrack,
} from "../lib/protocol/wt_groups.ts";
import { WtStreamParser } from "../lib/relay/wt_stream_parser.ts";
import { encodeQuicVarint } from "../lib/relay/quic_varint.ts";

const media = (user: string, type: number, byte?: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === type && (byte === undefined || m.value.data[0] === byte);
};

const UNI_HEADER = [0x40, 0x54, 0x00];

Deno.test("datagram loss counts skipped numbers, takes back late ones and survives the wrap", () => {
  const loss = new DatagramLoss();
  for (const seq of [65533, 65534, 1, 0, 2]) loss.note(seq);
  // 65535 never came; 0 came late (after 1).
  assertEquals({ received: loss.received, lost: loss.lost }, { received: 5, lost: 1 });
  const read = readDatagram(encodeDatagram(65535, new Uint8Array([9, 8])));
  assertEquals(read?.seq, 65535);
  assertEquals([...read!.packet], [9, 8]);
  assertEquals(readDatagram(new Uint8Array([0, 1])), undefined, "too short to be sequenced");
  assertEquals(readDatagram(new Uint8Array([0x0a, 1, 2])), undefined, "a plain packet");
});

Deno.test("the stream parser tells single-packet, grouped, framed and HTTP/3 streams apart", () => {
  const packet = new Uint8Array([0x08, 1, 2, 3]);
  const single = new WtStreamParser(false, 100);
  for (const b of [...UNI_HEADER, ...packet]) single.push(new Uint8Array([b]));
  assertEquals(single.kind, "single");
  assertEquals([...single.end()!], [...packet]);

  // Dribbled byte by byte: header, group header, two frames.
  const grouped = new WtStreamParser(false, 100);
  const bytes = [
    ...UNI_HEADER,
    ...encodeGroupHeader(300),
    ...encodeFrame(packet),
    ...encodeFrame(new Uint8Array([0x08, 9])),
  ];
  const got: number[][] = [];
  for (const b of bytes) for (const p of grouped.push(new Uint8Array([b]))) got.push([...p]);
  assertEquals(grouped.kind, "grouped");
  assertEquals(grouped.track, 300);
  assertEquals(got, [[...packet], [0x08, 9]]);
  assertEquals(grouped.end(), undefined, "a grouped stream delivers as it goes");

  const framed = new WtStreamParser(true, 100);
  const fromBidi = framed.push(new Uint8Array([0x40, 0x41, 0x04, ...encodeFrame(packet)]));
  assertEquals(framed.kind, "framed");
  assertEquals(framed.sessionId, 4n);
  assertEquals(fromBidi.length, 1);

  const http3 = new WtStreamParser(false, 100);
  assertEquals(http3.push(new Uint8Array([0x00, 0x04, 0x01, 0x02])), []);
  assertEquals(http3.kind, "http3", "an HTTP/3 control stream (type 0)");
  assertEquals(http3.end(), undefined);
});

Deno.test("the stream parser refuses a packet over the limit, single or grouped", () => {
  const single = new WtStreamParser(false, 10);
  single.push(new Uint8Array([...UNI_HEADER, 0x08]));
  const tooLong = assertThrows(() => single.push(new Uint8Array(20)));
  assert(tooLong instanceof FrameTooLargeError);
  assert(tooLong.message.includes("exceeds the packet limit"), tooLong.message);
  const grouped = new WtStreamParser(false, 10);
  const tooBig = assertThrows(() =>
    grouped.push(new Uint8Array([...UNI_HEADER, ...encodeGroupHeader(1), 0, 0, 1, 0]))
  );
  assert(tooBig instanceof FrameTooLargeError);
  assert(tooBig.message.includes("Frame of 256 bytes"), tooBig.message);
});

/** A stream opener whose streams record what they carried and how they ended. */
function recordingStreams(slow = false) {
  const streams: { chunks: Uint8Array[]; ended?: "closed" | "aborted"; order: number }[] = [];
  const open = (order: number) => {
    const stream: (typeof streams)[number] = { chunks: [], order };
    streams.push(stream);
    return Promise.resolve(
      new WritableStream<Uint8Array>({
        // A slow peer: each write takes 20 ms, so writes queue up behind it.
        write: async (chunk) => {
          stream.chunks.push(chunk);
          if (slow) await delay(20);
        },
        close: () => void (stream.ended = "closed"),
        abort: () => void (stream.ended = "aborted"),
      }, new CountQueuingStrategy({ highWaterMark: 1 })).getWriter(),
    );
  };
  return { streams, open };
}

Deno.test("a key frame starts a new group: the old one is finished when it kept up", async () => {
  const { streams, open } = recordingStreams();
  const losses: string[] = [];
  const groups = new GroupWriter(open, (reason, n) => losses.push(`${reason}:${n}`));
  groups.write(5, 3, new Uint8Array([1]), 0);
  groups.write(5, 3, new Uint8Array([2]), 0);
  await delay(0);
  groups.startGroup(5, 0);
  groups.write(5, 3, new Uint8Array([3]), 0);
  await delay(0);
  assertEquals(streams.length, 2);
  assertEquals(streams[0].ended, "closed");
  assertEquals(streams[1].ended, undefined, "the new group stays open");
  // Each stream starts with the group header of track 5, then frames.
  assertEquals([...streams[1].chunks[0]], [...encodeGroupHeader(5)]);
  assertEquals([...streams[1].chunks[1]], [...encodeFrame(new Uint8Array([3]))]);
  assertEquals(losses, []);
  assertEquals(groups.bufferedBytes, 0);
});

Deno.test("a key frame starts a new group: the old one drains, or is reset once it fell behind", async () => {
  const { streams, open } = recordingStreams(true);
  const losses: string[] = [];
  const groups = new GroupWriter(open, (reason, n) => losses.push(`${reason}:${n}`));
  // Frames written just now: the old group may finish them.
  for (let i = 0; i < 3; i++) groups.write(5, 3, new Uint8Array(100), 0);
  groups.startGroup(5, 10);
  groups.write(5, 3, new Uint8Array([1]), 10);
  await delay(100);
  assertEquals(streams[0].ended, "closed");
  assertEquals(streams[0].chunks.length, 4, "header and three frames");
  assertEquals(losses, []);
  // Frames waiting for 300 ms when the next key frame comes: behind, reset.
  for (let i = 0; i < 4; i++) groups.write(7, 3, new Uint8Array(100), 1000);
  groups.startGroup(7, 1300);
  await delay(100);
  assertEquals(streams[2].ended, "aborted");
  assert(streams[2].chunks.length < 5, "not every frame was written");
  assertEquals(losses, ["abandoned:4"]);
  // A replaced group still draining when its oldest write turns stale is reset at the next write.
  for (let i = 0; i < 4; i++) groups.write(8, 3, new Uint8Array(100), 2000);
  groups.startGroup(8, 2010);
  groups.write(8, 3, new Uint8Array([1]), 2300);
  await delay(150);
  assertEquals(streams[3].ended, "aborted");
  assertEquals(losses.length, 2);
  await delay(50);
});

Deno.test("idle tracks are ended and forgotten, the control track never", async () => {
  const { streams, open } = recordingStreams();
  const groups = new GroupWriter(open, () => {});
  groups.write(0, 7, new Uint8Array([1]), 0);
  groups.write(9, 3, new Uint8Array([1]), 0);
  await delay(0);
  assertEquals(groups.sweep(10_000, 5000), [9]);
  await delay(0);
  assertEquals(streams.map((s) => s.ended), [undefined, "closed"]);
  assertEquals(groups.openGroups, 1);
});

async function withServer(
  env: Record<string, string>,
  fn: (server: ServerProcess, join: Join, ws: ClientPool) => Promise<void>,
): Promise<void> {
  const server = await startServerProcess(env);
  const info = await webTransportInfo(server.httpUrl);
  const clients: WtClient[] = [];
  const ws = new ClientPool();
  const join: Join = async (user, room, framing = "groups") => {
    const client = await WtClient.connect(info, user, room, "", { framing });
    clients.push(client);
    client.heartbeat();
    return client;
  };
  try {
    await fn(server, join, ws);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await ws.closeAll();
    await server.stop();
  }
}

type Join = (user: string, room: string, framing?: "groups" | "single") => Promise<WtClient>;

Deno.test("the server offers grouped framing in its WebTransport details", async () => {
  await withServer({}, async (server) => {
    const info = await (await fetch(`${server.httpUrl}/api/v1/webtransport`)).json();
    assertEquals(info.framings, ["groups"]);
  });
});

Deno.test("grouped and single-packet receivers share a room: a group per key frame, datagrams for audio", async () => {
  await withServer({}, async (server, join, ws) => {
    const room = uniqueRoom();
    const alice = await ws.joinActive(server.wsUrl, "alice", room);
    const carol = await join("carol", room);
    const dave = await join("dave", room, "single");
    await eventually(async () => await server.metric("videocall_sessions") === 3);
    await delay(200);
    const frames = ["key", "delta", "delta", "key", "delta"];
    frames.forEach((frameType, i) =>
      alice.sendMedia(
        { mediaType: MediaType.VIDEO, data: new Uint8Array([40 + i]), frameType },
        { kind: MediaKind.VIDEO, layer: 0 },
      )
    );
    alice.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([7]) });
    for (let i = 0; i < frames.length; i++) {
      const atCarol = await carol.next(media("alice", MediaType.VIDEO, 40 + i));
      assertEquals(atCarol.via, "group");
      const atDave = await dave.next(media("alice", MediaType.VIDEO, 40 + i));
      assertEquals(atDave.via, "stream", "one packet per stream, as videocall-rs expects");
    }
    // In order on carol's side: the groups kept each GOP's frames in sequence.
    const order = carol.received.filter(media("alice", MediaType.VIDEO))
      .map((r) => decodeMediaPacket(r.wrapper.data))
      .map((m) => m.ok ? m.value.data[0] : -1);
    assertEquals(order, [40, 41, 42, 43, 44]);
    // Control (meeting events) on its own group, video in two groups (two key frames).
    const meeting = carol.received.find((r) => r.wrapper.packetType === PacketType.MEETING);
    assertEquals(meeting?.via, "group");
    assertEquals(carol.groupsReceived, 3);
    const audio = await carol.next(media("alice", MediaType.AUDIO, 7));
    assertEquals(audio.via, "datagram");
    assertEquals((await dave.next(media("alice", MediaType.AUDIO, 7))).via, "stream");
    assertGreater(carol.datagramLoss.received, 0);
    assertEquals(carol.datagramLoss.lost, 0);
    assertEquals(
      await server.metric("videocall_webtransport_sessions_total", 'framing="groups"'),
      1,
    );
    assertEquals(
      await server.metric("videocall_webtransport_sessions_total", 'framing="single"'),
      1,
    );
    assertGreater(await server.metric("videocall_webtransport_groups_total"), 2);
  });
});

Deno.test("each simulcast layer of a camera is its own track: a key frame of one never cuts another", async () => {
  await withServer({}, async (server, join, ws) => {
    const room = uniqueRoom();
    const alice = await ws.joinActive(server.wsUrl, "alice", room);
    const carol = await join("carol", room);
    await eventually(async () => await server.metric("videocall_sessions") === 2);
    await delay(200);
    const send = (layer: number, byte: number, frameType: string) =>
      alice.sendMedia(
        { mediaType: MediaType.VIDEO, data: new Uint8Array([byte]), frameType },
        { kind: MediaKind.VIDEO, layer },
      );
    send(0, 10, "key");
    send(1, 20, "key");
    send(1, 21, "delta");
    send(0, 11, "key"); // A new group of layer 0 only.
    send(1, 22, "delta");
    for (const byte of [10, 11, 20, 21, 22]) {
      await carol.next(media("alice", MediaType.VIDEO, byte));
    }
    // Control, two groups of layer 0, one of layer 1: layer 0's key frame left layer 1's alone.
    assertEquals(carol.groupsReceived, 4);
  });
});

Deno.test("a client's grouped streams: packets read as they come, a newer group cuts the older", async () => {
  await withServer({}, async (server, join) => {
    const room = uniqueRoom();
    const alice = await join("alice", room);
    const bob = await join("bob", room);
    await eventually(async () => await server.metric("videocall_sessions") === 2);
    const track = upstreamTrack(MediaKind.VIDEO, 0);
    const video = (byte: number, frameType: string) =>
      alice.mediaBytes({ mediaType: MediaType.VIDEO, data: new Uint8Array([byte]), frameType }, {
        kind: MediaKind.VIDEO,
      });
    const first = await alice.openGroup(track);
    await first.send(video(1, "key"));
    await first.send(video(2, "delta"));
    await bob.next(media("alice", MediaType.VIDEO, 2));
    const second = await alice.openGroup(track);
    await second.send(video(3, "key"));
    await bob.next(media("alice", MediaType.VIDEO, 3));
    await eventually(async () =>
      await server.metric("videocall_drops_total", 'reason="stale_group"') === 1
    );
    // The cut stream is read no more: what alice still writes on it goes nowhere.
    await first.send(video(4, "delta")).catch(() => {});
    await second.send(video(5, "delta"));
    await bob.next(media("alice", MediaType.VIDEO, 5));
    await delay(100);
    assertEquals(bob.received.filter(media("alice", MediaType.VIDEO, 4)).length, 0);
    // Control packets on the control track (0) are never cut by another stream of track 0.
    const control = await alice.openGroup(0);
    await control.send(alice.mediaBytes({ mediaType: MediaType.AUDIO, data: new Uint8Array([6]) }));
    await bob.next(media("alice", MediaType.AUDIO, 6));
  });
});

Deno.test("sequenced datagrams from a client reach the room and their losses are counted", async () => {
  await withServer({}, async (server, join) => {
    const room = uniqueRoom();
    const alice = await join("alice", room);
    const bob = await join("bob", room);
    await eventually(async () => await server.metric("videocall_sessions") === 2);
    for (const [seq, byte] of [[0, 1], [1, 2], [4, 3]]) {
      alice.sendDatagram(
        encodeDatagram(
          seq,
          alice.mediaBytes({ mediaType: MediaType.AUDIO, data: new Uint8Array([byte]) }),
        ),
      );
      await bob.next(media("alice", MediaType.AUDIO, byte));
    }
    assertEquals(await server.metric("videocall_webtransport_datagrams_lost_total"), 2);
    assertEquals(await server.metric("videocall_webtransport_datagrams_in_total"), 3);
  });
});

interface BadCase {
  name: string;
  env?: Record<string, string>;
  offend(c: WtClient): Promise<unknown>;
  code: number;
  reason: string;
}

const badCases: BadCase[] = [
  {
    name: "a frame over the packet limit on a grouped stream",
    env: { MAX_PACKET_BYTES: "1024" },
    offend: async (c) => (await c.openGroup(9)).raw(new Uint8Array([0, 0, 0x10, 0])),
    code: 1009,
    reason: "Frame of 4096 bytes exceeds the limit of 1024 bytes",
  },
  {
    name: "a packet begun on a grouped stream and never finished",
    env: { WT_STREAM_TIMEOUT_MS: "500" },
    offend: async (c) => (await c.openGroup(9)).raw(new Uint8Array([0, 0, 0, 9, 8])),
    code: 4010,
    reason: "Stream not finished within",
  },
  {
    name: "garbage framed on a grouped stream",
    offend: async (c) => (await c.openGroup(9)).send(new Uint8Array([0xff, 0xff, 0xff])),
    code: 1007,
    reason: "Cannot decode PacketWrapper",
  },
  {
    name: "a sequenced datagram too short for its header",
    offend: (c) => Promise.resolve(c.sendDatagram(new Uint8Array([0, 1]))),
    code: 1007,
    reason: "A datagram is too short",
  },
];

for (const c of badCases) {
  Deno.test(`grouped framing: ${c.name} closes only that session, with code ${c.code}`, async () => {
    await withServer(c.env ?? {}, async (server, join) => {
      const room = uniqueRoom();
      const alice = await join("alice", room);
      const mallory = await join("mallory", room);
      await eventually(async () => await server.metric("videocall_sessions") === 2);
      await c.offend(mallory);
      const closed = await mallory.closed;
      assertEquals(closed.code, c.code);
      assert(closed.reason.includes(c.reason), `"${closed.reason}" should include "${c.reason}"`);
      // Alice carries on.
      await eventually(async () => await server.metric("videocall_sessions") === 1);
      const bob = await join("bob", room);
      bob.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([5]) });
      await alice.next(media("bob", MediaType.AUDIO, 5));
    });
  });
}

Deno.test("an unknown framing is refused with 4400 and says which one the server offers", async () => {
  await withServer({}, async (server) => {
    const info = await webTransportInfo(server.httpUrl);
    const client = await WtClient.connect(info, "alice", uniqueRoom(), "?framing=quantum", {
      waitForSession: false,
    });
    const closed = await client.closed;
    assertEquals(closed.code, 4400);
    assert(closed.reason.includes('Unknown framing "quantum"'), closed.reason);
    assert(closed.reason.includes('"groups"'), closed.reason);
  });
});

Deno.test("the stream header varint is what the parser reads back", () => {
  // A session id that takes two bytes.
  const parser = new WtStreamParser(false, 100);
  parser.push(new Uint8Array([...encodeQuicVarint(0x54), ...encodeQuicVarint(300), 0x08]));
  assertEquals(parser.sessionId, 300n);
  assertEquals(parser.kind, "single");
});
