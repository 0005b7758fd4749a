/**
 * Selective forwarding through real servers, with wire-format clients: viewports and layer
 * preferences (videocall-rs's VIEWPORT and LAYER_PREFERENCE), layer hints to publishers,
 * downlink congestion, active speakers, and large meetings that announce only those who publish
 * and let receivers hear only the loudest — on one instance and across two on NATS.
 *
 * "Did not arrive" is checked behind a marker: the publisher sends a control packet after the
 * media, which the relay always forwards and never reorders; once the receiver has it, anything
 * sent before it that was meant to arrive has arrived.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom, withServer } from "./support/harness.ts";
import { sharedNatsUrl } from "./support/nats.ts";
import { testDatabase } from "./support/database.ts";
import { startServerProcess } from "./support/server_process.ts";
import type { Received } from "./support/packet_client.ts";
import type { WireClient } from "./support/wire_client.ts";
import {
  decodeActiveSpeakersPacket,
  decodeLayerHintPacket,
  decodeMediaPacket,
} from "../lib/protocol/codec.ts";
import { MediaKind, MediaType, MeetingEventType, PacketType } from "../lib/protocol/packets.ts";
import { HIGHEST_LAYER } from "../lib/relay/forwarding.ts";
import { JoinError, MeetingsApi } from "../lib/client/mod.ts";
import { LOWER_AFTER_MS } from "../lib/relay/layer_hints.ts";

const natsUrl = await sharedNatsUrl();
let markers = 0;

/** Sends one video frame of `layer` (data: the layer and a number). */
function frame(c: WireClient, layer: number, n: number, type: number = MediaType.VIDEO): void {
  c.sendMedia(
    {
      mediaType: type,
      data: new Uint8Array([layer, n & 255]),
      frameType: "key",
      videoMetadata: { sequence: BigInt(n), codec: 2 },
    },
    { layer, kind: type === MediaType.SCREEN ? MediaKind.SCREEN : MediaKind.VIDEO },
  );
}

/** Sends a marker from `from` and waits until every one of `to` has it. */
async function barrier(from: WireClient, to: WireClient[]): Promise<void> {
  const id = ++markers;
  from.send(PacketType.RSA_PUB_KEY, new Uint8Array([10, 2, id & 255, id >> 8]));
  await Promise.all(
    to.map((c) =>
      c.next(
        (r) =>
          r.wrapper.packetType === PacketType.RSA_PUB_KEY && r.wrapper.data[2] === (id & 255) &&
          r.wrapper.data[3] === id >> 8,
        10_000,
      )
    ),
  );
}

function media(r: Received) {
  if (r.wrapper.packetType !== PacketType.MEDIA) return undefined;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok ? m.value : undefined;
}

/** The layers of `from`'s video (or screen) that `c` received, sorted and unique. */
function layersFrom(c: WireClient, from: WireClient, type = MediaType.VIDEO): number[] {
  const layers = c.received.filter((r) =>
    r.wrapper.sessionId === from.sessionId && media(r)?.mediaType === type
  ).map((r) => r.wrapper.simulcastLayerId ?? 0);
  return [...new Set(layers)].sort();
}

function countOf(c: WireClient, from: WireClient, type: number): number {
  return c.received.filter((r) =>
    r.wrapper.sessionId === from.sessionId && media(r)?.mediaType === type
  ).length;
}

function hints(c: WireClient): Map<number, number>[] {
  return c.received.filter((r) => r.wrapper.packetType === PacketType.LAYER_HINT).map((r) => {
    const h = decodeLayerHintPacket(r.wrapper.data);
    assert(h.ok);
    // Our "nobody watches" reads as -1 here.
    return new Map(
      h.value.entries.map((e) => [e.mediaKind, e.unwatched ? -1 : e.maxRequestedLayer]),
    );
  });
}

/**
 * Keeps `pub` sending base-layer camera frames (hints concern publishers seen sending) until its
 * latest hint gives `want` for its camera (-1: unwatched); returns the next frame number.
 */
