/**
 * The bus on NATS (`@nats-io/transport-node` v3, which runs on Deno's `node:net`). One
 * connection per instance with `noEcho`, callback subscriptions, fire-and-forget publishes, and
 * reconnects forever; nats.js restores the subscriptions after each reconnect.
 *
 * @module
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Bus, BusEvent, BusHandler, BusSubscription } from "./bus.ts";

/** How to reach NATS. */
export interface NatsBusOptions {
  /** `nats://host:port`, or several separated by commas. */
  url: string;
  /** Connection name shown by the NATS server (e.g. `videocall-<instance>`). */
  name?: string;
  /** Milliseconds between reconnect attempts. */
  reconnectWaitMs?: number;
}

// Conservative until the server tells us (nats-server's default max_payload is 1 MiB).
const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** A {@linkcode Bus} on a NATS connection. */
export class NatsBus implements Bus {
  readonly kind = "nats";
  readonly #nc: NatsConnection;
  readonly #listeners: ((event: BusEvent) => void)[] = [];
  #connected = true;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#watchStatus();
  }

  /**
   * Connects to NATS, waiting for the first connection however long it takes (the server may
   * start before NATS does); later disconnects are retried forever.
   */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      servers: options.url.split(",").map((s) => s.trim()).filter((s) => s !== ""),
      name: options.name,
      noEcho: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      reconnectTimeWait: options.reconnectWaitMs ?? 250,
      pingInterval: 10_000,
    });
    return new NatsBus(nc);
  }

  get maxPayloadBytes(): number {
    return this.#nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  isConnected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  subscribe(pattern: string, handler: BusHandler): BusSubscription {
    const sub = this.#nc.subscribe(pattern, {
      callback: (err, msg) => {
        if (err === null) handler(msg.subject, msg.data);
      },
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  publish(subject: string, data: Uint8Array): boolean {
    try {
      this.#nc.publish(subject, data);
      return true;
    } catch {
      // Closed, draining, or the payload is over the server's max_payload.
      return false;
    }
  }

  onEvent(listener: (event: BusEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close();
    }
  }

  #emit(event: BusEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === "disconnect") {
        this.#connected = false;
        this.#emit("disconnected");
      } else if (status.type === "reconnect") {
        this.#connected = true;
        this.#emit("reconnected");
      }
    }
  }
}
