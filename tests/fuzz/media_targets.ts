/**
 * Fuzz targets for the streamer's container readers: IVF (`cli/ivf.ts`, VP8/VP9 from ffmpeg,
 * with the key-frame checks of each frame) and Ogg (`cli/ogg.ts`, Opus from ffmpeg).
 *
 * A reader's contract: `push` returns what is complete or throws its own error type (`IvfError`,
 * `OggError`), nothing else; after that error the stream is given up. Frames and packets keep
 * their size limits; how the bytes are cut into chunks changes nothing; and what was read,
 * written out again, reads back the same.
 *
 * @module
 */
import {
  isVp8KeyFrame,
  isVp9KeyFrame,
  IvfError,
  type IvfFrame,
  type IvfHeader,
  IvfReader,
  MAX_IVF_FRAME_BYTES,
} from "../../cli/ivf.ts";
import {
  crc32,
  MAX_OGG_PACKET_BYTES,
  OggError,
  type OggPacket,
  oggPage,
  OggReader,
} from "../../cli/ogg.ts";
import { assertEquals } from "../support/assert.ts";
import {
  expect,
  expectThrownType,
  type FuzzTarget,
  mutateBytes,
  type Rng,
} from "../support/fuzz.ts";
import { chunksOf, concat, randomBytes } from "./values.ts";

/** An IVF file header (ffmpeg's layout: 32 bytes, little-endian). */
export function ivfHeader(header: IvfHeader): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x4b, 0x49, 0x46]); // DKIF
  view.setUint16(4, 0, true);
  view.setUint16(6, 32, true);
  for (let i = 0; i < 4; i++) out[8 + i] = header.fourcc.charCodeAt(i);
  view.setUint16(12, header.width, true);
  view.setUint16(14, header.height, true);
  view.setUint32(16, header.timebaseDenominator, true);
  view.setUint32(20, header.timebaseNumerator, true);
  return out;
}

/** One IVF frame: its 12-byte header (size, timestamp) and data. */
export function ivfFrame(frame: IvfFrame): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(12 + frame.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, frame.data.length, true);
  view.setBigUint64(4, frame.timestamp, true);
  out.set(frame.data, 12);
  return out;
}

// The start of a VP8 or VP9 frame, key or not, followed by noise.
function vpxFrame(rng: Rng): Uint8Array {
  const noise = randomBytes(rng, 60);
  switch (rng.below(3)) {
    case 0: // VP8 key frame: bit 0 clear, then the start code 9d 01 2a
      return concat([Uint8Array.of(rng.below(128) << 1, 0, 0, 0x9d, 0x01, 0x2a), noise]);
    case 1: // VP9: frame marker 2, a profile, show_existing_frame, frame_type
      return concat([Uint8Array.of(0x80 | rng.below(64)), noise]);
    default:
      return concat([Uint8Array.of(rng.below(256)), noise]);
  }
}

interface IvfRead {
  header?: IvfHeader;
  frames: IvfFrame[];
  error?: string;
}

function readIvf(chunks: Uint8Array[]): IvfRead {
  const reader = new IvfReader();
  const frames: IvfFrame[] = [];
  for (const chunk of chunks) {
    try {
      frames.push(...reader.push(chunk));
    } catch (error) {
      expectThrownType(error, [IvfError], "IvfReader.push");
      return { header: reader.header, frames, error: (error as Error).message };
    }
  }
  expect(reader.pending >= 0, "negative pending bytes");
  return { header: reader.header, frames };
}

/** The IVF reader, and the key-frame checks on every frame it reads. */
export const ivfTarget: FuzzTarget = {
  name: "cli.ivf",
  seeds: (rng) =>
    Array.from({ length: 24 }, () =>
      concat([
        ivfHeader({
          fourcc: rng.pick(["VP80", "VP90", "AV01"]),
          width: rng.below(0x10000),
          height: rng.below(0x10000),
          timebaseDenominator: rng.next(),
          timebaseNumerator: rng.next(),
        }),
        ...Array.from(
          { length: rng.below(6) },
          () => ivfFrame({ timestamp: rng.uint64(), data: vpxFrame(rng) }),
        ),
      ])),
  check(input) {
    const chunked = readIvf(chunksOf(input));
    const whole = readIvf([input.slice()]);
    expect(chunked.error === whole.error, "chunking changed the error");
    assertEquals(chunked.header, whole.header, "chunking changed the header");
    for (const frame of chunked.frames) {
      expect(
        frame.data.length >= 1 && frame.data.length <= MAX_IVF_FRAME_BYTES,
        `a frame of ${frame.data.length} bytes`,
      );
      expect(typeof isVp8KeyFrame(frame.data) === "boolean", "isVp8KeyFrame");
      expect(typeof isVp9KeyFrame(frame.data) === "boolean", "isVp9KeyFrame");
    }
    if (chunked.error !== undefined) return false;
    assertEquals(chunked.frames, whole.frames, "chunking changed the frames");
    if (chunked.header === undefined) return false;
    const again = readIvf([concat([ivfHeader(chunked.header), ...chunked.frames.map(ivfFrame)])]);
    assertEquals(again, { header: chunked.header, frames: chunked.frames }, "IVF round trip");
    return true;
  },
};

