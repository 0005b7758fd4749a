/**
 * Which relay instances are alive. Each instance says "alive" on one bus subject every
 * `instanceHeartbeatMs` (1 s) and "bye" when it shuts down cleanly; an instance not heard from
 * for `instanceTimeoutMs` (2.5 s) has died — a `kill -9`, a crash, a lost machine — and the
 * rooms hand its participants a leave grace in which their clients may resume elsewhere.
 *
 * Why our own signal: NATS tells only its system account when a client's connection drops
 * (`$SYS.ACCOUNT.<account>.DISCONNECT`), and ordinary accounts — ours on a plain nats-server —
 * never see those events; the per-room presence heartbeat (5 s, 15 s timeout) is far too slow
 * to hand sessions over before people notice. One small message per instance per second costs
 * N² deliveries a second across N instances: nothing at the sizes a meeting cluster has.
 *
 * An instance that cannot hear is not the one to judge: while our own bus is down, and after a
 * tick that came late (our event loop stalled, so messages may be waiting unread), nobody is
 * declared dead; everyone gets a fresh timeout instead. An instance declared dead that is heard
 * again (it was cut off, not dead) is reported back.
 *
 * @example
 * ```ts
 * import { InstanceTracker } from "./liveness.ts";
 *
 * const tracker = new InstanceTracker();
 * tracker.heard("b", 0);
 * if (tracker.expire(2_000, 2_500).length !== 0) throw new Error("b spoke 2 s ago");
 * if (tracker.expire(2_600, 2_500)[0]?.instance !== "b") throw new Error("b has been silent");
 * ```
 *
 * @module
 */
import { isPlainHttpUrl } from "../protocol/public_url.ts";
import { parseJsonObject } from "./_json.ts";
import type { Bus, BusSubscription } from "./bus.ts";

/** The subject every instance's "alive" and "bye" go to. */
export const INSTANCES_SUBJECT = "cluster.instances";

const encoder = new TextEncoder();
/** How long a dead instance is remembered (to notice it coming back), in ms. */
const REMEMBER_DEAD_MS = 10 * 60_000;

/**
 * What an instance says of itself with each "alive", for the server pool (`GET
 * /api/v1/servers`): where people reach it, how busy it is, and whether it takes newcomers.
 */
export interface InstanceCard {
  /** Its public URL (`PUBLIC_URL`), or empty when it has none. */
  url: string;
  /** Media sessions open on it now. */
  sessions: number;
  /** Media connections it takes at most (`MAX_CONNECTIONS`). */
  capacity: number;
  /** Whether it takes new sessions (false while draining or shutting down). */
  accepting: boolean;
  /** Whether it serves WebTransport. */
  webTransport: boolean;
}

/** A liveness message between instances; "alive" may carry the sender's card. */
export type LivenessMessage = { t: "alive" | "bye"; i: string; card?: InstanceCard };

/** Serializes a liveness message. */
export function encodeLiveness(message: LivenessMessage): Uint8Array {
  const { t, i, card } = message;
  return encoder.encode(JSON.stringify(
    card === undefined ? { t, i } : {
      t,
      i,
      u: card.url,
      s: card.sessions,
      c: card.capacity,
      a: card.accepting,
      w: card.webTransport,
    },
  ));
}

const count = (v: unknown) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 1e9 ? v : undefined;

/**
 * Parses a liveness message; undefined for anything malformed. A card with a bad field is left
 * out (the message still says the instance is alive).
 */
export function parseLiveness(bytes: Uint8Array): LivenessMessage | undefined {
  const m = parseJsonObject(bytes);
  if (m === undefined) return undefined;
  if (m.t !== "alive" && m.t !== "bye") return undefined;
  if (typeof m.i !== "string" || m.i.length === 0 || m.i.length > 64) return undefined;
  const message: LivenessMessage = { t: m.t, i: m.i };
  const sessions = count(m.s);
  const capacity = count(m.c);
  if (
    m.t === "alive" && typeof m.u === "string" && (m.u === "" || isPlainHttpUrl(m.u)) &&
    sessions !== undefined &&
    capacity !== undefined && typeof m.a === "boolean" && typeof m.w === "boolean"
  ) {
    message.card = { url: m.u, sessions, capacity, accepting: m.a, webTransport: m.w };
  }
  return message;
}

/** An instance found dead, and how long it had been silent. */
export interface DeadInstance {
  instance: string;
  silentMs: number;
}

/** When each other instance was last heard from. Pure state: no timers, no bus. */
export class InstanceTracker {
  readonly #lastHeard = new Map<string, number>();
  readonly #dead = new Map<string, number>();
  readonly #cards = new Map<string, InstanceCard>();

  /** Instances taken as alive. */
  get size(): number {
    return this.#lastHeard.size;
  }

