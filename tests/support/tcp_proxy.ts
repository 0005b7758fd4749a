/**
 * A loopback TCP proxy that tests put between a client and a server (PostgreSQL, say) to make the
 * server "go away" and "come back" without stopping the shared server, or to cut the connections
 * in flight as a network drop would. Given several targets it is a fail-over load balancer: each
 * new connection goes to the first target that accepts it, so when one server dies its clients'
 * reconnections reach the next (tests/instance_failure_test.ts).
 *
 * @module
 */

/** Forwards loopback TCP connections to a target; can drop everything and come back. */
export class TcpProxy {
  port = 0;
  #targets: Deno.ConnectOptions[];
  #listener: Deno.TcpListener | undefined;
  #accepting: Promise<void> | undefined;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #pipes = new Set<Promise<void>>();
  /** Connections forwarded so far, by target port. */
  readonly forwarded = new Map<number, number>();

  /** `target`, or several tried in order for each new connection (the first that accepts). */
  constructor(target: Deno.ConnectOptions | Deno.ConnectOptions[]) {
    this.#targets = Array.isArray(target) ? target : [target];
    if (this.#targets.length === 0) throw new Error("TcpProxy needs a target");
  }

  /**
   * New connections go to these targets from now on (connections in flight stay where they
   * are): a balancer that took a server out when its readiness check failed.
   */
  setTargets(targets: Deno.ConnectOptions[]): void {
    if (targets.length === 0) throw new Error("TcpProxy needs a target");
    this.#targets = targets;
  }

  /** Listens (again) on `port`, or on a free port the first time. */
  start(): void {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.port = listener.addr.port;
    this.#listener = listener;
    this.#accepting = this.#accept(listener);
  }

  /** Closes the listener and every connection, as a crashed server would. */
  async stop(): Promise<void> {
    this.#listener?.close();
    this.#listener = undefined;
    await this.#accepting;
    for (const conn of this.#conns) closeQuietly(conn);
    this.#conns.clear();
    await Promise.all(this.#pipes);
  }

  /** Cuts every connection in flight but keeps listening: a network drop, not an outage. */
  dropConnections(): void {
    for (const conn of this.#conns) closeQuietly(conn);
    this.#conns.clear();
  }

  async #accept(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const client of listener) {
        const pipe = this.#pipe(client);
        this.#pipes.add(pipe);
        pipe.finally(() => this.#pipes.delete(pipe));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #pipe(client: Deno.TcpConn): Promise<void> {
    this.#conns.add(client);
    const upstream = await connectFirst(this.#targets, this.forwarded);
    if (upstream === undefined) {
      this.#conns.delete(client);
      closeQuietly(client);
      return;
    }
    this.#conns.add(upstream);
    await Promise.race([copy(client, upstream), copy(upstream, client)]);
    for (const conn of [client, upstream]) {
      if (this.#conns.delete(conn)) closeQuietly(conn);
    }
  }
}

const closed = new WeakSet<Deno.Conn>();

/** Closes a connection once, ignoring one that is already closed. */
export function closeQuietly(conn: Deno.Conn): void {
  if (closed.has(conn)) return;
  closed.add(conn);
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

// The first target that accepts a connection (a dead server's port refuses at once).
async function connectFirst(
  targets: Deno.ConnectOptions[],
  forwarded: Map<number, number>,
): Promise<Deno.TcpConn | undefined> {
  for (const target of targets) {
    try {
      const conn = await Deno.connect(target);
      forwarded.set(target.port, (forwarded.get(target.port) ?? 0) + 1);
      return conn;
    } catch {
      // Down: try the next.
    }
  }
  return undefined;
}

async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buffer);
      if (n === null) return;
      let written = 0;
      while (written < n) written += await to.write(buffer.subarray(written, n));
    }
  } catch {
    // One side was closed.
  }
}

/** `url` with its host and port replaced by the proxy's loopback address. */
export function viaPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(port);
  return parsed.href;
}
