/**
 * The HTTP entry point: one small dispatcher for the media endpoint and the operational ones.
 *
 * | method and path | answer |
 * |---|---|
 * | `GET /lobby/<user>/<room>` | WebSocket upgrade into the room (videocall-rs URL) |
 * | `GET /healthz` | 200 while the process serves |
 * | `GET /readyz` | 200 when the bus and the database answer and sessions are accepted, else 503 with the reason |
 * | `GET /version` | name, version, instance id and bus kind as JSON |
 * | `GET /metrics` | Prometheus text |
 * | `GET /api/v1/webtransport` | where and how to connect by WebTransport (URL, certificate hashes) |
 * | anything else outside `/api/` | the web pages (`routes/`, `static/`), when given |
 *
 * Errors are JSON: `{"success": false, "result": {"code": "...", "message": "..."}}`.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { Refusal } from "../protocol/close_codes.ts";
import type { Relay } from "../relay/relay.ts";
import { acceptWebSocket } from "../relay/websocket.ts";
import { type Admit, admittedIdentity, parseLobbyUrl } from "../relay/admission.ts";
import type { ConnectionGuard } from "./connection_guard.ts";
import { type OriginPolicy, withSecurityHeaders } from "./web_security.ts";

/** What `GET /api/v1/webtransport` answers. */
export type WebTransportInfo =
  | {
    available: true;
    url: string;
    certificateHashes: string[];
    /** Framings offered besides one packet per stream (docs/PROTOCOL.md). */
    framings: string[];
  }
  | { available: false; reason: string };

/** What the router needs. */
export interface RouterOptions {
  relay: Relay;
  log: Logger;
  version: string;
  /** WebTransport details for a request that reached us under `hostname`. */
  webTransport: (hostname: string) => WebTransportInfo;
  /** Who may join a media connection. */
  admit: Admit;
  /** Further routes (the meeting API); undefined when a path is not theirs. */
  api?: (request: Request, url: URL, info: Deno.ServeHandlerInfo) => Promise<Response> | undefined;
  /** Everything else outside `/api/`: the web pages and their assets. */
  pages?: (request: Request) => Promise<Response>;
  /** Bounds on media connections per address and instance. */
  guard: ConnectionGuard;
  /** Which page origins may connect and call the API. */
  origins: OriginPolicy;
  /** The client's address (its own, or the one a trusted proxy forwarded). */
  clientAddress: (request: Request, info: Deno.ServeHandlerInfo) => string;
  /** Why the server is not ready beyond the relay (the database), or undefined when it is. */
  notReady?: () => Promise<string | undefined>;
  /** Pages are served under an https public URL (HSTS). */
  https?: boolean;
}

/** A JSON error response. */
export function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ success: false, result: { code, message } }, { status });
}

