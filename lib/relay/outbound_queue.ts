/**
 * The bounded queue between the relay and one receiver's transport, with the drop policy of
 * docs/ARCHITECTURE.md, "Slow receivers": when it is full, the oldest packet of the lowest class goes first (camera delta
 * frames, then screen deltas, then key frames, then heartbeats, then audio); control packets are
 * never dropped. Losing a video frame makes the rest of that stream undecodable until its next
 * key frame, so those delta frames are dropped too instead of wasting the receiver's bandwidth.
 *
 * @example
 * ```ts
 * import { OutboundQueue } from "./outbound_queue.ts";
 * import { PacketClass } from "./packet_class.ts";
 *
 * const drops: string[] = [];
 * const queue = new OutboundQueue({ maxPackets: 2, maxBytes: 1000 }, (_s, _c, reason) => drops.push(reason));
 * queue.push(new Uint8Array(10), PacketClass.VIDEO_DELTA, 1n);
 * queue.push(new Uint8Array(10), PacketClass.AUDIO, 2n);
 * queue.push(new Uint8Array(10), PacketClass.CONTROL, 0n);
 * if (queue.length !== 2 || drops[0] !== "queue_full") throw new Error("video should go first");
 * ```
 *
 * @module
 */
import { isDelta, isVideo, PacketClass } from "./packet_class.ts";

/** Why the queue dropped a packet (a Prometheus label). */
export type DropReason = "queue_full" | "stale_delta" | "too_late";

/** Called for every dropped packet, with the session id of the packet's sender. */
export type DropListener = (sender: bigint, cls: PacketClass, reason: DropReason) => void;

/** What {@linkcode OutboundQueue.push} did with a packet. */
export type PushResult = "queued" | "dropped" | "overflow";

/** A queued packet. */
export interface QueuedPacket {
  bytes: Uint8Array;
  /** The simulcast layer of a video packet (0 otherwise), for transports that group by it. */
  layer: number;
  cls: PacketClass;
  sender: bigint;
}

interface Entry extends QueuedPacket {
  dropped: boolean;
  atMs: number;
}

/** The queue's bounds. */
export interface QueueBounds {
  maxPackets: number;
  maxBytes: number;
  /** Video older than this when its turn comes is dropped: it would only add delay. */
  maxVideoAgeMs?: number;
}

// Bit per video stream of a sender in `#broken`.
function streamBit(cls: PacketClass): number {
  return cls === PacketClass.SCREEN_DELTA || cls === PacketClass.SCREEN_KEY ? 2 : 1;
}

/** A bounded, priority-aware FIFO for one receiver. */
export class OutboundQueue {
  readonly #bounds: QueueBounds;
  readonly #onDrop: DropListener;
  #entries: Entry[] = [];
  #head = 0;
  #count = 0;
  #bytes = 0;
  // Senders whose camera (bit 1) or screen (bit 2) stream lost a frame and awaits a key frame.
  readonly #broken = new Map<bigint, number>();

  constructor(bounds: QueueBounds, onDrop: DropListener) {
    this.#bounds = bounds;
    this.#onDrop = onDrop;
  }

