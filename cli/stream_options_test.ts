import { assert, assertEquals } from "../tests/support/assert.ts";
import { cameraPath, parseCommandLine } from "./stream_options.ts";

const base = ["stream", "--user-id", "pi", "--meeting-id", "standup"];

function stream(...args: string[]) {
  const parsed = parseCommandLine([...base, ...args]);
  if (!parsed.ok || parsed.command !== "stream") throw new Error(JSON.stringify(parsed));
  return parsed.options;
}

Deno.test("videocall-cli's flags parse to the same meaning, with its defaults", () => {
  const o = stream("--url", "https://meet.example.org:4433", "-v", "2", "-r", "640x480");
  assertEquals(o.source, { kind: "camera", device: "/dev/video2" });
  assertEquals([o.width, o.height, o.fps, o.bitrateKbps], [640, 480, 30, 500]);
  assertEquals([o.frameFormat, o.cpuUsed, o.codec, o.transport], ["NV12", 8, "vp9", "auto"]);
  assertEquals(o.keyframeIntervalSeconds, 1);
  assertEquals(o.displayName, "pi");
  assertEquals(o.audioDevice, undefined);
  assertEquals(o.stayOnServer, false, "chooses from the server pool unless told to stay");
  assertEquals(stream("--url", "http://x", "--stay-on-server").stayOnServer, true);
});

Deno.test("a ws:// URL means WebSocket; WebTransport cannot be forced onto it", () => {
  assertEquals(stream("--url", "ws://localhost:8080").transport, "websocket");
  const bad = parseCommandLine([...base, "--url", "ws://x", "--transport", "webtransport"]);
  assert(!bad.ok && bad.error.includes("cannot use WebTransport"));
});

Deno.test("sources: camera by index or path, test pattern, file", () => {
  assertEquals(cameraPath("0"), "/dev/video0");
  assertEquals(cameraPath("/dev/v4l/by-id/usb-cam"), "/dev/v4l/by-id/usb-cam");
  assertEquals(
    stream("--url", "http://x", "--debug-send-test-pattern").source.kind,
    "test-pattern",
  );
  assertEquals(stream("--url", "http://x", "--source", "file:/v/a.mp4").source, {
    kind: "file",
    path: "/v/a.mp4",
  });
  const both = parseCommandLine([
    ...base,
    "--url",
    "http://x",
    "--debug-send-test-pattern",
    "--source",
    "file:/a",
  ]); // deno-fmt-ignore
  assert(!both.ok && both.error.includes("exclude each other"));
});

Deno.test("odd or huge resolutions and out-of-range numbers are refused", () => {
  for (
    const [args, text] of [
      [["-r", "641x480"], "even sizes"],
      [["-r", "8192x4320"], "even sizes up to 4096"],
      [["--vp9-cpu-used", "9"], "--vp9-cpu-used must be a whole number from 0 to 8"],
      [["--bitrate-kbps", "1.5"], "--bitrate-kbps must be a whole number"],
      [["--frame-format", "MJPEG"], "--frame-format must be NV12 or YUYV"],
    ] as [string[], string][]
  ) {
    const parsed = parseCommandLine([...base, "--url", "http://x", ...args]);
    assert(!parsed.ok && parsed.error.includes(text), `${args}: ${JSON.stringify(parsed)}`);
  }
});

Deno.test("info asks for one listing", () => {
  assertEquals(parseCommandLine(["info", "--list-formats", "1"]), {
    ok: true,
    command: "info",
    request: { kind: "formats", camera: "/dev/video1" },
  });
  const none = parseCommandLine(["info"]);
  assert(!none.ok);
});