interface OggRead {
  packets: OggPacket[];
  error?: string;
}

function readOgg(chunks: Uint8Array[]): OggRead {
  const reader = new OggReader();
  const packets: OggPacket[] = [];
  for (const chunk of chunks) {
    try {
      packets.push(...reader.push(chunk));
    } catch (error) {
      expectThrownType(error, [OggError], "OggReader.push");
      return { packets, error: (error as Error).message };
    }
  }
  return { packets };
}

// Largest packet one page can hold: 255 segments of 255 bytes, the last one short.
const MAX_PACKET_IN_ONE_PAGE = 255 * 255 - 1;

/**
 * `bytes` with the CRC of every whole page that starts where the previous one ended set right,
 * so that a mutation of a header field, segment table or body reaches the code past the CRC.
 */
function fixOggCrcs(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let at = 0; at + 27 <= out.length;) {
    const segments = out[at + 26];
    if (at + 27 + segments > out.length) break;
    let body = 0;
    for (let i = 0; i < segments; i++) body += out[at + 27 + i];
    const end = at + 27 + segments + body;
    if (end > out.length) break;
    const page = out.subarray(at, end);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    view.setUint32(22, 0, true);
    view.setUint32(22, crc32(page), true);
    at = end;
  }
  return out;
}

/** The Ogg reader. */
export const oggTarget: FuzzTarget = {
  name: "cli.ogg",
  maxInputBytes: 4096,
  seeds: (rng) =>
    Array.from({ length: 24 }, () => {
      const serials = [rng.next(), rng.next()];
      const sequences = new Map<number, number>();
      return concat(Array.from({ length: rng.between(1, 5) }, () => {
        const serial = rng.chance(0.8) ? serials[0] : serials[1];
        const sequence = sequences.get(serial) ?? rng.below(3);
        sequences.set(serial, sequence + 1);
        return oggPage({
          serial,
          sequence,
          granule: BigInt.asIntN(64, rng.uint64()),
          packets: Array.from(
            { length: rng.below(4) },
            () => randomBytes(rng, rng.chance(0.9) ? 80 : 600),
          ),
          flags: rng.chance(0.2) ? 0x02 : 0,
        });
      }));
    }),
  mutate: (input, rng) => fixOggCrcs(mutateBytes(input, rng, input)),
  check(input) {
    const chunked = readOgg(chunksOf(input));
    const whole = readOgg([input.slice()]);
    expect(chunked.error === whole.error, "chunking changed the error");
    for (const packet of chunked.packets) {
      expect(packet.data.length <= MAX_OGG_PACKET_BYTES, `a packet of ${packet.data.length} bytes`);
    }
    if (chunked.error !== undefined) return false;
    assertEquals(chunked.packets, whole.packets, "chunking changed the packets");
    // Written again one packet a page, each page numbered on from 0 in its stream.
    const sequences = new Map<number, number>();
    const pages = chunked.packets.filter((p) => p.data.length <= MAX_PACKET_IN_ONE_PAGE).map(
      (p) => {
        const sequence = sequences.get(p.serial) ?? 0;
        sequences.set(p.serial, sequence + 1);
        return oggPage({ serial: p.serial, sequence, granule: p.granule, packets: [p.data] });
      },
    );
    assertEquals(
      readOgg([concat(pages)]),
      { packets: chunked.packets.filter((p) => p.data.length <= MAX_PACKET_IN_ONE_PAGE) },
      "Ogg round trip",
    );
    return chunked.packets.length > 0;
  },
};

/** Every container target. */
export const mediaTargets: FuzzTarget[] = [ivfTarget, oggTarget];
