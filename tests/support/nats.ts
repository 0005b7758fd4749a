/**
 * Finds NATS for integration tests (docs/ARCHITECTURE.md, "Testing"): `sharedNatsUrl()` is `NATS_URL` if set,
 * else the local server at 127.0.0.1:4222; tests that stop and start NATS run a private
 * `nats-server` on a free port (`startNats()`). Under `CI=true` a missing NATS is a failure,
 * never a skip.
 *
 * @module
 */
import { TextLineStream } from "./text_lines.ts";

/** A nats-server this test started. */
export interface PrivateNats {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function reachable(hostname: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether Debian's nats-server is installed. */
export function hasNatsServer(): boolean {
  try {
    Deno.statSync("/usr/sbin/nats-server");
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether tests that start their own nats-server should be ignored: only when Debian's
 * nats-server is missing outside CI, after a loud warning. Under `CI=true` they run (and fail).
 */
export function natsServerIgnored(): boolean {
  if (hasNatsServer() || Deno.env.get("CI") === "true") return false;
  console.warn("\n*** /usr/sbin/nats-server not found: tests that start NATS are skipped ***\n");
  return true;
}

/** Starts a private nats-server on `port` (a free one by default). */
export async function startNats(port = freePort()): Promise<PrivateNats> {
  const child = new Deno.Command("/usr/sbin/nats-server", {
    args: ["-a", "127.0.0.1", "-p", String(port)],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const ready = Promise.withResolvers<void>();
  const reading = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const line of lines) {
      if (line.includes("Server is ready")) ready.resolve();
    }
    ready.reject(new Error("nats-server exited before it was ready"));
  })();
  await ready.promise;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await child.status;
      await reading;
    },
  };
}

/**
 * The NATS URL shared tests should use, or undefined (with a loud message) when there is none
 * outside CI.
 */
export async function sharedNatsUrl(): Promise<string | undefined> {
  const url = Deno.env.get("NATS_URL") || "nats://127.0.0.1:4222";
  const match = /^nats:\/\/([^:/]+):([0-9]+)/.exec(url);
  if (match && await reachable(match[1], Number(match[2]))) return url;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`NATS is not reachable at ${url}, and CI requires it`);
  }
  console.warn(`\n*** NATS not reachable at ${url}: NATS tests are skipped ***\n`);
  return undefined;
}