async function feedUntilHint(
  pub: WireClient,
  want: number,
  timeoutMs: number,
  first = 0,
): Promise<number> {
  let n = first;
  const feeding = setInterval(() => frame(pub, 0, n++), 100);
  try {
    await eventually(
      () => hints(pub).at(-1)?.get(MediaKind.VIDEO) === want,
      timeoutMs,
      () => `the hint ${want}: ${JSON.stringify(hints(pub).map((m) => [...m]))}`,
    );
  } finally {
    clearInterval(feeding);
  }
  return n;
}

Deno.test("a viewport keeps others' camera away but never their audio or screen; empty means everything", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("viewport");
    const pub = await h.joinActive("pub", room);
    const other = await h.joinActive("other", room, [pub]);
    const r = await h.joinActive("r", room, [pub, other]);
    const q = await h.joinActive("q", room, [pub, other, r]);
    r.sendViewport([other.sessionId]);
    await delay(100);
    frame(pub, 0, 1);
    frame(pub, 0, 2, MediaType.SCREEN);
    pub.sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([1]) }, { kind: 2 });
    await barrier(pub, [r, q]);
    assertEquals(countOf(r, pub, MediaType.VIDEO), 0, "no camera of someone not in the viewport");
    assertEquals(countOf(r, pub, MediaType.SCREEN), 1);
    assertEquals(countOf(r, pub, MediaType.AUDIO), 1);
    assertEquals(countOf(q, pub, MediaType.VIDEO), 1, "no viewport: everything");
    r.sendViewport([]);
    await delay(100);
    frame(pub, 0, 3);
    await barrier(pub, [r]);
    assertEquals(countOf(r, pub, MediaType.VIDEO), 1, "an empty viewport: everything again");
  });
});

Deno.test("SELECTIVE_FORWARDING=off: viewports and layer wishes are ignored and a large meeting hears every voice", async () => {
  const env = {
    SELECTIVE_FORWARDING: "off",
    LARGE_MEETING_PARTICIPANTS: "2",
    ACTIVE_SPEAKERS: "1",
  };
  await withServer(env, async (h) => {
    const room = uniqueRoom("sfuoff");
    const pub = await h.joinActive("pub", room);
    const loud = await h.joinActive("loud", room, [pub]);
    const r = await h.join("r", room);
    r.heartbeat();
    r.sendViewport([loud.sessionId]);
    r.sendLayers([{ sessionId: pub.sessionId, desiredLayer: 0, mediaKind: MediaKind.VIDEO }]);
    await delay(100);
    let n = 0;
    for (const layer of [0, 1, 2]) frame(pub, layer, n++);
    await speak([[loud, 10], [pub, 90]], 600);
    await barrier(pub, [r]);
    assertEquals(layersFrom(r, pub), [0, 1, 2], "every layer of a camera outside the viewport");
    assertGreater(countOf(r, pub, MediaType.AUDIO), 20, "the quiet voice too");
    assertEquals(
      await h.server.metric("videocall_filtered_packets_total", 'reason="not_loudest"'),
      0,
    );
  });
});

