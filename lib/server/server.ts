/**
 * Starts the whole server from a {@linkcode ServerConfig}: bus, relay, HTTP. `main.ts` calls
 * this; so can a test or a benchmark that wants a server in its own process.
 *
 * @module
 */
import { GROUPED_FRAMING } from "../protocol/wt_groups.ts";
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
import { CertificateManager } from "../relay/certificate_manager.ts";
import { quicAvailable, WebTransportServer } from "../relay/webtransport.ts";
import type { WebTransportInfo } from "./router.ts";
import type { Admit } from "../relay/admission.ts";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import { createMeetingApi } from "../meetings/api.ts";
import { MeetingService } from "../meetings/service.ts";
import { openStore as openDriver } from "../store/open_store.ts";
import type { Store } from "../store/store.ts";
import { claimPrefix, createIdentity } from "./identity.ts";
import { lazyStore } from "./lazy_store.ts";
import { ConnectionGuard } from "./connection_guard.ts";
import { OriginPolicy } from "./web_security.ts";
import { adminRoute } from "./admin.ts";
import { listen } from "./listener.ts";
import { MeetingError } from "../meetings/service.ts";

/** The project's version, from deno.json. */
export const VERSION: string = denoJson.version;

/** A running server. */
export interface RunningServer {
  /** The TCP port HTTP and WebSocket listen on. */
  port: number;
  /** The UDP port WebTransport listens on, when it runs. */
  wtPort: number | undefined;
  relay: Relay;
  bus: Bus;
  log: Logger;
  /** Stops accepting, tells clients, closes within `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
  /**
   * Hands the sessions to other instances (when any is alive) within `DRAIN_TIMEOUT_MS`, then
   * shuts down; `extras.onStopped` runs after it.
   */
  drainAndStop(): Promise<void>;
}

/** What the server serves besides the relay and the API. */
export interface ServerExtras {
  /** The web pages and their assets (requests outside `/api/` that nothing else claims). */
  pages?: (request: Request) => Promise<Response>;
  /** Called once a drain asked for through the admin API has stopped the server. */
  onStopped?: () => void;
}

