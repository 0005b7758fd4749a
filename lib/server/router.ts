/**
 * The HTTP entry point: one small dispatcher for the media endpoint and the operational ones.
 *
 * | method and path | answer |
 * |---|---|
 * | `GET /lobby/<user>/<room>` | WebSocket upgrade into the room (videocall-rs URL) |
 * | `GET /healthz` | 200 while the process serves |
 * | `GET /readyz` | 200 when the bus is connected and sessions are accepted, else 503 |
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
import type { Relay } from "../relay/relay.ts";
import { acceptWebSocket } from "../relay/websocket.ts";
import { type Admit, admittedIdentity, parseLobbyUrl } from "../relay/admission.ts";

/** What `GET /api/v1/webtransport` answers. */
export type WebTransportInfo =
  | { available: true; url: string; certificateHashes: string[] }
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
  api?: (request: Request, url: URL) => Promise<Response> | undefined;
  /** Everything else outside `/api/`: the web pages and their assets. */
  pages?: (request: Request) => Promise<Response>;
}

/** A JSON error response. */
export function errorResponse(status: number, code: string, message: string): Response {
  return Response.json({ success: false, result: { code, message } }, { status });
}

/** Makes the request handler for `Deno.serve`. */
export function createRouter(
  options: RouterOptions,
): (request: Request) => Response | Promise<Response> {
  const { relay, log, version } = options;
  return (request: Request): Response | Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/lobby" || path.startsWith("/lobby/")) return lobby(request, url);
    const api = options.api?.(request, url);
    if (api !== undefined) return api;
    if (request.method !== "GET" && request.method !== "HEAD") {
      if (["/healthz", "/readyz", "/version", "/metrics", "/api/v1/webtransport"].includes(path)) {
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
        if (!relay.accepting) return new Response("shutting down\n", { status: 503 });
        if (!relay.bus.isConnected()) return new Response("bus disconnected\n", { status: 503 });
        return new Response("ready\n");
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
      case "/api/v1/webtransport":
        return Response.json(options.webTransport(url.hostname), {
          headers: { "cache-control": "no-store" },
        });
      default:
        if (options.pages !== undefined && !path.startsWith("/api/")) {
          return options.pages(request);
        }
        return errorResponse(404, "not_found", `Nothing at ${path}`);
    }
  };

  async function lobby(request: Request, url: URL): Promise<Response> {
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
    if (!relay.accepting) return reject(503, "shutting_down", "The server is shutting down");
    const admitted = await options.admit(parsed.request);
    if (!admitted.ok) return reject(admitted.status, admitted.code, admitted.message);
    return acceptWebSocket(
      request,
      relay,
      admittedIdentity(admitted, parsed.resumeSessionId),
      log,
    );
  }
}