Deno.test("layer preferences: the base always, at most the layer asked for, the highest on request, every layer without one", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("layers");
    const pub = await h.joinActive("pub", room);
    const receivers: WireClient[] = [];
    for (const name of ["one", "top", "base", "all"]) {
      receivers.push(await h.joinActive(name, room, [pub, ...receivers]));
    }
    const [one, top, base, all] = receivers;
    const wish = (c: WireClient, layer: number) =>
      c.sendLayers([{ sessionId: pub.sessionId, desiredLayer: layer, mediaKind: MediaKind.VIDEO }]);
    wish(one, 1);
    wish(top, HIGHEST_LAYER);
    wish(base, 0);
    await delay(100);
    let n = 0;
    // The relay learns which layers the publisher sends as they come; then it picks among them.
    for (const layer of [0, 1, 2]) frame(pub, layer, n++);
    await barrier(pub, receivers);
    for (const c of receivers) c.received.length = 0;
    for (const layer of [0, 1, 2, 0, 1, 2]) frame(pub, layer, n++);
    await barrier(pub, receivers);
    assertEquals(layersFrom(one, pub), [0, 1]);
    assertEquals(layersFrom(top, pub), [0, 2]);
    assertEquals(layersFrom(base, pub), [0]);
    assertEquals(layersFrom(all, pub), [0, 1, 2]);
    // The publisher stops layer 2: "the highest" falls back to layer 1, not to the base only.
    for (const c of receivers) c.received.length = 0;
    const stop = Date.now() + 1700;
    while (Date.now() < stop) {
      frame(pub, 0, n++);
      frame(pub, 1, n++);
      await delay(100);
    }
    for (const c of receivers) c.received.length = 0;
    frame(pub, 0, n++);
    frame(pub, 1, n++);
    await barrier(pub, receivers);
    assertEquals(layersFrom(top, pub), [0, 1]);
    assertGreater(await h.server.metric("videocall_filtered_packets_total", 'reason="layer"'), 0);
  });
});

Deno.test("a publisher is told the highest layer anyone wants: raised at once, lowered after it held", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("hints");
    const pub = await h.joinActive("pub", room);
    const a = await h.joinActive("a", room, [pub]);
    const b = await h.joinActive("b", room, [pub, a]);
    frame(pub, 0, 0);
    frame(pub, 1, 1);
    await eventually(() => hints(pub).length > 0, 5000, "a first hint");
    assertEquals(hints(pub).at(-1)!.get(MediaKind.VIDEO), HIGHEST_LAYER, "nobody limited it yet");
    const wish = (c: WireClient, layer: number) =>
      c.sendLayers([{ sessionId: pub.sessionId, desiredLayer: layer, mediaKind: MediaKind.VIDEO }]);
    wish(a, 0);
    wish(b, 1);
    const asked = Date.now();
    // Keep publishing: hints concern publishers seen sending layers.
    const feeding = setInterval(() => frame(pub, 0, 2), 100);
    try {
      await eventually(
        () => hints(pub).at(-1)?.get(MediaKind.VIDEO) === 1,
        LOWER_AFTER_MS + 3000,
        "the hint lowered to 1",
      );
      assert(Date.now() - asked >= LOWER_AFTER_MS - 300, "a lower hint waits");
      b.sendViewport([a.sessionId]); // b no longer shows pub's camera
      await eventually(
        () => hints(pub).at(-1)?.get(MediaKind.VIDEO) === 0,
        LOWER_AFTER_MS + 3000,
        "the hint lowered to 0",
      );
      const lowered = hints(pub).length;
      wish(a, HIGHEST_LAYER);
      await eventually(() => hints(pub).length > lowered, 1500, "a raise at once");
      assertEquals(hints(pub).at(-1)!.get(MediaKind.VIDEO), HIGHEST_LAYER);
    } finally {
      clearInterval(feeding);
    }
  });
});

Deno.test("a camera nobody shows is told so (it may send nothing) and told again at once when someone turns to it", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("unwatched");
    const pub = await h.joinActive("pub", room);
    const other = await h.joinActive("other", room, [pub]);
    const r = await h.joinActive("r", room, [pub, other]);
    r.sendViewport([other.sessionId]);
    other.sendViewport([r.sessionId]);
    let n = await feedUntilHint(pub, -1, LOWER_AFTER_MS + 4000);
    // The publisher stopped sending; someone turns to its page.
    await delay(1800);
    r.sendViewport([other.sessionId, pub.sessionId]);
    await eventually(
      () => hints(pub).at(-1)?.get(MediaKind.VIDEO) === HIGHEST_LAYER,
      2000,
      "watched",
    );
    frame(pub, 0, n++);
    await barrier(pub, [r]);
    assertEquals(
      countOf(r, pub, MediaType.VIDEO) > 0,
      true,
      "its camera reaches the one who shows it",
    );
  });
});

