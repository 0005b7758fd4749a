/**
 * Starts the whole server from a {@linkcode ServerConfig}: bus, relay, HTTP. `main.ts` calls
 * this; so can a test or a benchmark that wants a server in its own process.
 *
 * @module
 */
import { createLogger, type Logger } from "../log.ts";
import type { Bus } from "../relay/bus.ts";
import { MemoryBus } from "../relay/memory_bus.ts";
import { createRelayMetrics } from "../relay/metrics.ts";
import { NatsBus } from "../relay/nats_bus.ts";
import { Relay } from "../relay/relay.ts";
import { openWebSocketCount } from "../relay/websocket.ts";
import type { ServerConfig } from "./config.ts";
import { createRouter } from "./router.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** The project's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** A running server. */
export interface RunningServer {
  /** The TCP port HTTP and WebSocket listen on. */
  port: number;
  relay: Relay;
  bus: Bus;
  log: Logger;
  /** Stops accepting, tells clients, closes within `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Connects the bus, builds the relay and starts serving HTTP. */
export async function startServer(config: ServerConfig, log?: Logger): Promise<RunningServer> {
  const logger = log ?? createLogger(config.logLevel);
  let bus: Bus;
  if (config.natsUrl === "") {
    bus = new MemoryBus();
    logger.info("bus_ready", { bus: "memory" });
  } else {
    logger.info("bus_connecting", { bus: "nats", url: config.natsUrl });
    bus = await NatsBus.connect({ url: config.natsUrl, name: "videocall-ts" });
    logger.info("bus_ready", { bus: "nats", maxPayloadBytes: bus.maxPayloadBytes });
  }
  const relay = new Relay({
    bus,
    limits: config.limits,
    metrics: createRelayMetrics(),
    log: logger,
  });
  const handler = createRouter({ relay, log: logger, version: VERSION });
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    port: config.port,
    hostname: config.host,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  const port = await listening.promise;
  logger.info("listening", {
    port,
    host: config.host,
    instance: relay.instanceId,
    version: VERSION,
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    relay,
    bus,
    log: logger,
    shutdown(graceMs = 3000) {
      stopping ??= (async () => {
        logger.info("shutting_down", { sessions: relay.sessionCount });
        relay.shutdown();
        // Let every WebSocket send our close frame before Deno's own shutdown closes the rest.
        const deadline = Date.now() + Math.min(graceMs, 1000);
        while (openWebSocketCount() > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const timeout = new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          server.finished.then(() => clearTimeout(timer));
        });
        await Promise.race([server.shutdown(), timeout]);
        await bus.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}
