/**
 * Bounds on who may open media connections and create meetings, checked before anything is
 * upgraded or written: at most so many open connections per instance and per client address,
 * new connections per address at a steady rate (a token bucket: a burst, then a few a second),
 * and new meetings per address per hour (in open mode a connection to an unknown room id
 * creates a meeting row; this keeps one client from growing the database without bound).
 * Refusals say which bound was hit and are counted by the caller. Pure bookkeeping, no I/O; idle
 * addresses are forgotten so the tables stay small. docs/SECURITY.md lists every bound.
 *
 * @example
 * ```ts
 * import { ConnectionGuard } from "./connection_guard.ts";
 *
 * const guard = new ConnectionGuard({
 *   maxConnections: 10,
 *   maxConnectionsPerAddress: 2,
 *   connectionsPerAddressPerMinute: 600,
 *   newMeetingsPerAddressPerHour: 5,
 * });
 * const seen = [guard.open("a", 0), guard.open("a", 0), guard.open("a", 0)].map((r) => r.ok);
 * if (seen.join() !== "true,true,false") throw new Error(seen.join());
 * guard.close("a");
 * if (!guard.open("a", 0).ok) throw new Error("a closed connection frees its place");
 * ```
 *
 * @module
 */
import { TokenBucket } from "../relay/token_bucket.ts";

/** The bounds. */
export interface ConnectionLimits {
  /** Open media connections on this instance. */
  maxConnections: number;
  /** Open media connections from one address. */
  maxConnectionsPerAddress: number;
  /** New media connections one address may open per minute (burst: a sixth of it, at least 5). */
  connectionsPerAddressPerMinute: number;
  /** Meetings one address may create per hour (open mode). */
  newMeetingsPerAddressPerHour: number;
}

/** Defaults for {@linkcode ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 50,
  connectionsPerAddressPerMinute: 120,
  newMeetingsPerAddressPerHour: 60,
};

/** A refusal: the HTTP status and code to answer with, and a sentence for people. */
export interface GuardRefusal {
  ok: false;
  status: 429 | 503;
  code: "too_many_connections" | "connecting_too_fast" | "server_full" | "too_many_meetings";
  message: string;
}

/** Allowed, or why not. */
export type GuardResult = { ok: true } | GuardRefusal;

interface AddressState {
  open: number;
  connects: TokenBucket;
  meetings?: TokenBucket;
  lastMs: number;
}

// Addresses idle this long with nothing open are forgotten (their buckets are full by then).
const FORGET_AFTER_MS = 3_600_000;
const SWEEP_EVERY = 1024;

/** Per-instance and per-address bookkeeping of media connections and new meetings. */
export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #addresses = new Map<string, AddressState>();
  #open = 0;
  #calls = 0;

  constructor(limits: ConnectionLimits) {
    this.#limits = limits;
  }

  /** Media connections open now on this instance. */
  get openConnections(): number {
    return this.#open;
  }

  /** Addresses tracked now (for the metrics). */
  get trackedAddresses(): number {
    return this.#addresses.size;
  }

  /**
   * Asks to open a media connection from `address`. When allowed, it counts as open until
   * {@linkcode close} is called for it.
   */
  open(address: string, nowMs: number): GuardResult {
    const limits = this.#limits;
    if (this.#open >= limits.maxConnections) {
      return {
        ok: false,
        status: 503,
        code: "server_full",
        message: "This server is full; try again later or another server",
      };
    }
    const state = this.#state(address, nowMs);
    if (state.open >= limits.maxConnectionsPerAddress) {
      return {
        ok: false,
        status: 429,
        code: "too_many_connections",
        message: `At most ${limits.maxConnectionsPerAddress} connections from one address`,
      };
    }
    if (!state.connects.take(nowMs)) {
      return {
        ok: false,
        status: 429,
        code: "connecting_too_fast",
        message: `At most ${limits.connectionsPerAddressPerMinute} new connections a minute from ` +
          "one address; wait a moment",
      };
    }
    state.open++;
    this.#open++;
    return { ok: true };
  }

  /** A connection allowed by {@linkcode open} ended. */
  close(address: string): void {
    const state = this.#addresses.get(address);
    if (state === undefined || state.open === 0) return;
    state.open--;
    this.#open--;
  }

  /** Asks whether `address` may create one more meeting now (and counts it when it may). */
  createMeeting(address: string, nowMs: number): GuardResult {
    const perHour = this.#limits.newMeetingsPerAddressPerHour;
    const state = this.#state(address, nowMs);
    state.meetings ??= new TokenBucket(perHour / 3600, perHour, nowMs);
    if (state.meetings.take(nowMs)) return { ok: true };
    return {
      ok: false,
      status: 429,
      code: "too_many_meetings",
      message: `At most ${perHour} new meetings an hour from one address; join an existing one`,
    };
  }

  #state(address: string, nowMs: number): AddressState {
    if (++this.#calls % SWEEP_EVERY === 0) this.#sweep(nowMs);
    let state = this.#addresses.get(address);
    if (state === undefined) {
      const perMinute = this.#limits.connectionsPerAddressPerMinute;
      state = {
        open: 0,
        connects: new TokenBucket(perMinute / 60, Math.max(5, Math.ceil(perMinute / 6)), nowMs),
        lastMs: nowMs,
      };
      this.#addresses.set(address, state);
    }
    state.lastMs = nowMs;
    return state;
  }

  #sweep(nowMs: number): void {
    for (const [address, state] of this.#addresses) {
      if (state.open === 0 && nowMs - state.lastMs > FORGET_AFTER_MS) {
        this.#addresses.delete(address);
      }
    }
  }
}