/** Connects the bus, builds the relay and starts serving HTTP. */
export async function startServer(
  config: ServerConfig,
  log?: Logger,
  extras: ServerExtras = {},
): Promise<RunningServer> {
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
  // The WebTransport server starts after the relay; the card reads it at each heartbeat.
  let webTransportServing = false;
  const relay = new Relay({
    bus,
    limits: config.limits,
    metrics: createRelayMetrics(),
    log: logger,
    describe: () => ({
      url: config.publicUrl,
      capacity: config.connections.maxConnections,
      webTransport: webTransportServing,
    }),
  });
  const guard = new ConnectionGuard(config.connections);
  relay.metrics.registry.gauge(
    "media_connections_open",
    "Media connections open on this instance (both transports)",
    () => guard.openConnections,
  );
  relay.metrics.registry.gauge(
    "client_addresses_tracked",
    "Client addresses with connection bookkeeping",
    () => guard.trackedAddresses,
  );
  // One bound on meetings created per address, for media joins and API calls alike.
  const mayCreate = (address: string) => {
    const allowed = guard.createMeeting(address, performance.now());
    if (!allowed.ok) throw new MeetingError(allowed.status, allowed.code, allowed.message);
  };
  const store = openStore(config, logger);
  const secret = config.jwtSecret !== undefined
    ? new TextEncoder().encode(config.jwtSecret)
    : crypto.getRandomValues(new Uint8Array(32));
  const claims = await claimPrefix(secret);
  const service = new MeetingService(
    store,
    { publish: (event) => relay.publishControl(event) },
    verifyPassword,
    claims,
  );
  const identity = createIdentity({
    mode: config.auth,
    secret,
    service,
    log: logger,
    mayCreate,
    claimPrefix: claims,
  });
  if (config.auth === "open" && config.jwtSecret === undefined) {
    logger.info("jwt_secret_generated", {
      note: "guest sessions last until restart; set JWT_SECRET for several instances",
    });
  }
  const meetingApi = createMeetingApi({
    service,
    authenticate: identity.authenticate,
    hashPassword: (password) => hashPassword(password),
    liveRoster: (meetingId) => relay.liveRoster(meetingId),
    mayCreate,
  });
  const webTransport = await startWebTransport(config, relay, identity.admit, guard, logger);
  webTransportServing = webTransport.server !== undefined;
  const clientAddress = (request: Request, info: Deno.ServeHandlerInfo) =>
    requestAddress(request, info, config.trustProxy);
  const handler = createRouter({
    relay,
    log: logger,
    version: VERSION,
    webTransport: webTransport.info,
    admit: identity.admit,
    pages: extras.pages,
    guard,
    origins: new OriginPolicy(config),
    clientAddress,
    https: config.https || config.publicUrl.startsWith("https:"),
    notReady: databaseReadiness(store),
    api: (request, url, info) => {
      const admin = adminRoute(
        {
          token: config.adminToken,
          state: () => ({
            sessions: relay.sessionCount,
            others: relay.otherInstances,
            draining: relay.draining,
          }),
          drain: () => {
            running.drainAndStop().then(() => extras.onStopped?.());
          },
        },
        request,
        url,
      );
      if (admin !== undefined) return admin;
      if (url.pathname === "/api/v1/session") {
        return identity.guestSession(
          request,
          config.https || config.publicUrl.startsWith("https:"),
        );
      }
      return meetingApi(request, url, clientAddress(request, info));
    },
  });
  const listeners = await listen(config, handler, logger);
  const port = listeners.port;
  logger.info("listening", {
    port,
    redirectPort: listeners.redirectPort,
    wtPort: webTransport.server?.port,
    host: config.host,
    instance: relay.instanceId,
    version: VERSION,
  });
  let stopping: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  const running: RunningServer = {
    port,
    wtPort: webTransport.server?.port,
    relay,
    bus,
    log: logger,
    shutdown(graceMs = 3000) {
      stopping ??= (async () => {
        logger.info("shutting_down", { sessions: relay.sessionCount });
        relay.shutdown();
        webTransport.stop();
        // Let every WebSocket send our close frame before Deno's own shutdown closes the rest.
        const deadline = Date.now() + Math.min(graceMs, 1000);
        while (openWebSocketCount() > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await listeners.shutdown(graceMs);
        await bus.close();
        await store.close();
        logger.info("stopped");
      })();
      return stopping;
    },
    drainAndStop() {
      draining ??= (async () => {
        if (relay.otherInstances > 0) await relay.drain(config.drainTimeoutMs);
        else logger.info("drain_skipped", { reason: "no other instance alive to take sessions" });
        await running.shutdown();
      })();
      return draining;
    },
  };
  return running;
}

interface WebTransportRuntime {
  server?: WebTransportServer;
  info: (hostname: string) => WebTransportInfo;
  stop(): void;
}

// Starts WebTransport when this Deno and host allow it; otherwise says why once and carries on
// with WebSocket only.
async function startWebTransport(
  config: ServerConfig,
  relay: Relay,
  admit: Admit,
  guard: ConnectionGuard,
  log: Logger,
): Promise<WebTransportRuntime> {
  const unavailable = (reason: string): WebTransportRuntime => {
    log.warn("webtransport_unavailable", { reason, fallback: "websocket" });
    return { info: () => ({ available: false, reason }), stop() {} };
  };
  if (config.wtPort === undefined) return unavailable("disabled by WT_PORT=off");
  if (!quicAvailable()) return unavailable("this Deno has no QUIC API (needs --unstable-net)");
  let server: WebTransportServer | undefined;
  const certificates = new CertificateManager({
    certPath: config.certPath || undefined,
    keyPath: config.keyPath || undefined,
    validityMs: config.certValidityMs,
    // Back-date for clock skew, but never by a large part of a short (test) validity.
    backdateMs: Math.min(3600_000, Math.floor(config.certValidityMs / 10)),
    onChange: (cert) => {
      log.info("certificate_changed", { notAfter: cert.notAfter.toISOString() });
      server?.reloadCertificate();
    },
    onError: (error) => log.warn("certificate_error", { error: error.message }),
  });
  try {
    await certificates.start();
  } catch (error) {
    await certificates.stop();
    return unavailable(`no certificate: ${error instanceof Error ? error.message : error}`);
  }
  try {
    server = WebTransportServer.start({
      hostname: config.wtHost,
      port: config.wtPort,
      relay,
      log,
      admit,
      guard,
      certificates: {
        current: () => certificates.current(),
        hashes: () => certificates.hashesBase64(),
      },
      limits: {
        streamTimeoutMs: config.wtStreamTimeoutMs,
        maxDatagramsPerSecond: config.maxDatagramsPerSecond,
        maxIdleTimeoutMs: config.wtIdleTimeoutMs,
        keepAliveIntervalMs: Math.max(250, Math.min(2000, Math.floor(config.wtIdleTimeoutMs / 4))),
      },
    });
  } catch (error) {
    await certificates.stop();
    return unavailable(`cannot listen on UDP ${config.wtHost} port ${config.wtPort}: ${error}`);
  }
  const running = server;
  return {
    server: running,
    info: (hostname) => ({
      available: true,
      url: `https://${hostname}:${running.port}`,
      certificateHashes: certificates.hashesBase64(),
      framings: [GROUPED_FRAMING],
    }),
    stop() {
      certificates.stop();
      running.close();
    },
  };
}

// The meeting store: PostgreSQL at DATABASE_URL, or the embedded PGlite under DATA_DIR; opened
// (and its driver loaded) on first use.
function openStore(config: ServerConfig, log: Logger): Store & { opened(): boolean } {
  return lazyStore(
    config.databaseUrl !== "" ? "postgres" : "pglite",
    () =>
      openDriver({
        databaseUrl: config.databaseUrl || undefined,
        schema: config.databaseSchema,
        dataDir: config.dataDir,
      }),
    log,
  );
}

/**
 * The client's address: the TCP peer, or with `trustProxy` the last address in
 * `X-Forwarded-For` (the one our own proxy added; earlier ones are the client's word).
 */
export function requestAddress(
  request: Request,
  info: Deno.ServeHandlerInfo,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last) return last.slice(0, 64);
  }
  const addr = info.remoteAddr as Deno.Addr;
  return addr.transport === "tcp" || addr.transport === "udp" ? addr.hostname : "local";
}

// Readiness of the meeting store, asked at most once a second: a cheap query that must answer
// within 2 s. The embedded store is ready until it was opened and failed (it opens on first use).
function databaseReadiness(
  store: Store & { opened(): boolean; kind: string },
): () => Promise<string | undefined> {
  let last: { atMs: number; reason: string | undefined } | undefined;
  let asking: Promise<string | undefined> | undefined;
  const ask = async (): Promise<string | undefined> => {
    if (store.kind === "pglite" && !store.opened()) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        store.getMeeting("readyz-probe"),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("no answer within 2 s")), 2000);
        }),
      ]);
      return undefined;
    } catch (error) {
      return `database unavailable: ${error instanceof Error ? error.message : error}`;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    const now = performance.now();
    if (last !== undefined && now - last.atMs < 1000) return Promise.resolve(last.reason);
    asking ??= ask().then((reason) => {
      last = { atMs: performance.now(), reason };
      asking = undefined;
      return reason;
    });
    return asking;
  };
}
