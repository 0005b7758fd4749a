/**
 * One load-generator process of `deno task load`: reads its plan (JSON) on stdin, joins its
 * participants at the planned rate, publishes and receives as pages would — VIEWPORT and
 * LAYER_PREFERENCE from the layout and the relay's ACTIVE_SPEAKERS, simulcast layers stopped
 * when LAYER_HINT says nobody watches them — and prints its cumulative figures as one JSON line
 * a second (a `WorkerReport`). Ends by itself at the plan's end.
 *
 * @module
 */
import WebSocket from "ws";
import {
  decodeActiveSpeakersPacket,
  decodeLayerHintPacket,
  decodeMeetingPacket,
  encodeMediaPacket,
} from "../../lib/protocol/codec.ts";
import {
  MediaKind,
  MediaType,
  MeetingEventType,
  PacketType,
  type PacketWrapper,
} from "../../lib/protocol/packets.ts";
import { readLayerHint, Selection } from "../../lib/client/selection.ts";
import { encodeWrapperFast } from "../../lib/protocol/wire.ts";
import { audioTemplate, type PacketTemplate, videoTemplate } from "../media_packets.ts";
import { LatencyHistogram } from "../stats.ts";
import { webTransportInfo, WtClient } from "../../tests/support/wt_client.ts";
import {
  isSpeaking,
  type PlannedParticipant,
  selectionFor,
  type SyntheticLayer,
  syntheticLayers,
  type WorkerPlan,
  type WorkerReport,
} from "./plan.ts";
import { scanMedia, scanWrapper } from "./scan.ts";

/** Audio levels sent (-dBov plus one): a voice, and near-silence. */
const LOUD = 11;
const QUIET = 101;
/** A key frame every this many seconds per layer. */
const KEY_EVERY_S = 2;
/** Gaps up to this many packets count as loss (longer ones: the stream was off, by design). */
const MAX_GAP = { video: 30, audio: 50 };
/** Video waits while this much is queued on a WebSocket (as a page skips frames). */
const MAX_BUFFERED_BYTES = 1 << 20;
const TICK_MS = 5;

const encoder = new TextEncoder();
const plan: WorkerPlan = JSON.parse(await new Response(Deno.stdin.readable).text());
const now = () => performance.timeOrigin + performance.now();

const report: WorkerReport = {
  worker: plan.worker,
  atMs: 0,
  joinsTried: 0,
  joined: 0,
  failed: 0,
  failures: {},
  connected: 0,
  joinMs: new LatencyHistogram().snapshot(),
  firstMediaMs: new LatencyHistogram().snapshot(),
  received: { video: [0, 0, 0], audio: 0, control: 0, videoBytes: 0, audioBytes: 0 },
  sent: { video: 0, audio: 0, videoSkipped: 0 },
  videoLatency: new LatencyHistogram().snapshot(),
  audioLatency: new LatencyHistogram().snapshot(),
  lost: { video: 0, audio: 0 },
  closedEarly: {},
  done: false,
};
const joinMs = new LatencyHistogram();
const firstMediaMs = new LatencyHistogram();
const videoLatency = new LatencyHistogram();
const audioLatency = new LatencyHistogram();
let stopping = false;

interface LayerState {
  spec: SyntheticLayer;
  key: PacketTemplate;
  delta: PacketTemplate;
  nextDueMs: number;
  sequence: number;
  needKey: boolean;
}

/** One synthetic participant. */
class Participant {
  readonly plan: PlannedParticipant;
  sessionId = 0n;
  connected = false;
  assignedAtMs = 0;
  firstMedia = false;
  /** Announced others, in join order (session ids as text). */
  readonly others: string[] = [];
  dominant: string | undefined;
  maxLayer = Infinity;
  /** Whether anybody shows our camera (LAYER_HINT). */
  watched = true;
  readonly layers: LayerState[] = [];
  readonly audio: { loud: PacketTemplate; quiet: PacketTemplate; nextDueMs: number; seq: number };
  readonly lastSequence = new Map<string, number>();
  readonly selection: Selection;
  /** Our flags, sent every second as a page does (receivers forget the silent). */
  readonly heartbeat: Uint8Array;
  nextHeartbeatMs = 0;
  #ws: WebSocket | undefined;
  /** Listeners use Deno's own WebSocket: cheaper to receive with (see `#joinNative`). */
  #native: globalThis.WebSocket | undefined;
  #wt: WtClient | undefined;
  #selectionDue = false;

