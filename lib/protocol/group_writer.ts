/**
 * Writes tracks of packets onto grouped WebTransport streams (`wt_groups.ts`): each track has at
 * most one open stream, its current group; packets are written to it length-prefixed, in order;
 * starting a new group (at a key frame) ends the current one. A group whose writes have all been
 * taken by the connection is finished at once. One with writes still waiting is finished after
 * them — unless the oldest has waited {@linkcode STALE_GROUP_MS} or more, at the new key frame or
 * later: then the connection has fallen behind, and the group is reset, so that the peer skips to
 * the fresh key frame instead of working through stale frames. The server and the client library
 * both use it; what a track is, and when a group starts, is theirs to say.
 *
 * @example
 * ```ts
 * import { GroupWriter } from "./group_writer.ts";
 *
 * const chunks: Uint8Array[][] = [];
 * const writer = new GroupWriter(async () => {
 *   const stream: Uint8Array[] = [];
 *   chunks.push(stream);
 *   return new WritableStream<Uint8Array>({ write: (c) => void stream.push(c) }).getWriter();
 * }, () => {});
 * writer.write(1, 0, new Uint8Array([7]), 0);
 * writer.startGroup(1, 0);
 * writer.write(1, 0, new Uint8Array([8]), 0);
 * await new Promise((r) => setTimeout(r, 0));
 * if (chunks.length !== 2) throw new Error("a key frame opens a second stream");
 * ```
 *
 * @module
 */
import { encodeFrame } from "./framing.ts";
import { CONTROL_TRACK, encodeGroupHeader } from "./wt_groups.ts";

/**
 * Opens a unidirectional stream with WebTransport's own stream header written (higher
 * `sendOrder` goes first), waiting for the peer's stream credit.
 */
export type StreamOpener = (sendOrder: number) => Promise<WritableStreamDefaultWriter<Uint8Array>>;

/** Why packets were lost: their group was reset, or the stream failed under them. */
export type GroupLoss = "abandoned" | "stream_failed";

/**
 * A replaced group whose oldest waiting write is this old, in ms, has fallen behind and is reset.
 * Deno and browsers take a write once QUIC has buffered it, so a write waits only when the
 * connection's send window is full: a fifth of a second of that is well behind.
 */
export const STALE_GROUP_MS = 200;

interface Group {
  writer: Promise<WritableStreamDefaultWriter<Uint8Array>>;
  /** When each write not yet taken by the connection was made, oldest first. */
  waiting: number[];
  abandoned: boolean;
}

interface Track {
  group: Group | undefined;
  lastMs: number;
}

/** Grouped streams towards one peer. */
export class GroupWriter {
  readonly #open: StreamOpener;
  readonly #onLoss: (reason: GroupLoss, count: number) => void;
  readonly #tracks = new Map<number, Track>();
  // Replaced groups still finishing their writes.
  readonly #draining = new Set<Group>();
  #bufferedBytes = 0;
  #openGroups = 0;
  /** Groups opened so far (each one stream). */
  groupsOpened = 0;

  constructor(open: StreamOpener, onLoss: (reason: GroupLoss, count: number) => void) {
    this.#open = open;
    this.#onLoss = onLoss;
  }

  /** Bytes written and not yet taken by the connection. */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Streams open now. */
  get openGroups(): number {
    return this.#openGroups;
  }

  /** Writes a packet to `track`'s current group, opening one (with `sendOrder`) if none is. */
  write(track: number, sendOrder: number, packet: Uint8Array, nowMs: number): void {
    let state = this.#tracks.get(track);
    if (state === undefined) this.#tracks.set(track, state = { group: undefined, lastMs: nowMs });
    state.lastMs = nowMs;
    const group = state.group ?? (state.group = this.#openGroup(track, sendOrder));
    const frame = encodeFrame(packet);
    group.waiting.push(nowMs);
    this.#bufferedBytes += frame.length;
    group.writer.then((writer) => writer.write(frame)).then(
      () => {},
      () => {
        if (!group.abandoned) this.#onLoss("stream_failed", 1);
      },
    ).finally(() => {
      group.waiting.shift();
      this.#bufferedBytes -= frame.length;
    });
    if (this.#draining.size > 0) this.#reap(nowMs);
  }

  /**
   * Ends `track`'s current group (if any), so that its next packet opens a new one: finished, or
   * reset if it fell behind.
   */
  startGroup(track: number, nowMs: number): void {
    const state = this.#tracks.get(track);
    const group = state?.group;
    if (state === undefined || group === undefined) return;
    state.group = undefined;
    this.#openGroups--;
    if (group.waiting.length > 0 && nowMs - group.waiting[0] >= STALE_GROUP_MS) {
      this.#reset(group);
      return;
    }
    if (group.waiting.length > 0) this.#draining.add(group);
    group.writer.then((w) => w.close()).catch(() => {});
  }

  // Resets the replaced groups that are still finishing and fell behind meanwhile.
  #reap(nowMs: number): void {
    for (const group of this.#draining) {
      if (group.waiting.length === 0) this.#draining.delete(group);
      else if (nowMs - group.waiting[0] >= STALE_GROUP_MS) this.#reset(group);
    }
  }

  #reset(group: Group): void {
    this.#draining.delete(group);
    group.abandoned = true;
    this.#onLoss("abandoned", group.waiting.length);
    group.writer.then((w) => w.abort()).catch(() => {});
  }

  /**
   * Ends and forgets the tracks nothing was written to for `idleMs` (a sender that left or
   * paused), except the control track, which lives as long as the session; returns them.
   */
  sweep(nowMs: number, idleMs: number): number[] {
    const forgotten: number[] = [];
    for (const [track, state] of this.#tracks) {
      if (track === CONTROL_TRACK || nowMs - state.lastMs < idleMs) continue;
      if (state.group !== undefined && state.group.waiting.length > 0) continue;
      this.startGroup(track, nowMs);
      this.#tracks.delete(track);
      forgotten.push(track);
    }
    return forgotten;
  }

  #openGroup(track: number, sendOrder: number): Group {
    this.groupsOpened++;
    this.#openGroups++;
    const writer = this.#open(sendOrder).then((w) => {
      w.write(encodeGroupHeader(track)).catch(() => {});
      return w;
    });
    // A stream that could not open fails its writes (counted there).
    writer.catch(() => {});
    return { writer, waiting: [], abandoned: false };
  }
}