Deno.test("a screen share that starts after the camera went unwatched is allowed: a kind never sent is never unwatched", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("screenlate");
    const pub = await h.joinActive("pub", room);
    const r = await h.joinActive("r", room, [pub]);
    r.sendViewport([r.sessionId]); // shows nobody's camera
    let n = await feedUntilHint(pub, -1, LOWER_AFTER_MS + 4000);
    assert(
      hints(pub).every((hint) => hint.get(MediaKind.SCREEN) !== -1),
      `no hint may stop a screen that was never shared: ${
        JSON.stringify(hints(pub).map((m) => [...m]))
      }`,
    );
    frame(pub, 0, n++, MediaType.SCREEN);
    await barrier(pub, [r]);
    assertEquals(countOf(r, pub, MediaType.SCREEN), 1, "the first screen frame arrives");
  });
});

Deno.test({
  name:
    "across two instances: a camera that paused before anyone on the other instance joined is asked for again when someone there shows it",
  ignore: natsUrl === undefined,
  async fn() {
    const [a, b] = await Promise.all([
      startServerProcess({ NATS_URL: natsUrl! }),
      startServerProcess({ NATS_URL: natsUrl! }),
    ]);
    const pool = new ClientPool();
    try {
      const room = uniqueRoom("pausednats");
      const pub = await pool.joinActive(a.wsUrl, "pub", room);
      let n = await feedUntilHint(pub, -1, LOWER_AFTER_MS + 4000);
      // It sends nothing now; instance B never saw one of its packets.
      const r = await pool.joinActive(b.wsUrl, "r", room, [pub]);
      r.sendViewport([pub.sessionId]);
      await eventually(
        () => (hints(pub).at(-1)?.get(MediaKind.VIDEO) ?? -1) >= 0,
        8000,
        () => `watched again: ${JSON.stringify(hints(pub).map((m) => [...m]))}`,
      );
      frame(pub, 0, n++);
      await barrier(pub, [r]);
      assertEquals(countOf(r, pub, MediaType.VIDEO), 1, "its camera reaches the other instance");
    } finally {
      await pool.closeAll();
      await Promise.all([a.stop(), b.stop()]);
    }
  },
});

Deno.test("a receiver that cannot keep up is told once (DOWNLINK_CONGESTION) and gets camera base layers only for a while", async () => {
  const env = { QUEUE_DEPTH: "16", MAX_PACKETS_PER_SECOND: "5000", MAX_QUEUE_DELAY_MS: "60000" };
  await withServer(env, async (h) => {
    const room = uniqueRoom("downlink");
    const pub = await h.joinActive("pub", room);
    const slow = await h.joinActive("slow", room, [pub]);
    slow.pause();
    const big = new Uint8Array(32 * 1024);
    for (let i = 0; i < 400; i++) {
      pub.sendMedia(
        { mediaType: MediaType.VIDEO, data: big, frameType: i % 30 ? "delta" : "key" },
        {
          layer: 0,
          kind: MediaKind.VIDEO,
        },
      );
      if (i % 20 === 19) await delay(10);
    }
    await eventually(
      async () => await h.server.metric("videocall_downlink_congestion_notices_total") === 1,
      10_000,
      "one notice",
    );
    slow.resume();
    await slow.next((r) => r.wrapper.packetType === PacketType.DOWNLINK_CONGESTION, 10_000);
    // Within the relief window a higher layer does not reach it; the base does.
    slow.received.length = 0;
    frame(pub, 2, 1);
    frame(pub, 0, 2);
    await barrier(pub, [slow]);
    assertEquals(layersFrom(slow, pub), [0]);
    assertEquals(await h.server.metric("videocall_downlink_congestion_notices_total"), 1);
  });
});

