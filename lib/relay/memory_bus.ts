/**
 * The in-process bus: the default when no `NATS_URL` is set. A {@linkcode MemoryBusHub} stands
 * for the message broker; each relay instance connects its own {@linkcode MemoryBus} client, so
 * tests can run several instances in one process exactly as they would run on NATS.
 *
 * @example
 * ```ts
 * import { MemoryBusHub } from "./memory_bus.ts";
 *
 * const hub = new MemoryBusHub();
 * const a = hub.connect();
 * const b = hub.connect();
 * const got: string[] = [];
 * b.subscribe("room.x.*", (subject) => got.push(subject));
 * a.publish("room.x.system", new Uint8Array());
 * await Promise.resolve();
 * if (got[0] !== "room.x.system") throw new Error("not delivered");
 * ```
 *
 * @module
 */
import {
  type Bus,
  type BusEvent,
  type BusHandler,
  type BusSubscription,
  subjectMatches,
} from "./bus.ts";

interface Sub {
  pattern: string;
  handler: BusHandler;
  owner: MemoryBus;
}

/** The broker of in-process buses. */
export class MemoryBusHub {
  readonly #subs = new Set<Sub>();

  /** A new client of this hub. */
  connect(): MemoryBus {
    return new MemoryBus(this);
  }

  /** @internal */
  add(sub: Sub): void {
    this.#subs.add(sub);
  }

  /** @internal */
  remove(sub: Sub): void {
    this.#subs.delete(sub);
  }

  /** @internal Delivers to every subscription but the publisher's own (NATS `noEcho`). */
  deliver(from: MemoryBus, subject: string, data: Uint8Array): void {
    // One instance alone (the default server) has nobody to deliver to: skip the scan.
    if (this.#subs.size === from.subscriptionCount) return;
    for (const sub of this.#subs) {
      if (sub.owner !== from && subjectMatches(sub.pattern, subject)) {
        // Asynchronous like a real broker, so publishers never re-enter their own callers.
        queueMicrotask(() => {
          if (this.#subs.has(sub)) sub.handler(subject, data);
        });
      }
    }
  }
}

/** One instance's connection to a {@linkcode MemoryBusHub}. */
export class MemoryBus implements Bus {
  readonly kind = "memory";
  readonly maxPayloadBytes = Number.MAX_SAFE_INTEGER;
  readonly #hub: MemoryBusHub;
  readonly #mine = new Set<Sub>();
  #closed = false;

  constructor(hub: MemoryBusHub = new MemoryBusHub()) {
    this.#hub = hub;
  }

  /** Subscriptions this client holds. */
  get subscriptionCount(): number {
    return this.#mine.size;
  }

  isConnected(): boolean {
    return !this.#closed;
  }

  subscribe(pattern: string, handler: BusHandler): BusSubscription {
    const sub: Sub = { pattern, handler, owner: this };
    this.#mine.add(sub);
    this.#hub.add(sub);
    return {
      unsubscribe: () => {
        this.#mine.delete(sub);
        this.#hub.remove(sub);
      },
    };
  }

  publish(subject: string, data: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#hub.deliver(this, subject, data);
    return true;
  }

  onEvent(_listener: (event: BusEvent) => void): void {
    // An in-process bus never disconnects.
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const sub of this.#mine) this.#hub.remove(sub);
    this.#mine.clear();
    return Promise.resolve();
  }
}
