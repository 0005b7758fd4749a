/**
 * The headless streamer against a real server: a wire-format receiver in the meeting checks
 * what `cli/stream.ts --debug-send-test-pattern` sends (decodable VP9/VP8 frames starting with a
 * key frame, rising sequence numbers, the asked-for frame duration, Opus packets) over WebTransport and
 * WebSocket; the streamer survives a server restart; bad flags and missing programs get clear
 * messages and exit statuses.
 */
import { assert, assertEquals, assertGreater } from "./support/assert.ts";
import { ClientPool, delay, eventually, uniqueRoom } from "./support/harness.ts";
import { freePort } from "./support/nats.ts";
import { type ServerProcess, startServerProcess } from "./support/server_process.ts";
import type { Received } from "./support/packet_client.ts";
import { decodeMediaPacket, decodeMeetingPacket } from "../lib/protocol/codec.ts";
import {
  type MediaPacket,
  MediaType,
  MeetingEventType,
  PacketType,
  VideoCodec,
} from "../lib/protocol/packets.ts";
import { isVp8KeyFrame, isVp9KeyFrame } from "../cli/ivf.ts";
import {
  ffmpegTestsIgnored,
  runStreamer,
  spawnStreamer,
  TEST_FPS,
  testPatternArgs,
} from "./support/streamer.ts";

const ROOT = new URL("../", import.meta.url);
const ignore = ffmpegTestsIgnored();

const mediaFrom = (user: string, type: number) => (r: Received) => {
  if (r.userId !== user || r.wrapper.packetType !== PacketType.MEDIA) return false;
  const m = decodeMediaPacket(r.wrapper.data);
  return m.ok && m.value.mediaType === type;
};

function media(r: Received): MediaPacket {
  const m = decodeMediaPacket(r.wrapper.data);
  if (!m.ok) throw m.error;
  return m.value;
}

/** Checks what the receiver got from `user` over the last `seconds`. */
function checkStream(received: Received[], user: string, fps: number, codec: "vp9" | "vp8") {
  const video = received.filter(mediaFrom(user, MediaType.VIDEO)).map(media);
  const audio = received.filter(mediaFrom(user, MediaType.AUDIO)).map(media);
  assertGreater(video.length, 0, "video frames");
  const first = video[0];
  assertEquals(first.frameType, "key", "the first frame is a key frame");
  const isKey = codec === "vp9" ? isVp9KeyFrame : isVp8KeyFrame;
  assert(isKey(first.data), "the first frame's bitstream is a key frame");
  assertEquals(
    first.videoMetadata?.codec,
    codec === "vp9" ? VideoCodec.VP9_PROFILE0_LEVEL10_8BIT : VideoCodec.VP8,
  );
  const seqs = video.map((m) => Number(m.videoMetadata!.sequence));
  for (const m of video) assertEquals(m.frameType === "key", isKey(m.data), "frame type matches");
  // Every frame the encoder made arrived (WebSocket and framed WebTransport are reliable), each
  // stamped with the asked-for frame duration. The rate achieved depends on how busy the machine
  // is (tests run in parallel): `deno task bench:cli` measures it, this test does not.
  for (let i = 1; i < seqs.length; i++) assertEquals(seqs[i], seqs[i - 1] + 1, "no frame missing");
  for (const m of video) assertEquals(Math.round(m.duration * fps), 1000, "frame duration");
  assertGreater(audio.length, 0, "Opus packets");
  // Each carries the tone's level in the clear: ffmpeg's sine has amplitude 1/8, an RMS of
  // about -21 dBov (the wire adds one). The first may come before the first measurement.
  const levels = received.filter(mediaFrom(user, MediaType.AUDIO)).map((r) => r.wrapper.audioLevel);
  const measured = levels.filter((l) => l !== undefined && l > 0);
  assertGreater(measured.length, levels.length - 5, `levels: ${levels.slice(0, 20)}`);
  assert(measured.every((l) => l! >= 20 && l! <= 24), `levels: ${measured.slice(0, 20)}`);
  for (const a of audio) {
    assertEquals(a.audioMetadata?.audioFormat, "opus");
    assertEquals((a.data[0] >> 3) % 4, 3, "20 ms Opus frames");
  }
  return { video: video.length, audio: audio.length };
}