/** Sends 20 ms audio packets at `level` (-dBov) from each client for `ms`. */
async function speak(levels: [WireClient, number][], ms: number): Promise<void> {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    for (const [c, level] of levels) {
      c.sendMedia(
        {
          mediaType: MediaType.AUDIO,
          data: new Uint8Array([n & 255]),
          audioMetadata: {
            audioFormat: "opus",
            audioNumberOfChannels: 1,
            audioNumberOfFrames: 960,
            audioSampleRate: 48000,
            sequence: BigInt(n),
          },
        },
        { kind: MediaKind.AUDIO, audioLevel: level + 1 },
      );
    }
    n++;
    await delay(20);
  }
}

function lastSpeakers(c: WireClient) {
  const r = c.received.filter((r) => r.wrapper.packetType === PacketType.ACTIVE_SPEAKERS).at(-1);
  if (r === undefined) return undefined;
  const p = decodeActiveSpeakersPacket(r.wrapper.data);
  assert(p.ok);
  return p.value;
}

Deno.test("the relay ranks speakers by their audio level and tells everyone; a large meeting hears only the loudest", async () => {
  await withServer({ LARGE_MEETING_PARTICIPANTS: "3", ACTIVE_SPEAKERS: "1" }, async (h) => {
    const room = uniqueRoom("speakers");
    const loud = await h.joinActive("loud", room);
    const quiet = await h.joinActive("quiet", room, [loud]);
    const silent = await h.joinActive("silent", room, [loud, quiet]);
    // The fourth is counted, not announced (the meeting is large above three).
    const listener = await h.join("listener", room);
    listener.heartbeat();
    await speak([[loud, 20], [quiet, 45], [silent, 127]], 1200);
    await barrier(loud, [listener]);
    await eventually(() => lastSpeakers(listener)?.dominant === loud.sessionId, 3000, "speakers");
    assertEquals(lastSpeakers(listener)!.sessionIds, [loud.sessionId]);
    // Four people in a meeting whose "large" begins above three: only the loudest is heard.
    assertGreater(countOf(listener, loud, MediaType.AUDIO), 40);
    assert(countOf(listener, quiet, MediaType.AUDIO) < 10, "the quieter voice is left out");
    assertEquals(countOf(listener, silent, MediaType.AUDIO), 0);
    assertGreater(
      await h.server.metric("videocall_filtered_packets_total", 'reason="not_loudest"'),
      50,
    );
    // The quiet one speaks up and takes over.
    await speak([[loud, 70], [quiet, 10]], 1500);
    await eventually(() => lastSpeakers(listener)?.dominant === quiet.sessionId, 3000, "switch");
  });
});

function joinedNames(c: WireClient): string[] {
  return c.meetingEvents().filter((m) => m.eventType === MeetingEventType.PARTICIPANT_JOINED)
    .map((m) => new TextDecoder().decode(m.targetUserId));
}

function lastCount(c: WireClient): bigint | undefined {
  return c.meetingEvents().filter((m) => m.eventType === MeetingEventType.PARTICIPANT_COUNT)
    .at(-1)?.participantCount;
}