/** Makes the request handler for `Deno.serve`. */
export function createRouter(
  options: RouterOptions,
): (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response> {
  const { relay, log, version } = options;
  return (request, info) => {
    const url = new URL(request.url);
    const path = url.pathname;
    const media = path === "/lobby" || path.startsWith("/lobby/");
    if ((media || path.startsWith("/api/")) && !options.origins.allows(request)) {
      relay.metrics.rejected.inc("origin_not_allowed");
      log.info("origin_refused", {
        path: path.slice(0, 200),
        origin: request.headers.get("origin"),
      });
      return errorResponse(
        403,
        "origin_not_allowed",
        "Pages from this origin may not use this server (set PUBLIC_URL or ALLOWED_ORIGINS)",
      );
    }
    if (media) return lobby(request, url, options.clientAddress(request, info));
    const api = options.api?.(request, url, info);
    if (api !== undefined) {
      return api.then((response) => {
        // Refused for its size, its type or its rate: counted like refused connections.
        if (response.status === 413 || response.status === 415 || response.status === 429) {
          relay.metrics.rejected.inc(`http_${response.status}`);
        }
        return response;
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      if (
        ["/healthz", "/readyz", "/version", "/metrics", "/api/v1/webtransport", "/api/v1/servers"]
          .includes(path)
      ) {
        return errorResponse(
          405,
          "method_not_allowed",
          `${request.method} is not allowed on ${path}`,
        );
      }
    }
    switch (path) {
      case "/healthz":
        return new Response("ok\n");
      case "/readyz":
        return readiness();
      case "/version":
        return Response.json({
          name: "videocall.ts",
          version,
          instance: relay.instanceId,
          bus: relay.bus.kind,
          deno: Deno.version.deno,
        });
      case "/metrics":
        return new Response(relay.metrics.registry.render(), {
          headers: { "content-type": "text/plain; version=0.0.4" },
        });
      case "/api/v1/servers":
        // The server pool: every live instance, its public URL, load and transports.
        return Response.json({ servers: relay.pool() }, {
          headers: { "cache-control": "no-store" },
        });
      case "/api/v1/webtransport":
        return Response.json(options.webTransport(url.hostname), {
          headers: { "cache-control": "no-store" },
        });
      default:
        if (options.pages !== undefined && !path.startsWith("/api/")) {
          return options.pages(request).then((response) =>
            withSecurityHeaders(
              response,
              url.hostname,
              options.https === true,
              poolOrigins(),
            )
          );
        }
        return errorResponse(404, "not_found", `Nothing at ${path}`);
    }
  };

  // The other instances' URLs a page of ours may time before it joins (lib/client/pool.ts), when
  // this instance is in the pool itself (it has a PUBLIC_URL).
  function poolOrigins(): string[] {
    const pool = relay.pool();
    if (!pool.some((e) => e.self && e.url !== "")) return [];
    return pool.filter((e) => !e.self && e.accepting && e.url !== "").map((e) => e.url);
  }

  // A refusal that another instance could take: the answer lists where to go (`alternatives`,
  // the public URLs of the accepting instances, least loaded first).
  async function elsewhere(refusal: Response): Promise<Response> {
    const alternatives = relay.pool()
      .filter((e) => !e.self && e.accepting && e.url !== "")
      .map((e) => e.url);
    if (alternatives.length === 0) return refusal;
    const body = await refusal.json();
    body.result.alternatives = alternatives;
    body.result.message += `; try ${alternatives[0]}`;
    return Response.json(body, { status: refusal.status });
  }

  async function readiness(): Promise<Response> {
    const no = (reason: string) =>
      new Response(`${reason}\n`, { status: 503, headers: { "cache-control": "no-store" } });
    if (!relay.accepting) return no(relay.draining ? "draining" : "shutting down");
    if (!relay.bus.isConnected()) return no("bus disconnected");
    const reason = await options.notReady?.();
    if (reason !== undefined) return no(reason);
    return new Response("ready\n", { headers: { "cache-control": "no-store" } });
  }

  async function lobby(request: Request, url: URL, address: string): Promise<Response> {
    const reject = (status: number, code: string, message: string) => {
      relay.metrics.rejected.inc(code);
      log.info("connection_rejected", { path: url.pathname.slice(0, 200), code });
      return errorResponse(status, code, message);
    };
    if (request.method !== "GET") {
      return reject(405, "method_not_allowed", "Use GET with a WebSocket upgrade");
    }
    const parsed = parseLobbyUrl(url);
    if (!parsed.ok) return reject(400, parsed.code, parsed.message);
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return reject(426, "upgrade_required", "This endpoint speaks WebSocket only");
    }
    if (!relay.accepting) {
      return relay.draining
        ? elsewhere(
          reject(503, "draining", Refusal.DRAINING_NEWCOMER),
        )
        : elsewhere(reject(503, "shutting_down", Refusal.SHUTTING_DOWN));
    }
    const allowed = options.guard.open(address, performance.now());
    if (!allowed.ok) {
      const refused = reject(allowed.status, allowed.code, allowed.message);
      return allowed.code === "server_full" ? elsewhere(refused) : refused;
    }
    let upgraded = false;
    try {
      const admitted = await options.admit({ ...parsed.request, address });
      if (!admitted.ok) return reject(admitted.status, admitted.code, admitted.message);
      const identity = admittedIdentity(admitted, parsed.resumeSessionId);
      // A session resumed from another instance (it died, or the client moved) is looked up in
      // the cluster first, so it keeps its id here too.
      await relay.prepareResume(identity);
      const response = acceptWebSocket(
        request,
        relay,
        identity,
        log,
        () => options.guard.close(address),
      );
      upgraded = true;
      return response;
    } finally {
      if (!upgraded) options.guard.close(address);
    }
  }
}