  constructor(p: PlannedParticipant) {
    this.plan = p;
    if (p.video) {
      syntheticLayers(plan.simulcast).forEach((spec, layer) => {
        const options = { bytes: spec.bytes, layer, kind: MediaKind.VIDEO };
        this.layers.push({
          spec,
          key: videoTemplate(p.userId, true, options),
          delta: videoTemplate(p.userId, false, options),
          nextDueMs: 0,
          sequence: 0,
          needKey: true,
        });
      });
    }
    this.audio = {
      loud: audioTemplate(p.userId, { kind: MediaKind.AUDIO, audioLevel: LOUD }),
      quiet: audioTemplate(p.userId, { kind: MediaKind.AUDIO, audioLevel: QUIET }),
      nextDueMs: 0,
      seq: 0,
    };
    this.selection = new Selection((type, data) => this.#sendControl(type, data));
    this.heartbeat = encodeWrapperFast({
      packetType: PacketType.MEDIA,
      userId: encoder.encode(p.userId),
      data: encodeMediaPacket({
        mediaType: MediaType.HEARTBEAT,
        userId: encoder.encode(p.userId),
        data: new Uint8Array(0),
        frameType: "",
        timestamp: 0,
        duration: 0,
        heartbeatMetadata: {
          videoEnabled: p.video,
          audioEnabled: p.audio,
          screenEnabled: false,
          isSpeaking: false,
        },
      }),
      sessionId: 0n,
    });
  }

  async join(): Promise<void> {
    report.joinsTried++;
    const started = now();
    try {
      if (plan.transport === "ws") await this.#joinWs();
      else await this.#joinWt();
      joinMs.record(this.assignedAtMs - started);
      report.joined++;
    } catch (error) {
      report.failed++;
      const reason = error instanceof Error ? error.message : String(error);
      report.failures[reason] = (report.failures[reason] ?? 0) + 1;
    }
  }

  #lobby(base: string): string {
    const query = this.plan.token ? `?token=${encodeURIComponent(this.plan.token)}` : "";
    const user = encodeURIComponent(this.plan.userId);
    return `${base}/lobby/${user}/${encodeURIComponent(plan.room)}${query}`;
  }