Deno.test("a large meeting announces only those who publish, counts the rest, and sends heartbeats only to those who show the tile", async () => {
  await withServer({ LARGE_MEETING_PARTICIPANTS: "3" }, async (h) => {
    const room = uniqueRoom("audience");
    const watcher = await h.joinActive("watcher", room);
    const people: WireClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await h.join(`p${i}`, room);
      c.heartbeat();
      people.push(c);
    }
    await eventually(() => lastCount(watcher) === 6n, 5000, "the count");
    // Two more joined while the meeting had at most three; the rest are counted only.
    assertEquals(joinedNames(watcher), ["p0", "p1"]);
    // A counted listener unmutes: now everyone knows them.
    people[4].sendMedia({ mediaType: MediaType.AUDIO, data: new Uint8Array([1]) }, {
      kind: MediaKind.AUDIO,
      audioLevel: 20,
    });
    await watcher.nextMeetingEvent(MeetingEventType.PARTICIPANT_JOINED, people[4].sessionId);
    // A counted listener leaves: no PARTICIPANT_LEFT, only the count.
    await people[3].close();
    await eventually(() => lastCount(watcher) === 5n, 5000, "the count after a leave");
    assert(
      !watcher.meetingEvents().some((m) =>
        m.eventType === MeetingEventType.PARTICIPANT_LEFT && m.sessionId === people[3].sessionId
      ),
    );
    // Heartbeats reach only those who show the sender's tile.
    watcher.sendViewport([people[0].sessionId]);
    await delay(100);
    watcher.received.length = 0;
    people[0].heartbeat();
    people[1].heartbeat();
    await barrier(people[1], [watcher]);
    await barrier(people[0], [watcher]);
    assertEquals(countOf(watcher, people[0], MediaType.HEARTBEAT), 1);
    assertEquals(countOf(watcher, people[1], MediaType.HEARTBEAT), 0);
    // A newcomer learns the announced ones and the count.
    const late = await h.join("late", room);
    await eventually(() => lastCount(late) !== undefined, 3000, "the newcomer's count");
    assertEquals(joinedNames(late).sort(), ["p0", "p1", "p4", "watcher"]);
  });
});

Deno.test({
  name:
    "across two instances on NATS: viewports and layers filter at the receiver's instance, hints add up, the count is cluster-wide",
  ignore: natsUrl === undefined,
  async fn() {
    const env = { NATS_URL: natsUrl!, LARGE_MEETING_PARTICIPANTS: "2" };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const pool = new ClientPool();
    try {
      const room = uniqueRoom("sfunats");
      const pub = await pool.joinActive(a.wsUrl, "pub", room);
      const r = await pool.joinActive(b.wsUrl, "r", room, [pub]);
      const q = await pool.join(b.wsUrl, "q", room);
      q.heartbeat();
      await eventually(() => lastCount(pub) === 3n, 5000, "the count on the other instance");
      r.sendLayers([{ sessionId: pub.sessionId, desiredLayer: 1, mediaKind: MediaKind.VIDEO }]);
      q.sendViewport([r.sessionId]);
      await delay(200);
      let n = 0;
      for (const layer of [0, 1, 2]) frame(pub, layer, n++);
      await barrier(pub, [r, q]);
      assertEquals(layersFrom(r, pub), [0, 1]);
      assertEquals(layersFrom(q, pub), []);
      // r (instance B) wants at most 1; q watches others: the publisher (on A) hears 1.
      await feedUntilHint(pub, 1, LOWER_AFTER_MS + 6000, n);
    } finally {
      await pool.closeAll();
      await Promise.all([a.stop(), b.stop()]);
    }
  },
});

Deno.test("bad selection packets: malformed or oversized close that connection, floods are ignored and counted", async () => {
  await withServer({}, async (h) => {
    const room = uniqueRoom("badsel");
    const good = await h.joinActive("good", room);
    const malformed = await h.joinActive("m1", room, [good]);
    malformed.send(PacketType.VIEWPORT, new Uint8Array([0x0a, 0x09, 0x01]));
    const c1 = await malformed.closed;
    assertEquals(c1.code, 1007);
    assert(c1.reason.includes("Cannot decode ViewportPacket"), c1.reason);
    const oversized = await h.joinActive("m2", room, [good]);
    oversized.sendViewport(Array.from({ length: 300 }, (_, i) => BigInt(i + 1)));
    const c2 = await oversized.closed;
    assertEquals([c2.code, c2.reason], [1008, "VIEWPORT lists more than 256 sessions"]);
    const flood = await h.joinActive("m3", room, [good]);
    for (let i = 0; i < 50; i++) flood.sendViewport([good.sessionId]);
    await eventually(
      async () =>
        await h.server.metric("videocall_drops_total", 'reason="control_rate_limited"') > 30,
      3000,
      "the flood counted",
    );
    flood.send(PacketType.RSA_PUB_KEY, new Uint8Array([10, 1, 9]));
    await good.next((r) => r.wrapper.sessionId === flood.sessionId && r.wrapper.packetType === 1);
    // Unknown sessions in a viewport are no harm: they may join later.
    good.sendViewport([123456789n]);
    good.send(PacketType.RSA_PUB_KEY, new Uint8Array([10, 1, 1]));
    await flood.next((r) => r.wrapper.sessionId === good.sessionId && r.wrapper.packetType === 1);
  });
});

