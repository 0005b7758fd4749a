/**
 * `deno task load` itself: its flags, its packet scanner against the real codec, and a short
 * run against a real server whose figures must add up.
 */
import { assert, assertEquals, assertGreater } from "../../tests/support/assert.ts";
import { startServerProcess } from "../../tests/support/server_process.ts";
import { encodeMediaPacket, encodePacketWrapper } from "../../lib/protocol/codec.ts";
import { MediaType, PacketType } from "../../lib/protocol/packets.ts";
import { parseLoadOptions } from "./options.ts";
import { scanMedia, scanWrapper } from "./scan.ts";
import { formatResult, parseServerMetrics, runLoad } from "./main.ts";

Deno.test("load flags: lk's names, defaults, and a clear message for each mistake", () => {
  const ok = parseLoadOptions(["--subscribers", "4", "--layout", "5x5", "--transport", "wt"]);
  assert(ok.ok);
  assertEquals(
    [ok.options.participants, ok.options.layout, ok.options.transport, ok.options.workers],
    [5, "5x5", "wt", 2],
  );
  const cases: [string[], string][] = [
    [["--layout", "6x6"], '--layout must be 3x3, 4x4, 5x5 or speaker, got "6x6"'],
    [["--num-per-second", "0"], '--num-per-second must be a whole number from 1 to 10000, got "0"'],
    [["--url", "ftp://x"], '--url "ftp://x" must be http(s):// or ws(s)://'],
    [["--room", "a b"], "--room: "],
    [["--subscribers", "0", "--video-publishers", "1", "--audio-publishers", "0"], "At least two"],
    [["--bogus"], "Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    const r = parseLoadOptions(args);
    assert(!r.ok && r.error.startsWith(message), `${args.join(" ")}: ${JSON.stringify(r)}`);
  }
  const secret = parseLoadOptions([], { JWT_SECRET: "s" });
  assert(secret.ok && secret.options.jwtSecret === "s", "JWT_SECRET signs tokens");
});

Deno.test("the scanner reads what the codec wrote, and refuses truncated packets", () => {
  const data = encodeMediaPacket({
    mediaType: MediaType.AUDIO,
    userId: new TextEncoder().encode("u"),
    data: new Uint8Array(100),
    frameType: "key",
    timestamp: 1_733_000_000_123.25,
    duration: 20,
    audioMetadata: {
      audioFormat: "opus",
      audioNumberOfChannels: 1,
      audioNumberOfFrames: 960,
      audioSampleRate: 48_000,
      sequence: 9_999n,
    },
  });
  const bytes = encodePacketWrapper({
    packetType: PacketType.MEDIA,
    userId: new TextEncoder().encode("u"),
    data,
    sessionId: 0xfedc_ba98_7654_3210n,
    audioLevel: 11,
  });
  const w = scanWrapper(bytes)!;
  assertEquals([w.packetType, w.sessionId, w.layer], [3, 0xfedc_ba98_7654_3210n, 0]);
  const m = scanMedia(bytes, w.dataStart, w.dataEnd)!;
  assertEquals([m.mediaType, m.timestamp, m.sequence], [2, 1_733_000_000_123.25, 9_999]);
  for (let cut = 1; cut < bytes.length; cut += 7) {
    const part = scanWrapper(bytes.subarray(0, cut));
    if (part !== undefined) assert(part.dataEnd <= cut, `cut at ${cut}`);
  }
});

Deno.test("server figures come from /metrics", () => {
  const f = parseServerMetrics(
    [
      "videocall_process_cpu_seconds_total 12.5",
      "videocall_process_resident_memory_bytes 1000000",
      'videocall_dropped_packets_total{class="video"} 7',
      'videocall_filtered_packets_total{reason="layer"} 3',
      "# HELP ignored",
    ].join("\n"),
  );
  assertEquals(f.cpuSeconds, 12.5);
  assertEquals(f.rssBytes, [1_000_000]);
  assertEquals(f.dropsByClass, { video: 7 });
  assertEquals(f.filtered, { layer: 3 });
});

Deno.test("a short run: everyone joins, media flows at the planned rates, nothing is lost", async () => {
  const server = await startServerProcess({ WT_PORT: "off" });
  try {
    const parsed = parseLoadOptions([
      ...["--url", server.httpUrl, "--video-publishers", "2", "--audio-publishers", "2"],
      ...["--subscribers", "3", "--layout", "speaker", "--simulcast", "--num-per-second", "50"],
      ...["--duration", "2", "--workers", "2", "--quiet"],
    ]);
    assert(parsed.ok);
    const r = await runLoad(parsed.options, () => {});
    assertEquals([r.joined, r.failed], [5, 0], JSON.stringify(r.failures));
    // Audio: 2 publishers at 50/s, each heard by the 4 others.
    assertGreater(r.deliveredPerSecond.audio, 2 * 50 * 4 * 0.5);
    assertGreater(r.deliveredPerSecond.video, 0);
    assertEquals(r.lost, { video: 0, audio: 0 });
    assertEquals(r.serverDrops, {});
    assertGreater(r.firstMediaMs.p50, 0);
    assert(formatResult(r).includes("5 joined of 5"), formatResult(r));
  } finally {
    await server.stop();
  }
});