async function streamAndCheck(
  server: ServerProcess,
  extra: string[],
  codec: "vp9" | "vp8",
): Promise<string> {
  const pool = new ClientPool();
  const room = uniqueRoom("cli");
  const watcher = await pool.joinActive(server.wsUrl, "watcher", room);
  const fps = TEST_FPS;
  const s = spawnStreamer([...testPatternArgs(server.httpUrl, "pi", room), "--quiet", ...extra]); // deno-fmt-ignore
  try {
    await eventually(
      () => watcher.received.filter(mediaFrom("pi", MediaType.VIDEO)).length >= fps * 3,
      20_000,
      "3 s of video from the streamer",
    ).catch((e) => {
      throw new Error(`${e.message}\n${s.stderr()}`);
    });
    checkStream(watcher.received, "pi", fps, codec);
    assertEquals(await s.stop(), 0, s.stderr());
    await watcher.next((r) => {
      if (r.wrapper.packetType !== PacketType.MEETING) return false;
      const m = decodeMeetingPacket(r.wrapper.data);
      return m.ok && m.value.eventType === MeetingEventType.PARTICIPANT_LEFT;
    }, 5000);
    return s.stderr();
  } finally {
    await s.stop();
    await pool.closeAll();
  }
}

Deno.test({
  name:
    "the test pattern arrives over WebTransport as VP9 key frame first, rising sequence, ~fps, and Opus",
  ignore,
  async fn() {
    const server = await startServerProcess();
    try {
      await streamAndCheck(server, ["--insecure-skip-verify"], "vp9");
      const opened = server.logs.filter((l) => l.event === "session_opened" && l.user === "pi");
      assertEquals(opened.map((l) => l.transport), ["webtransport"]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "over WebSocket, as VP8, the stream is as good; a ws:// URL means WebSocket",
  ignore,
  async fn() {
    const server = await startServerProcess();
    try {
      await streamAndCheck(server, ["--codec", "vp8", "--transport", "websocket"], "vp8");
      const opened = server.logs.filter((l) => l.event === "session_opened" && l.user === "pi");
      assertEquals(opened.map((l) => l.transport), ["websocket"]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "without --insecure-skip-verify a self-signed WebTransport server is not trusted: it falls back to WebSocket",
  ignore,
  async fn() {
    const server = await startServerProcess();
    try {
      await streamAndCheck(server, [], "vp9");
      const opened = server.logs.filter((l) => l.event === "session_opened" && l.user === "pi");
      assertEquals(opened.map((l) => l.transport), ["websocket"]);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "the streamer survives a server restart and streams into the meeting again",
  ignore,
  async fn() {
    const port = freePort();
    const { testDatabase } = await import("./support/database.ts");
    const db = await testDatabase();
    const env = { ...db.env, PORT: String(port), WT_PORT: "off", LEAVE_GRACE_MS: "200" };
    let server = await startServerProcess(env);
    const room = uniqueRoom("restart");
    const s = spawnStreamer(testPatternArgs(server.httpUrl, "pi", room)); // deno-fmt-ignore
    const pool = new ClientPool();
    try {
      const before = await pool.joinActive(server.wsUrl, "watcher", room);
      await eventually(
        () => before.received.some(mediaFrom("pi", MediaType.VIDEO)),
        20_000,
        "video",
      );
      await server.stop();
      await delay(500);
      server = await startServerProcess(env);
      const after = await pool.joinActive(server.wsUrl, "watcher2", room);
      await eventually(
        () => after.received.filter(mediaFrom("pi", MediaType.VIDEO)).length >= 15,
        30_000,
        "video after the restart",
      ).catch((e) => {
        throw new Error(`${e.message}\n${s.stderr()}`);
      });
      const first = media(after.received.find(mediaFrom("pi", MediaType.VIDEO))!);
      assertEquals(first.frameType, "key", "streaming resumes with a key frame");
      assert(s.stderr().includes("connection lost"), s.stderr());
      assertEquals(await s.stop(), 0);
    } finally {
      await s.stop();
      await pool.closeAll();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "--simulcast sends two layers from one ffmpeg, each from a key frame in order; a layer nobody watches stops being sent",
  ignore,
  async fn() {
    const server = await startServerProcess({ WT_PORT: "off" });
    const pool = new ClientPool();
    const room = uniqueRoom("simulcast");
    const watcher = await pool.joinActive(server.wsUrl, "watcher", room);
    const s = spawnStreamer([
      ...testPatternArgs(server.httpUrl, "pi", room),
      ...["--quiet", "--simulcast", "--transport", "websocket"],
    ]);
    const layerOf = (r: Received) => r.wrapper.simulcastLayerId ?? 0;
    const video = () => watcher.received.filter(mediaFrom("pi", MediaType.VIDEO));
    try {
      await eventually(
        () => video().filter((r) => layerOf(r) === 0).length >= 10,
        20_000,
        () => `both layers from the streamer\n${s.stderr()}`,
      );
      for (const layer of [0, 1]) {
        const frames = video().filter((r) => layerOf(r) === layer);
        const m = frames.map(media);
        assertEquals(m[0].frameType, "key", `layer ${layer} starts with a key frame`);
        assert(isVp9KeyFrame(m[0].data), `layer ${layer}'s first frame is a VP9 key frame`);
        const seqs = m.map((x) => Number(x.videoMetadata!.sequence));
        for (let i = 1; i < seqs.length; i++) {
          assertEquals(seqs[i], seqs[i - 1] + 1, `layer ${layer}: no frame missing`);
        }
        assertEquals(frames[0].wrapper.mediaKind, 1, "labelled as video in the clear");
      }
      // 7 fps against the test pattern's 15: the low layer has fewer frames, and smaller ones.
      const low = video().filter((r) => layerOf(r) === 0).map(media);
      const top = video().filter((r) => layerOf(r) === 1).map(media);
      assert(low.length < top.length, `${low.length} low frames, ${top.length} top frames`);
      const size = (ms: MediaPacket[]) => ms.reduce((n, m) => n + m.data.length, 0) / ms.length;
      assert(size(low) < size(top), `low frames average ${size(low)} bytes, top ${size(top)}`);

      // The only watcher wants the base layer: the relay tells the streamer (after 2 s), which
      // stops sending layer 1 — nothing of it reaches the relay any more.
      const pi = watcher.received.find(mediaFrom("pi", MediaType.VIDEO))!.wrapper.sessionId;
      watcher.sendLayers([{ sessionId: pi, desiredLayer: 0, mediaKind: 1 }]);
      const filtered = () => server.metric("videocall_filtered_packets_total", 'reason="layer"');
      await eventually(
        async () => {
          const before = await filtered();
          await delay(1200);
          return await filtered() === before;
        },
        15_000,
        "layer 1 no longer arriving at the relay",
      );
      const since = watcher.received.length;
      await delay(1000);
      const after = watcher.received.slice(since).filter(mediaFrom("pi", MediaType.VIDEO));
      assertGreater(after.length, 3, "the base layer still flows");
      assert(after.every((r) => layerOf(r) === 0), "and nothing else");
      assertEquals(await s.stop(), 0, s.stderr());
    } finally {
      await s.stop();
      await pool.closeAll();
      await server.stop();
    }
  },
});

Deno.test("bad flags exit with status 2 and say what is wrong", async () => {
  const base = ["stream", "--url", "http://127.0.0.1:9", "--user-id", "pi", "--meeting-id", "m"];
  const cases: [string[], string][] = [
    [["stream", "--user-id", "pi", "--meeting-id", "m"], "--url is required"],
    [[...base, "--resolution", "big"], "--resolution must look like 1280x720"],
    [[...base, "--fps", "0"], "--fps must be a whole number from 1 to 120"],
    [[...base, "--codec", "h264"], '--codec must be vp9 or vp8, got "h264"'],
    [["stream", "--url", "ftp://x", "--user-id", "pi", "--meeting-id", "m"], "--url must start"],
    [["stream", "--url", "http://x", "--user-id", "a.b", "--meeting-id", "m"], 'The user id "a.b"'],
    [[...base, "--frobnicate"], "Unknown option '--frobnicate'"],
    [[...base, "--count", "2", "--token", "t"], "--count above 1 cannot use a token"],
    [["dance"], 'Unknown command "dance"'],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await runStreamer(args);
    assertEquals(code, 2, `${args.join(" ")}: ${stderr}`);
    assert(stderr.includes(message), `${args.join(" ")}: ${stderr}`);
  }
});

Deno.test("--help documents every flag with its default", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/stream.ts", "--help"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assertEquals(out.code, 0);
  const printed = new TextDecoder().decode(out.stdout);
  const { HELP } = await import("../cli/stream_options.ts");
  for (
    const flag of [
      "--url",
      "--user-id",
      "--meeting-id",
      "--video-device-index",
      "--audio-device",
      "--resolution",
      "--fps",
      "--bitrate-kbps",
      "--frame-format",
      "--vp9-cpu-used",
      "--debug-send-test-pattern",
      "--insecure-skip-verify",
      "--token",
      "--token-file",
      "--source",
      "--codec",
      "--transport",
      "--count",
      "--quiet",
      "--list-cameras",
      "--list-audio-devices",
      "--list-formats",
      "--keyframe-interval",
    ] // deno-fmt-ignore
  ) assert(printed.includes(flag), flag);
  assert(printed.includes("[default: 1280x720]"));
  assertEquals(printed.trim(), HELP.trim());
});

Deno.test("a missing ffmpeg, a missing camera and a missing file get clear messages", async () => {
  const base = ["stream", "--url", "http://127.0.0.1:9", "--user-id", "pi", "--meeting-id", "m"];
  const noFfmpeg = await runStreamer([
    ...base,
    "--debug-send-test-pattern",
    "--ffmpeg",
    "/nonexistent/ffmpeg",
  ]);
  assertEquals(noFfmpeg.code, 3, noFfmpeg.stderr);
  assert(noFfmpeg.stderr.includes("sudo apt-get install ffmpeg"), noFfmpeg.stderr);
  const noCamera = await runStreamer([...base, "-v", "7"]);
  assertEquals(noCamera.code, 4, noCamera.stderr);
  assert(noCamera.stderr.includes("No camera at /dev/video7"), noCamera.stderr);
  const noFile = await runStreamer([...base, "--source", "file:/nonexistent.mp4"]);
  assertEquals(noFile.code, 4, noFile.stderr);
  assert(noFile.stderr.includes("No such file: /nonexistent.mp4"), noFile.stderr);
});

Deno.test({
  name:
    "a bad token, an unreachable server and a host's removal end the streamer with their own status",
  ignore,
  async fn() {
    const base = ["--debug-send-test-pattern", "-r", "160x120", "--fps", "10", "--quiet"];
    const unreachable = await runStreamer([
      "stream",
      "--url",
      `http://127.0.0.1:${freePort()}`,
      "--user-id",
      "pi",
      "--meeting-id",
      "m",
      ...base,
    ]); // deno-fmt-ignore
    assertEquals(unreachable.code, 7, unreachable.stderr);
    assert(unreachable.stderr.includes("Cannot reach the server"), unreachable.stderr);

    const secret = "cli-test-secret-0123456789abcdef0123456789";
    const strict = await startServerProcess({ AUTH: "required", JWT_SECRET: secret });
    try {
      const bad = await runStreamer([
        "stream",
        "--url",
        strict.httpUrl,
        "--user-id",
        "pi",
        "--meeting-id",
        "m",
        "--token",
        "not-a-token",
        ...base,
      ]); // deno-fmt-ignore
      assertEquals(bad.code, 5, bad.stderr);
      assert(bad.stderr.includes("token"), bad.stderr);
    } finally {
      await strict.stop();
    }

    const server = await startServerProcess();
    try {
      const room = uniqueRoom("kick");
      // The host joins first (the meeting is theirs), then removes the streamer.
      const session = await fetch(`${server.httpUrl}/api/v1/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user_id: "hana" }),
      }).then((r) => r.json());
      const auth = {
        authorization: `Bearer ${session.result.token}`,
        "content-type": "application/json",
      };
      await fetch(`${server.httpUrl}/api/v1/meetings/${room}/join`, {
        method: "POST",
        headers: auth,
      })
        .then((r) => r.body?.cancel());
      const s = spawnStreamer([
        "stream",
        "--url",
        server.httpUrl,
        "--user-id",
        "pi",
        "--meeting-id",
        room,
        ...base,
      ]); // deno-fmt-ignore
      await eventually(
        () => server.logs.some((l) => l.event === "session_opened" && l.user === "pi"),
        20_000,
        "the streamer to connect",
      );
      await fetch(`${server.httpUrl}/api/v1/meetings/${room}/remove`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ user_id: "pi" }),
      }).then((r) => r.body?.cancel());
      const status = await s.status;
      assertEquals(status.code, 6, s.stderr());
      assert(s.stderr().includes("removed"), s.stderr());
    } finally {
      await server.stop();
    }
  },
});
