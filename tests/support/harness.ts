/**
 * Small helpers that keep integration tests short: a server per test, clients that are always
 * closed, unique room names.
 *
 * @module
 */
import { type ServerProcess, startServerProcess } from "./server_process.ts";
import { WireClient } from "./wire_client.ts";
import type { PacketClient } from "./packet_client.ts";

/** A test's server and the clients it opened. */
export interface Harness {
  server: ServerProcess;
  /** Connects a client that the harness closes at the end. */
  join(user: string, room: string, query?: string): Promise<WireClient>;
  /** Connects and announces (heartbeat), waiting until `others` have seen the join. */
  joinActive(
    user: string,
    room: string,
    others?: PacketClient[],
    query?: string,
  ): Promise<WireClient>;
}

let counter = 0;

/** A room name no other test uses. */
export function uniqueRoom(prefix = "room"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${
    Math.random().toString(36).slice(2, 8)
  }`;
}

/** Opens clients on `server` and closes them all in `finally`. */
export class ClientPool {
  readonly clients: WireClient[] = [];

  async join(baseUrl: string, user: string, room: string, query = ""): Promise<WireClient> {
    const client = await WireClient.connect(baseUrl, user, room, query);
    this.clients.push(client);
    return client;
  }

  async joinActive(
    baseUrl: string,
    user: string,
    room: string,
    others: PacketClient[] = [],
    query = "",
  ): Promise<WireClient> {
    const client = await this.join(baseUrl, user, room, query);
    client.heartbeat();
    await Promise.all(others.map((o) => o.nextMeetingEvent(3, client.sessionId)));
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/** Runs `fn` against a fresh server with `env`, then closes every client and the server. */
export async function withServer(
  env: Record<string, string>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const server = await startServerProcess(env);
  const pool = new ClientPool();
  try {
    await fn({
      server,
      join: (user, room, query) => pool.join(server.wsUrl, user, room, query),
      joinActive: (user, room, others, query) =>
        pool.joinActive(server.wsUrl, user, room, others, query),
    });
  } finally {
    await pool.closeAll();
    await server.stop();
  }
}

/** Waits until `check` returns true, polling every 20 ms, or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what: string | (() => string) = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  const described = typeof what === "function" ? what() : what;
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${described}`);
}

/** Sleeps. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