  /**
   * Notes `instance` alive at `nowMs` (with its card, when it sent one); true when it had been
   * declared dead (it is back).
   */
  heard(instance: string, nowMs: number, card?: InstanceCard): boolean {
    this.#lastHeard.set(instance, nowMs);
    if (card !== undefined) this.#cards.set(instance, card);
    return this.#dead.delete(instance);
  }

  /** The cards of the instances alive now. */
  cards(): [string, InstanceCard][] {
    return [...this.#cards].filter(([instance]) => this.#lastHeard.has(instance));
  }

  /** `instance` said goodbye; true when it was taken as alive until now. */
  left(instance: string, nowMs: number): boolean {
    this.#cards.delete(instance);
    if (!this.#lastHeard.delete(instance)) return false;
    this.#dead.set(instance, nowMs);
    return true;
  }

  /** Removes and returns the instances silent for longer than `timeoutMs`. */
  expire(nowMs: number, timeoutMs: number): DeadInstance[] {
    const dead: DeadInstance[] = [];
    for (const [instance, last] of this.#lastHeard) {
      if (nowMs - last > timeoutMs) {
        this.#lastHeard.delete(instance);
        this.#cards.delete(instance);
        this.#dead.set(instance, nowMs);
        dead.push({ instance, silentMs: nowMs - last });
      }
    }
    for (const [instance, at] of this.#dead) {
      if (nowMs - at > REMEMBER_DEAD_MS) this.#dead.delete(instance);
    }
    return dead;
  }

  /** Starts every instance's timeout afresh (we were the ones not listening). */
  restart(nowMs: number): void {
    for (const instance of this.#lastHeard.keys()) this.#lastHeard.set(instance, nowMs);
  }
}

/** How a {@linkcode Liveness} is set up. */
export interface LivenessOptions {
  bus: Bus;
  instanceId: string;
  /** How often this instance says it is alive. */
  intervalMs: number;
  /** Silence after which another instance is taken as dead. */
  timeoutMs: number;
  now: () => number;
  /** Another instance died (silent for `silentMs`, or 0 when it said goodbye). */
  onDead(instance: string, silentMs: number): void;
  /** An instance declared dead was heard again. */
  onBack(instance: string): void;
  /** This instance's card, sent with every "alive" (none: no card). */
  card?: () => InstanceCard;
}

/** This instance's heartbeat on the bus, and its watch over the others'. */
export class Liveness {
  readonly #o: LivenessOptions;
  readonly #tracker = new InstanceTracker();
  readonly #subscription: BusSubscription;
  readonly #timers: ReturnType<typeof setInterval>[];
  #lastCheckMs: number;
  #deaf = false;
  #stopped = false;

  constructor(options: LivenessOptions) {
    this.#o = options;
    this.#lastCheckMs = options.now();
    this.#subscription = options.bus.subscribe(
      INSTANCES_SUBJECT,
      (_subject, data) => this.#onMessage(data),
    );
    // Checked four times per heartbeat, so a death is noticed within a quarter of it.
    const checkMs = Math.max(10, Math.round(options.intervalMs / 4));
    this.#timers = [
      setInterval(() => this.#say("alive"), options.intervalMs),
      setInterval(() => this.#check(checkMs), checkMs),
    ];
    this.#say("alive");
  }

  /** Other instances taken as alive. */
  get others(): number {
    return this.#tracker.size;
  }

  /** The cards of the other instances alive now, by instance id. */
  cards(): [string, InstanceCard][] {
    return this.#tracker.cards();
  }

  /** Stops; says goodbye first when `goodbye` (a clean shutdown). */
  stop(goodbye = true): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    if (goodbye) this.#say("bye");
    this.#subscription.unsubscribe();
  }

  #say(t: LivenessMessage["t"]): void {
    const card = t === "alive" ? this.#o.card?.() : undefined;
    this.#o.bus.publish(INSTANCES_SUBJECT, encodeLiveness({ t, i: this.#o.instanceId, card }));
  }

  #onMessage(data: Uint8Array): void {
    const message = parseLiveness(data);
    if (message === undefined || message.i === this.#o.instanceId) return;
    const now = this.#o.now();
    if (message.t === "bye") {
      if (this.#tracker.left(message.i, now)) this.#o.onDead(message.i, 0);
    } else if (this.#tracker.heard(message.i, now, message.card)) {
      this.#o.onBack(message.i);
    }
  }

  #check(checkMs: number): void {
    const now = this.#o.now();
    // Late by more than a heartbeat: others' messages may be waiting unread behind the stall.
    const late = now - this.#lastCheckMs > checkMs + this.#o.intervalMs;
    this.#lastCheckMs = now;
    if (!this.#o.bus.isConnected()) {
      this.#deaf = true;
      return;
    }
    if (this.#deaf || late) {
      // We could not hear (bus down, or our loop stalled): give everyone a fresh timeout.
      this.#deaf = false;
      this.#tracker.restart(now);
      return;
    }
    for (const dead of this.#tracker.expire(now, this.#o.timeoutMs)) {
      this.#o.onDead(dead.instance, dead.silentMs);
    }
  }
}