  /** Packets waiting. */
  get length(): number {
    return this.#count;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether a packet of `cls` from `sender` would be dropped on arrival because its stream is
   * broken; lets the caller skip work for it.
   */
  isStale(cls: PacketClass, sender: bigint): boolean {
    return isDelta(cls) && ((this.#broken.get(sender) ?? 0) & streamBit(cls)) !== 0;
  }

  /**
   * Records that a frame of `sender`'s stream was lost before reaching this queue (for example
   * by the transport), so its delta frames are dropped until the next key frame.
   */
  markBroken(cls: PacketClass, sender: bigint): void {
    if (isVideo(cls)) this.#broken.set(sender, (this.#broken.get(sender) ?? 0) | streamBit(cls));
  }

  /**
   * Records a packet that goes to the receiver, queued or not: a key frame repairs its stream,
   * so the stream's delta frames are wanted again.
   */
  noteSent(cls: PacketClass, sender: bigint): void {
    if (cls !== PacketClass.VIDEO_KEY && cls !== PacketClass.SCREEN_KEY) return;
    const bits = (this.#broken.get(sender) ?? 0) & ~streamBit(cls);
    if (bits === 0) this.#broken.delete(sender);
    else this.#broken.set(sender, bits);
  }

  /**
   * Appends a packet, dropping by policy when the bounds are exceeded. Returns `"overflow"`
   * when only control packets are left and the bounds are still exceeded: the receiver cannot
   * keep up and should be disconnected.
   */
  push(bytes: Uint8Array, cls: PacketClass, sender: bigint, nowMs = 0, layer = 0): PushResult {
    if (this.isStale(cls, sender)) {
      this.#onDrop(sender, cls, "stale_delta");
      return "dropped";
    }
    this.noteSent(cls, sender);
    this.#entries.push({ bytes, cls, sender, layer, dropped: false, atMs: nowMs });
    this.#count++;
    this.#bytes += bytes.length;
    let result: PushResult = "queued";
    while (this.#count > this.#bounds.maxPackets || this.#bytes > this.#bounds.maxBytes) {
      const victim = this.#pickVictim();
      if (victim === undefined) return "overflow";
      if (victim === this.#entries[this.#entries.length - 1]) result = "dropped";
      this.#drop(victim, "queue_full");
      if (isVideo(victim.cls)) this.#purgeStream(victim);
    }
    return result;
  }

  /**
   * Removes and returns the oldest packet still queued. Given the time, video that waited
   * longer than `maxVideoAgeMs` is dropped on the way (with the rest of its stream's deltas).
   */
  shift(nowMs?: number): QueuedPacket | undefined {
    const maxAge = this.#bounds.maxVideoAgeMs;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head++];
      if (entry.dropped) continue;
      if (
        nowMs !== undefined && maxAge !== undefined && isVideo(entry.cls) &&
        nowMs - entry.atMs > maxAge
      ) {
        this.#drop(entry, "too_late");
        this.#purgeStream(entry);
        continue;
      }
      this.#count--;
      this.#bytes -= entry.bytes.length;
      this.#compact();
      return entry;
    }
    this.#compact();
    return undefined;
  }

  /** Forgets everything, e.g. when the receiver is gone. */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#count = 0;
    this.#bytes = 0;
    this.#broken.clear();
  }

  #pickVictim(): Entry | undefined {
    let victim: Entry | undefined;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry.dropped || entry.cls === PacketClass.CONTROL) continue;
      if (victim === undefined || entry.cls < victim.cls) {
        victim = entry;
        if (victim.cls === PacketClass.VIDEO_DELTA) break;
      }
    }
    return victim;
  }

  #drop(entry: Entry, reason: DropReason): void {
    entry.dropped = true;
    this.#count--;
    this.#bytes -= entry.bytes.length;
    this.#onDrop(entry.sender, entry.cls, reason);
  }

  // After losing `lost`, the queued delta frames of its stream cannot be decoded: drop them and
  // keep dropping until a key frame of that stream arrives.
  #purgeStream(lost: Entry): void {
    const bit = streamBit(lost.cls);
    // The frames after the lost one, up to the stream's next queued key frame, cannot be
    // decoded; from that key frame on they can. Entries are in arrival order.
    let i = this.#entries.indexOf(lost) + 1;
    for (; i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry.dropped || entry.sender !== lost.sender || streamBit(entry.cls) !== bit) continue;
      if (!isDelta(entry.cls)) return; // A newer key frame is queued: the stream recovers there.
      this.#drop(entry, "stale_delta");
    }
    this.#broken.set(lost.sender, (this.#broken.get(lost.sender) ?? 0) | bit);
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