Deno.test({
  name:
    "the live roster is paged, announced people first, from any instance; bad paging is a 400, outsiders get a 403",
  ignore: natsUrl === undefined,
  async fn() {
    // One database and one secret for both, as in a cluster: a session from one instance is
    // good on the other.
    const db = await testDatabase();
    const env = {
      ...db.env,
      NATS_URL: natsUrl!,
      LARGE_MEETING_PARTICIPANTS: "2",
      JWT_SECRET: "roster-test-secret-of-at-least-32-characters",
    };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const pool = new ClientPool();
    try {
      const room = uniqueRoom("roster");
      const people: WireClient[] = [];
      for (const user of ["p-e", "p-d", "p-c", "p-b", "p-a"]) {
        people.push(await pool.joinActive(a.wsUrl, user, room));
      }
      // The first two came to a small meeting and were announced; the others are only counted
      // until they publish. p-b publishes: from then on it is announced too.
      frame(people[0], 0, 0);
      frame(people[3], 0, 0);
      // A viewer who joined through the API on the other instance (no connection there).
      const viewer = new MeetingsApi(b.httpUrl);
      await viewer.signIn("viewer", "Viewer");
      await viewer.join(room);
      let first = await viewer.roster(room, { limit: 3 });
      await eventually(
        async () => {
          first = await viewer.roster(room, { limit: 3 });
          return first.participants[2]?.announced === true;
        },
        5000,
        () => JSON.stringify(first),
      );
      assertEquals(first.total, 5);
      assertEquals(
        first.participants.map((p) => [p.userId, p.announced]),
        [["p-b", true], ["p-d", true], ["p-e", true]],
      );
      assertEquals(first.participants[0].sessionId, String(people[3].sessionId));
      const rest = await viewer.roster(room, { limit: 3, offset: 3 });
      assertEquals(rest.participants.map((p) => [p.userId, p.announced]), [["p-a", false], [
        "p-c",
        false,
      ]]);
      assertEquals(
        (await viewer.roster(room, { offset: 10 })).participants,
        [],
        "past the end: an empty page",
      );
      // The instance that holds the room answers the same.
      const local = new MeetingsApi(a.httpUrl, viewer.token);
      assertEquals((await local.roster(room)).participants.map((p) => p.userId), [
        "p-b",
        "p-d",
        "p-e",
        "p-a",
        "p-c",
      ]);

      for (const query of ["limit=0", "limit=501", "limit=ten", "offset=-1", "limit="]) {
        const response = await fetch(`${b.httpUrl}/api/v1/meetings/${room}/roster?${query}`, {
          headers: { authorization: `Bearer ${viewer.token}` },
        });
        assertEquals(response.status, 400, query);
        const body = await response.json();
        assert(/must be a whole number from/.test(body.result.message), body.result.message);
      }
      const outsider = new MeetingsApi(b.httpUrl);
      await outsider.signIn("outsider", "Outsider");
      const refused = await outsider.roster(room).then(() => undefined, (e) => e);
      assert(refused instanceof JoinError, String(refused));
      assertEquals(refused.status, 403);
      // Everyone else carried on.
      await barrier(people[0], people.slice(1));
    } finally {
      await pool.closeAll();
      await Promise.all([a.stop(), b.stop()]);
      await db.cleanup();
    }
  },
});
