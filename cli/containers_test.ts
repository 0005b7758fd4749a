/**
 * The IVF and Ogg readers on real ffmpeg output (Debian's ffmpeg, as the CLI streamer runs it),
 * fed in awkward chunk sizes, and on corrupt input.
 */
import { assert, assertEquals } from "../tests/support/assert.ts";
import { isVp8KeyFrame, isVp9KeyFrame, IvfError, type IvfFrame, IvfReader } from "./ivf.ts";
import { ffmpegTestsIgnored } from "../tests/support/streamer.ts";
import { OPUS_ENCODE_ARGS, vpxEncodeArgs } from "./ffmpeg.ts";
import { crc32, OggError, type OggPacket, oggPage, OggReader } from "./ogg.ts";

const ignore = ffmpegTestsIgnored();

async function ffmpeg(args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", ...args, "pipe:1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** Feeds `bytes` in chunks of 1 to 97 bytes, the way a pipe may deliver them. */
function chunked<T>(bytes: Uint8Array, push: (chunk: Uint8Array) => T[]): T[] {
  const out: T[] = [];
  let size = 1;
  for (let at = 0; at < bytes.length; at += size, size = (size * 7) % 97 + 1) {
    out.push(...push(bytes.slice(at, at + size)));
  }
  return out;
}

/** Ten frames of the test pattern, encoded exactly as the streamer encodes, a key frame every 5. */
function ivfArgs(codec: "vp9" | "vp8"): string[] {
  const encoding = {
    codec,
    width: 160,
    height: 120,
    fps: 10,
    bitrateKbps: 200,
    cpuUsed: 8,
    keyframeIntervalSeconds: 0.5,
  };
  return ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-frames:v", "10"]
    .concat(vpxEncodeArgs(encoding));
}

Deno.test({
  name: "IVF from ffmpeg's VP9 encoder: header, every frame, key frames where -g puts them",
  ignore,
  async fn() {
    const bytes = await ffmpeg(ivfArgs("vp9"));
    const reader = new IvfReader();
    const frames: IvfFrame[] = chunked(bytes, (c) => reader.push(c));
    assertEquals(reader.header?.fourcc, "VP90");
    assertEquals([reader.header?.width, reader.header?.height], [160, 120]);
    assertEquals(frames.length, 10);
    assertEquals(reader.pending, 0);
    assertEquals(frames.map((f) => isVp9KeyFrame(f.data)), [
      true,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
    ]); // deno-fmt-ignore
    assertEquals(frames.map((f) => Number(f.timestamp)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  },
});

Deno.test({
  name: "IVF from ffmpeg's VP8 encoder: key frames recognised",
  ignore,
  async fn() {
    const reader = new IvfReader();
    const frames = reader.push(await ffmpeg(ivfArgs("vp8")));
    assertEquals(reader.header?.fourcc, "VP80");
    assertEquals(frames.map((f) => isVp8KeyFrame(f.data)).filter(Boolean).length, 2);
    assert(isVp8KeyFrame(frames[0].data));
  },
});

Deno.test("IVF: not IVF, an absurd frame size and a bad header version are clear errors", () => {
  assertThrowsIvf(
    () => new IvfReader().push(new TextEncoder().encode("GIF89a" + " ".repeat(40))),
    'not "DKIF"',
  );
  const header = new Uint8Array(32);
  header.set([0x44, 0x4b, 0x49, 0x46, 0, 0, 32, 0, 0x56, 0x50, 0x39, 0x30]);
  const reader = new IvfReader();
  reader.push(header);
  const huge = new Uint8Array(12);
  new DataView(huge.buffer).setUint32(0, 0xffffffff, true);
  assertThrowsIvf(() => reader.push(huge), "IVF frame size 4294967295 is out of range");
  const v1 = header.slice();
  v1[4] = 1;
  assertThrowsIvf(() => new IvfReader().push(v1), "Unsupported IVF header: version 1");
  // A frame cut short is not handed out: it waits for the rest.
  const ok = new IvfReader();
  ok.push(header);
  const partial = new Uint8Array(12 + 5);
  partial[0] = 10;
  assertEquals(ok.push(partial), []);
  assertEquals(ok.pending, 17);
});

function assertThrowsIvf(fn: () => unknown, text: string): void {
  try {
    fn();
  } catch (error) {
    assert(error instanceof IvfError, String(error));
    assert(error.message.includes(text), error.message);
    return;
  }
  throw new Error(`expected an IvfError with "${text}"`);
}

/** Half a second of a 440 Hz tone, encoded exactly as the streamer encodes audio. */
async function opusOgg(): Promise<Uint8Array> {
  return await ffmpeg([
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "0.5"],
    ...OPUS_ENCODE_ARGS,
  ]);
}

Deno.test({
  name: "Ogg Opus from ffmpeg: OpusHead, OpusTags, then one 20 ms packet per frame",
  ignore,
  async fn() {
    const bytes = await opusOgg();
    const reader = new OggReader();
    const all: OggPacket[] = chunked(bytes, (c) => reader.push(c));
    const text = (p: OggPacket) => new TextDecoder().decode(p.data.subarray(0, 8));
    assertEquals(text(all[0]), "OpusHead");
    assertEquals(text(all[1]), "OpusTags");
    const audio = all.slice(2);
    assert(audio.length >= 24 && audio.length <= 27, `${audio.length} audio packets`);
    // TOC byte: configuration 16..19 is CELT-only 20 ms? Any config with frame size 20 ms:
    // codes 3, 7, 11, 15, 19, 23, 27, 31 (last of each group of four) are 20 ms (RFC 6716 §3.1).
    for (const p of audio) assertEquals((p.data[0] >> 3) % 4, 3, "a 20 ms Opus frame");
  },
});

Deno.test({
  name: "Ogg: a flipped bit, a missing page and a foreign stream are clear errors",
  ignore,
  async fn() {
    const bytes = await opusOgg();
    const flipped = bytes.slice();
    flipped[200] ^= 0x10;
    assertThrowsOgg(() => new OggReader().push(flipped), "is corrupt: CRC");
    // Drop the third page.
    const starts: number[] = [];
    for (let i = 0; i + 4 <= bytes.length; i++) {
      if (
        bytes[i] === 0x4f && bytes[i + 1] === 0x67 && bytes[i + 2] === 0x67 && bytes[i + 3] === 0x53
      ) {
        starts.push(i);
      }
    }
    const gap = new Uint8Array([...bytes.subarray(0, starts[2]), ...bytes.subarray(starts[3])]);
    assertThrowsOgg(() => new OggReader().push(gap), "is missing (got 3)");
    assertThrowsOgg(() => new OggReader().push(new Uint8Array(40)), "capture pattern");
  },
});

Deno.test("Ogg: packets spanning pages join; a cut-off packet is an error", () => {
  const big = new Uint8Array(600).map((_, i) => i & 0xff);
  // 600 bytes on one page: lacing 255, 255, 90.
  const one = new OggReader().push(
    oggPage({ serial: 7, sequence: 0, granule: 960n, packets: [big] }),
  );
  assertEquals(one.length, 1);
  assertEquals(one[0].data, big);
  assertEquals(one[0].granule, 960n);
  // A page whose only segment is 255 bytes: the packet goes on in the next page.
  const open = (sequence: number) => {
    const page = oggPage({ serial: 7, sequence, granule: -1n, packets: [big.subarray(0, 255)] });
    const cut = page.slice(0, 27 + 1 + 255); // drop the closing 0 lacing value
    cut[26] = 1;
    cut.set(page.subarray(29, 29 + 255), 28);
    new DataView(cut.buffer).setUint32(22, 0, true);
    new DataView(cut.buffer).setUint32(22, crc32(cut), true);
    return cut;
  };
  const rest = big.subarray(255);
  const joined = new OggReader();
  assertEquals(joined.push(open(0)), []);
  const next = oggPage({ serial: 7, sequence: 1, granule: 0n, packets: [rest], flags: 1 });
  assertEquals(joined.push(next).map((p) => p.data), [big]);
  const broken = new OggReader();
  broken.push(open(0));
  const notContinued = oggPage({ serial: 7, sequence: 1, granule: 0n, packets: [rest] });
  assertThrowsOgg(() => broken.push(notContinued), "was cut off");
});

function assertThrowsOgg(fn: () => unknown, text: string): void {
  try {
    fn();
  } catch (error) {
    assert(error instanceof OggError, String(error));
    assert(error.message.includes(text), error.message);
    return;
  }
  throw new Error(`expected an OggError with "${text}"`);
}