  // Deno's WebSocket parses frames natively, which costs the generator less per received packet
  // than `ws`; it leaves Nagle's algorithm on (docs/PROTOCOL.md, "Deno"), which only delays what
  // a listener sends (heartbeats, viewports), not what it measures.
  #joinNative(): Promise<void> {
    const base = this.plan.url.replace(/^http/, "ws").replace(/\/+$/, "");
    const ws = new globalThis.WebSocket(this.#lobby(base));
    ws.binaryType = "arraybuffer";
    this.#native = ws;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("no session within 10 s"));
        ws.close();
      }, 10_000);
      ws.onmessage = (event) => {
        const first = this.sessionId === 0n;
        this.#onBytes(new Uint8Array(event.data as ArrayBuffer));
        if (first && this.sessionId !== 0n) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.onerror = (event) => {
        clearTimeout(timer);
        reject(new Error((event as ErrorEvent).message || "WebSocket error"));
      };
      ws.onclose = (event) => {
        clearTimeout(timer);
        if (this.sessionId === 0n) reject(new Error(`closed ${event.code} ${event.reason}`));
        this.#closed(event.code, event.reason);
      };
    });
  }

  #joinWs(): Promise<void> {
    if (!this.plan.video && !this.plan.audio) return this.#joinNative();
    const base = this.plan.url.replace(/^http/, "ws").replace(/\/+$/, "");
    const ws = new WebSocket(this.#lobby(base), { perMessageDeflate: false });
    this.#ws = ws;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("no session within 10 s"));
        ws.terminate();
      }, 10_000);
      ws.on("message", (data: Uint8Array) => {
        const first = this.sessionId === 0n;
        this.#onBytes(data);
        if (first && this.sessionId !== 0n) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.once("unexpected-response", (_req: unknown, res: { statusCode: number }) => {
        clearTimeout(timer);
        reject(new Error(`HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once("error", (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.on("close", (code: number, reason: Uint8Array) => {
        this.#closed(code, new TextDecoder().decode(reason));
      });
    });
  }

  async #joinWt(): Promise<void> {
    const info = await webTransportInfo(this.plan.url.replace(/^ws/, "http"));
    if (!info.available) throw new Error("the server offers no WebTransport");
    const query = this.plan.token ? `?token=${encodeURIComponent(this.plan.token)}` : "";
    const client = await WtClient.connect(info, this.plan.userId, plan.room, query, {
      waitForSession: false,
    });
    this.#wt = client;
    client.keep = false;
    const assigned = Promise.withResolvers<void>();
    const handle = (r: { wrapper: PacketWrapper }) => {
      this.#onWrapper(r.wrapper, r.wrapper.data);
      if (this.sessionId !== 0n) assigned.resolve();
    };
    for (const r of client.received.splice(0)) handle(r);
    client.onPacket = handle;
    client.closed.then((info) => this.#closed(info.code, info.reason));
    const timer = setTimeout(() => assigned.reject(new Error("no session within 10 s")), 10_000);
    try {
      await assigned.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  #closed(code: number, reason: string): void {
    if (this.connected) report.connected--;
    this.connected = false;
    const key = reason ? `${code} ${reason}` : String(code);
    if (!stopping) report.closedEarly[key] = (report.closedEarly[key] ?? 0) + 1;
  }

  #onBytes(bytes: Uint8Array): void {
    const w = scanWrapper(bytes);
    if (w === undefined) return;
    if (w.packetType === PacketType.MEDIA) {
      return this.#onMedia(w.sessionId, w.layer, bytes, w.dataStart, w.dataEnd);
    }
    this.#onControl(w.packetType, w.sessionId, bytes.subarray(w.dataStart, w.dataEnd));
  }

  #onWrapper(wrapper: PacketWrapper, data: Uint8Array): void {
    if (wrapper.packetType === PacketType.MEDIA) {
      return this.#onMedia(wrapper.sessionId, wrapper.simulcastLayerId ?? 0, data, 0, data.length);
    }
    this.#onControl(wrapper.packetType, wrapper.sessionId, data);
  }

  #onMedia(from: bigint, layer: number, bytes: Uint8Array, start: number, end: number): void {
    const m = scanMedia(bytes, start, end);
    if (m === undefined) return;
    const t = now();
    const isVideo = m.mediaType === MediaType.VIDEO;
    const isAudio = m.mediaType === MediaType.AUDIO;
    if (!isVideo && !isAudio) return;
    if (!this.firstMedia) {
      this.firstMedia = true;
      firstMediaMs.record(t - this.assignedAtMs);
      if (this.plan.index === plan.lastIndex) {
        report.lastJoinerFirstMediaMs = t - this.assignedAtMs;
      }
    }
    if (t < plan.measureFromMs || t >= plan.endAtMs) return;
    const size = end - start;
    if (isVideo) {
      report.received.video[Math.min(layer, 2)]++;
      report.received.videoBytes += size;
      videoLatency.record(t - m.timestamp);
    } else {
      report.received.audio++;
      report.received.audioBytes += size;
      audioLatency.record(t - m.timestamp);
    }
    if (m.sequence >= 0) {
      const key = `${from}:${m.mediaType}:${layer}`;
      const last = this.lastSequence.get(key);
      if (last === undefined || m.sequence > last) {
        const gap = last === undefined ? 0 : m.sequence - last - 1;
        if (gap > 0 && gap <= (isVideo ? MAX_GAP.video : MAX_GAP.audio)) {
          if (isVideo) report.lost.video += gap;
          else report.lost.audio += gap;
        }
        this.lastSequence.set(key, m.sequence);
      }
    }
  }

  #onControl(packetType: number, from: bigint, data: Uint8Array): void {
    const t = now();
    if (t >= plan.measureFromMs && t < plan.endAtMs) report.received.control++;
    switch (packetType) {
      case PacketType.SESSION_ASSIGNED:
        this.sessionId = from;
        this.assignedAtMs = t;
        this.connected = true;
        report.connected++;
        return;
      case PacketType.MEETING: {
        const m = decodeMeetingPacket(data);
        if (!m.ok) return;
        const id = String(m.value.sessionId);
        if (m.value.eventType === MeetingEventType.PARTICIPANT_JOINED) {
          if (m.value.sessionId !== this.sessionId && !this.others.includes(id)) {
            this.others.push(id);
            this.#scheduleSelection();
          }
        } else if (m.value.eventType === MeetingEventType.PARTICIPANT_LEFT) {
          const i = this.others.indexOf(id);
          if (i >= 0) {
            this.others.splice(i, 1);
            this.#scheduleSelection();
          }
        }
        return;
      }
      case PacketType.ACTIVE_SPEAKERS: {
        const ranked = decodeActiveSpeakersPacket(data);
        if (!ranked.ok) return;
        const dominant = ranked.value.dominant === 0n ? undefined : String(ranked.value.dominant);
        if (dominant !== this.dominant && dominant !== String(this.sessionId)) {
          this.dominant = dominant;
          this.#scheduleSelection();
        }
        return;
      }
      case PacketType.LAYER_HINT: {
        const hint = decodeLayerHintPacket(data);
        if (hint.ok && from === this.sessionId) {
          const read = readLayerHint(hint.value);
          this.maxLayer = read.video;
          this.watched = read.watched.video;
        }
        return;
      }
    }
  }

  // Joins come in bursts of announcements: decide once they settled.
  #scheduleSelection(): void {
    if (this.#selectionDue) return;
    this.#selectionDue = true;
    setTimeout(() => {
      this.#selectionDue = false;
      if (!this.connected) return;
      const wanted = selectionFor(plan.layout, this.others, this.dominant);
      // An empty viewport would mean "everyone": with nobody to show, name only ourselves.
      this.selection.setViewport(
        wanted.viewport.length > 0 ? wanted.viewport : [String(this.sessionId)],
      );
      this.selection.setLayers(wanted.layers);
    }, 50);
  }

  #sendControl(type: number, data: Uint8Array): boolean {
    if (!this.connected) return false;
    this.#send(encodeControl(type, data, this.plan.userId));
    return true;
  }

  #send(bytes: Uint8Array): void {
    if (this.#ws !== undefined) this.#ws.send(bytes);
    else if (this.#native !== undefined) this.#native.send(bytes.slice());
    else this.#wt?.sendRaw(bytes.slice());
  }

  /** Sends whatever media is due by `t`. */
  tick(t: number): void {
    if (!this.connected) return;
    if (t >= this.nextHeartbeatMs) {
      this.nextHeartbeatMs = t + 1000;
      this.#send(this.heartbeat);
    }
    for (const [index, layer] of this.layers.entries()) {
      if (t < layer.nextDueMs) continue;
      const interval = 1000 / layer.spec.fps;
      layer.nextDueMs = t - layer.nextDueMs > interval ? t + interval : layer.nextDueMs + interval;
      // The base layer always; the others only while somebody watches them.
      const busy = (this.#ws?.bufferedAmount ?? 0) > MAX_BUFFERED_BYTES;
      if (!this.watched || (index > 0 && index > this.maxLayer) || busy) {
        layer.needKey = true;
        report.sent.videoSkipped++;
        continue;
      }
      const key = layer.needKey || layer.sequence % (layer.spec.fps * KEY_EVERY_S) === 0;
      layer.needKey = false;
      this.#send((key ? layer.key : layer.delta).stamp(t, layer.sequence++));
      report.sent.video++;
    }
    if (this.plan.audio && t >= this.audio.nextDueMs) {
      this.audio.nextDueMs = t - this.audio.nextDueMs > 20 ? t + 20 : this.audio.nextDueMs + 20;
      const loud = isSpeaking(
        this.plan.audioIndex,
        plan.audioPublishers,
        plan.speakers,
        Date.now(),
      );
      this.#send((loud ? this.audio.loud : this.audio.quiet).stamp(t, this.audio.seq++));
      report.sent.audio++;
    }
  }

  async close(): Promise<void> {
    this.selection.close();
    if (this.#ws !== undefined) {
      const ws = this.#ws;
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
        ws.close(1000, "load test over");
        await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
        ws.terminate();
      }
    }
    const native = this.#native;
    if (native !== undefined && native.readyState <= globalThis.WebSocket.OPEN) {
      const closed = new Promise<void>((resolve) =>
        native.addEventListener("close", () => resolve())
      );
      native.close(1000, "load test over");
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
    }
    if (this.#wt !== undefined) {
      await Promise.race([this.#wt.close(), new Promise((r) => setTimeout(r, 2000))]);
    }
  }
}

/** A control packet (VIEWPORT, LAYER_PREFERENCE) in its wrapper. */
function encodeControl(type: number, data: Uint8Array, userId: string): Uint8Array {
  return encodeWrapperFast({
    packetType: type,
    userId: encoder.encode(userId),
    data,
    sessionId: 0n,
  });
}

const participants = plan.participants.map((p) => new Participant(p));

function writeReport(done: boolean): void {
  report.atMs = Date.now();
  report.joinMs = joinMs.snapshot();
  report.firstMediaMs = firstMediaMs.snapshot();
  report.videoLatency = videoLatency.snapshot();
  report.audioLatency = audioLatency.snapshot();
  report.done = done;
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(report) + "\n"));
}

const ticker = setInterval(() => {
  const t = now();
  for (const p of participants) p.tick(t);
}, TICK_MS);
const reporter = setInterval(() => writeReport(false), 1000);

// Joins at the planned pace, not waiting for each other (a slow join must not slow the rate).
const joins: Promise<void>[] = [];
for (const [i, p] of participants.entries()) {
  const at = plan.startAtMs + i * plan.joinIntervalMs;
  const wait = at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  joins.push(p.join());
}
await Promise.allSettled(joins);
const left = plan.endAtMs - Date.now();
if (left > 0) await new Promise((r) => setTimeout(r, left));
stopping = true;
clearInterval(ticker);
await Promise.allSettled(participants.map((p) => p.close()));
clearInterval(reporter);
writeReport(true);
Deno.exit(0);
